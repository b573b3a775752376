"""Read models forget, on real NATS JetStream and PostgreSQL with real consumer processes (docs/privacy.md): the
facts of an archived case and of a protected child go through the stream into the dashboard, audit and
notifications read models, and afterwards no row of the dashboard or the notifications, and no answer of the audit's
people indexes, names the archived family or the protected child."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from contracts import commands as c
from projections.audit import people, queries
from services.audit.verify import verify
from services.casework.application import Casework
from services.consumers.registry import load_projection
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from tests.integration.test_consumer_runtime import dump, publish, replica, stop, stored_messages, wait_applied
from tests.unit.rights_scenario import COORD, COORDINATOR, MUNI, SCHOOL, STAFF, at, rights_scenario

ARCHIVED_FAMILY = ("person:child-pd-1", "person:parent-pd-1", "person:parent-pd-2")
PROTECTED_CHILD, OPEN_PARENT = "person:child-pd-7", "person:parent-pd-7"


@pytest.fixture
def world(pg_schema: PgTarget) -> Iterator[tuple[Casework, UUID]]:
    app = Casework(env=pg_schema.eventsourcing_env())
    archived = rights_scenario(app)
    protected = app.register_contact(c.RegisterContact(
        child_ref=PROTECTED_CHILD, parent_refs=(OPEN_PARENT,), birth_date=date(2012, 5, 5), municipality_ref=MUNI,
        coordinator_ref=COORD, coordinator_org_ref=SCHOOL, life_stage="primary",
        conflict_of_interest_declared_none=True), at(COORDINATOR, 1)).case_id
    app.protect_identity(c.ProtectIdentity(case_id=protected, subject_ref=PROTECTED_CHILD), at(STAFF, 2))
    yield app, archived
    app.close()


def _text(tables: dict[str, list[tuple[Any, ...]]], leave_out: set[str]) -> str:
    return repr({name: rows for name, rows in tables.items() if name not in leave_out})


async def test_archived_and_protected_people_are_in_no_read_model(pg_schema: PgTarget, bus: JsTarget,
                                                                  world: tuple[Casework, UUID]) -> None:
    casework, archived = world
    messages = stored_messages(casework)
    await publish(bus, messages, copies=1, seed=3)
    base = f"{pg_schema.schema}__forget"
    processes = [replica(pg_schema, bus, base, f"{name}_forget", name) for name in ("dashboard", "audit",
                                                                                      "notifications")]
    try:
        for name in ("dashboard", "audit", "notifications"):
            wait_applied(pg_schema.dsn, f"{base}__{load_projection(name).name}_g1", len(messages), processes)
    finally:
        stop(processes)
    dashboard, notifications = dump(pg_schema.dsn, f"{base}__dashboard_g1"), dump(
        pg_schema.dsn, f"{base}__notifications_g1")
    everything = _text(dashboard, set()) + _text(notifications, set())
    for ref in (*ARCHIVED_FAMILY, PROTECTED_CHILD):
        assert ref not in everything, ref
    assert OPEN_PARENT in _text(notifications, set())  # the protected child's parent is not forgotten
    births = [row for row in dashboard["dash_case"] if any(str(v).startswith(("archived:", "protected:"))
                                                           for v in row)]
    assert len(births) == 2
    with psycopg.connect(pg_schema.dsn) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(f"{base}__audit_g1")))
        cur = conn.cursor()
        assert people.cases_of_family(cur, "person:parent-pd-1") == []
        assert len(people.cases_of_family(cur, PROTECTED_CHILD)) == 1  # the person's own sign-in still finds it
        seen = repr(people.parents_seen(cur)) + repr(people.actors_seen(cur))
        for ref in ARCHIVED_FAMILY:
            assert ref not in seen, ref
        assert OPEN_PARENT in seen
        trail = repr(cur.execute("SELECT * FROM audit_trail").fetchall())
        for ref in ARCHIVED_FAMILY:
            assert ref not in trail, ref  # the archived case's rows are redacted
        assert "person:redacted" in trail and OPEN_PARENT in trail
        report = verify(casework, cur)
        assert report.ok and report.events_checked == len(messages), report
        archived_trail = queries.case_trail(cur, archived)
        assert all(row.redacted_at is not None for row in archived_trail) and len(archived_trail) == 11
        assert queries.chain_break(archived_trail) is None
