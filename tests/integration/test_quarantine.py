"""A poison fact written straight into the event store while other cases are under load (real PostgreSQL, NATS,
relay and consumer processes): the other cases keep flowing, the poisoned case is quarantined in the read model that
cannot apply it (its later versions parked, nothing redelivered in a loop), the dead letter is in its own stream,
``prosperity deadletters retry`` after the fix makes the case catch up, and every read model then equals a rebuild.

The defect is real code: ``FragileDashboard`` is the dashboard with v1's ``astimezone`` (``OverflowError`` on a
fact dated 0001-01-01), the fact v1's API let through. The fix is today's dashboard. Timing (the other cases' p99
latency with and without the poison) is measured in ``bench/poison_latency.py``, not here.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from contracts import commands as c
from contracts.deadletters import DeadLetterV1
from contracts.mapping import PUBLISHED_TOPICS
from domain.case_iceland import IcelandCase
from domain.values import Actor, Context, Role, ViewsMethod
from services.casework.application import Casework, CommandMeta
from services.consumers import deadletters
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from services.settings import StoreSettings
from services.walkthrough import START, iceland_lifecycle, norway_lifecycle
from tests.integration.test_consumer_runtime import dead_letters, dump, rebuilt_dump, replica, stop, stream_subjects
from tests.integration.test_relay import relay_process_env, start_relay_process

LOAD_CASES = 8
READ_MODELS = {"dashboard": "tests.integration.consumer_support:FragileDashboard", "audit": "audit",
               "notifications": "notifications"}


def write_around_the_api(app: Casework, case_id: UUID, occurred_at: datetime) -> int:
    """Append a ``child_views_recorded`` fact to the case directly in the event store: no command, no rule (what a
    script, a restore or v1 could leave there). Returns its version."""
    version = app.get_case(case_id).version + 1
    fact_class: Any = vars(IcelandCase)["ChildViewsRecorded"]  # made by @event, so unknown to the type checker
    fact = fact_class(
        originator_id=case_id, originator_version=version, timestamp=fact_class.create_timestamp(),
        ctx=Context(Actor("person:script-1", Role.SYSTEM), occurred_at), method=ViewsMethod.CONVERSATION,
        summary_doc_ref="doc:views-x")
    app.recorder.insert_events([app.mapper.to_stored_event(fact)])
    return version


def store_versions(app: Casework) -> dict[UUID, int]:
    versions: dict[UUID, int] = {}
    for notification in app.recorder.select_notifications(start=None, limit=10**6, topics=PUBLISHED_TOPICS):
        versions[UUID(str(notification.originator_id))] = notification.originator_version
    return versions


def positions(dsn: str, schema: str) -> dict[UUID, tuple[int, int | None, int]]:
    """Each case's applied version, quarantined version and parked count in a read-model generation."""
    with psycopg.connect(dsn) as conn:
        try:
            rows = conn.execute(sql.SQL(
                "SELECT p.case_id, p.case_version, p.quarantined_version,"
                " (SELECT count(*) FROM {}.consumer_parked k WHERE k.case_id = p.case_id)"
                " FROM {}.consumer_positions p").format(sql.Identifier(schema), sql.Identifier(schema))).fetchall()
        except psycopg.errors.UndefinedTable:
            return {}
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def wait_until(condition: Any, processes: list[Any], timeout: float = 150.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
        time.sleep(0.3)
    raise AssertionError("the read models did not reach the expected positions in time")


async def test_a_poison_fact_quarantines_only_its_case_and_a_retry_after_the_fix_catches_it_up(
        pg_schema: PgTarget, bus: JsTarget, tmp_path: Path) -> None:
    app, writer = Casework(env=pg_schema.eventsourcing_env()), Casework(env=pg_schema.eventsourcing_env())
    relay = start_relay_process(relay_process_env(pg_schema, bus), tmp_path / "relay.log")
    consumers = [replica(pg_schema, bus, pg_schema.schema, name, spec, PROSPERITY_POISON_AFTER="2",
                         PROSPERITY_RETRY_DELAY_SECONDS="0.2") for name, spec in READ_MODELS.items()]
    halfway = threading.Event()

    def load() -> None:
        for n in range(LOAD_CASES):
            (iceland_lifecycle if n % 2 else norway_lifecycle)(writer, child=f"person:child-load-{n}")
            if n == LOAD_CASES // 3:
                halfway.set()

    loader = threading.Thread(target=load)
    try:
        loader.start()
        assert halfway.wait(120)
        poisoned = iceland_lifecycle(app, child="person:child-poisoned")
        poison = write_around_the_api(app, poisoned, datetime(1, 1, 1, tzinfo=UTC))
        # The coordinator records what GEV answered; the parent complains again (supervisors never write).
        coordinator = CommandMeta(Actor("person:coord-is-1", Role.COORDINATOR, "org:school-rvk-1"),
                                  START + timedelta(days=970))
        parent = CommandMeta(Actor("person:parent-is-1", Role.PARENT), START + timedelta(days=970))
        app.record_complaint_outcome(c.RecordComplaintOutcome(case_id=poisoned, complaint_id="gev-1",
                                                              outcome_summary_ref="doc:gev-report-1"), coordinator)
        app.record_complaint(c.RecordComplaint(case_id=poisoned, complaint_id="gev-2", complainant_ref=
                                               "person:parent-is-1", complainant_capacity="user",
                                               subject="other"), parent)
        loader.join(180)
        expected = store_versions(app)
        others = {case: version for case, version in expected.items() if case != poisoned}

        def settled() -> bool:
            dashboard = positions(pg_schema.dsn, f"{pg_schema.schema}__dashboard_g1")
            total = [positions(pg_schema.dsn, f"{pg_schema.schema}__{name}_g1") for name in ("audit", "notifications")]
            return (all(dashboard.get(case, (0,))[0] == version for case, version in others.items())
                    and dashboard.get(poisoned) == (poison - 1, poison, 2)
                    and all(all(read.get(case, (0,))[0] == v for case, v in expected.items()) for read in total))

        await asyncio.to_thread(wait_until, settled, [relay, *consumers])
        client = await bus.connect("admin")
        try:
            letters = await dead_letters(client.jetstream(), bus, 1, timeout=10)
            subjects = await stream_subjects(client.jetstream(), bus)
        finally:
            await client.close()
    finally:
        stop([relay, *consumers])
        writer.close()

    assert [(letter.kind, letter.consumer, letter.case_id, letter.case_version) for letter in letters] == [
        ("quarantined", "dashboard", poisoned, poison)]
    assert "OverflowError" in letters[0].error
    assert "event_id" not in DeadLetterV1.model_fields  # a report about the fact, never a copy of it
    assert not any(".deadletter." in subject for subject in subjects)  # no second copy of any fact in CASES
    assert len(subjects) == sum(expected.values())

    settings = StoreSettings(pg_dsn=pg_schema.dsn, pg_schema=pg_schema.schema)
    listing = io.StringIO()
    deadletters.list_quarantined(settings, ["dashboard"], out=listing)
    assert f"QUARANTINED case {poisoned} at version {poison}" in listing.getvalue()
    assert "2 later version(s) parked" in listing.getvalue()
    assert deadletters.retry(settings, ["dashboard"], None, out=io.StringIO()) == 0  # today's dashboard: the fix
    assert positions(pg_schema.dsn, f"{pg_schema.schema}__dashboard_g1")[poisoned] == (expected[poisoned], None, 0)
    for name in READ_MODELS:
        assert dump(pg_schema.dsn, f"{pg_schema.schema}__{name}_g1") == rebuilt_dump(
            pg_schema, app, name, f"{pg_schema.schema}__rebuilt_{name}"), name
    app.close()
