"""Crypto-shredding end to end on real PostgreSQL and NATS JetStream (issue 13's Must show).

A whole Iceland lifecycle is stored, relayed to the stream and projected into every read model; the family's
names, national ID numbers, contact details and a case document go into the vault through the API, and the
notifier's directory resolves an address from it. Then:

* before the shred, a scan of every table (event store, vault, read models, read log, notifier tables) and of
  every stream message finds none of the family's identifiers: only references leave the vault;
* the child and the mother are shredded; afterwards no table, no stream message and no API response reveals
  them, the father's data (re-wrapped under the new KEK) still reads, the history replays, a rebuilt audit
  generation verifies (``prosperity audit verify``), and the scan itself demonstrably finds a planted identifier.
"""

from __future__ import annotations

import asyncio
import base64
import io
import warnings
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from domain.values import Actor, Jurisdiction, Role
from projections.audit.projection import AuditProjection
from projections.base import Projection
from projections.dashboard.projection import DashboardProjection
from projections.notifications.projection import NotificationsProjection
from services.api.app import create_app
from services.audit.cli import verify_command
from services.consumers.rebuild import rebuild
from services.consumers.replay import published_events
from services.consumers.store import ReadModelStore
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from services.notifier import DeliveryWorker, MappingDirectory, PostgresDirectory, Recipient
from services.relay.relay import Relay
from services.settings import StoreSettings
from services.vault import Keyring, ShredBasis, SubjectShredded
from services.vault.scan import Finding, scan_postgres, scan_stream, schemas_like
from services.walkthrough import iceland_lifecycle
from tests.integration.test_api_commands import SETTINGS, auth, reading
from tests.integration.test_relay import casework, caught_up, running, settings_for, wait_until

CHILD, MUM, DAD = "person:child-is-1", "person:parent-is-1", "person:parent-is-2"
COORD = Actor("person:coord-is-1", Role.COORDINATOR, "org:school-rvk-1")
LEAD = Actor("person:lead-rvk", Role.MUNICIPALITY_LEAD, "org:town-hall-rvk", "muni:reykjavik")
SUPERVISOR = Actor("person:gev-1", Role.SUPERVISOR, "org:gev", jurisdiction=Jurisdiction.ICELAND)
PEOPLE = {
    CHILD: {"name": "Þórdís Kolbrún Gylfadóttir", "national_id": "150908-2379"},
    MUM: {"name": "Ásgerður Hrafnkelsdóttir", "national_id": "030481-4419", "email": "asgerdur.h@example.is",
          "phone": "+354 611 4821", "postal_address": "Fjólugata 17, 101 Reykjavík"},
    DAD: {"name": "Bárður Gylfason", "national_id": "221079-3389", "email": "bardur.gylfa@example.is"},
}
DOCUMENT = "Upplýsingamiðlun: Þórdís Kolbrún þarf stuðning í stærðfræði"
SHREDDED = (CHILD, MUM)


def needles(*refs: str) -> list[str]:
    """The identifiers of ``refs`` as test data: every value, and each national ID without its hyphen."""
    found = [v for ref in refs for v in PEOPLE[ref].values()]
    found += [PEOPLE[ref]["national_id"].replace("-", "") for ref in refs]
    return found + ([DOCUMENT, "Þórdís Kolbrún"] if CHILD in refs else [])


def project_everything(target: PgTarget, app: Any) -> None:
    projections: list[Projection] = [DashboardProjection(), AuditProjection(), NotificationsProjection()]
    events = list(published_events(app))
    for projection in projections:
        store = ReadModelStore(target.dsn, projection, base_schema=target.schema, pool_size=1)
        try:
            store.apply_many_to(store.setup().schema, events)
        finally:
            store.close()


def everywhere(target: PgTarget, found: list[str]) -> list[Finding]:
    """Every table of the event store's schema and its read-model generations (``<schema>__…``)."""
    return scan_postgres(target.dsn, schemas_like(target.dsn, target.schema), found)


async def stream_findings(js_stream: JsTarget, found: list[str]) -> list[Finding]:
    client = await js_stream.connect("admin")
    try:
        return await scan_stream(client.jetstream(), js_stream.stream, found)
    finally:
        await client.close()


def api_answers(client: TestClient, case_id: str) -> list[Any]:
    """What the API shows about the case and its family, to everyone who may ask."""
    answers = [client.get(f"/v1/cases/{case_id}", headers=reading(COORD)),
               client.get(f"/v1/audit/cases/{case_id}/trail", headers=reading(SUPERVISOR)),
               client.get("/v1/audit/read-log", headers=reading(SUPERVISOR)),
               client.get(f"/v1/cases/{case_id}/documents/doc:share-form-1", headers=reading(COORD))]
    answers += [client.get(f"/v1/cases/{case_id}/people/{ref}", headers=reading(COORD)) for ref in PEOPLE]
    answers += [client.get(f"/v1/dashboards/{board}", headers={**reading(LEAD), "X-Purpose": "oversight"})
                for board in ("services-by-level", "plans-due", "transition-watch", "complaints", "timeliness")]
    return answers


async def test_after_shredding_nothing_stored_streamed_or_answered_reveals_the_subjects(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    keys = Keyring.generated()
    with casework(pg_schema) as app:
        case_id = str(await asyncio.to_thread(iceland_lifecycle, app))
        with TestClient(create_app(app, SETTINGS, vault_keys=keys)) as client, \
                ConnectionPool(pg_schema.dsn, min_size=1, max_size=2, kwargs={"autocommit": False}) as pool:
            for ref, data in PEOPLE.items():
                assert client.put(f"/v1/cases/{case_id}/people/{ref}", json=data, headers=auth(COORD)).status_code \
                    == 204
            document = {"media_type": "text/plain", "content_base64": base64.b64encode(DOCUMENT.encode()).decode()}
            assert client.put(f"/v1/cases/{case_id}/documents/doc:share-form-1", json=document,
                              headers=auth(COORD)).status_code == 204
            vault = client.app.state.services.vault  # type: ignore[attr-defined]
            DeliveryWorker(pg_schema.dsn, directory=MappingDirectory(), channels={},
                           base_schema=pg_schema.schema).setup()
            directory = PostgresDirectory(pool, pg_schema.schema, vault.vault)
            directory.put(Recipient(MUM, "email", PEOPLE[MUM]["email"]))
            directory.put(Recipient(DAD, "email", PEOPLE[DAD]["email"]))
            project_everything(pg_schema, app)
            relay = Relay(app, pg_schema.eventsourcing_env(), settings_for(js_stream))
            try:
                async with running(relay):
                    await wait_until(caught_up(relay), what="the lifecycle on the stream")
            finally:
                relay.close()
            everyone = needles(*PEOPLE)

            # Before: the vault answers, and nothing outside it (nor its own ciphertext) holds an identifier.
            assert directory.lookup(MUM) == Recipient(MUM, "email", PEOPLE[MUM]["email"])
            before = api_answers(client, case_id)
            assert PEOPLE[MUM]["name"] in before[4 + 1].text and DOCUMENT in base64.b64decode(
                before[3].json()["content_base64"]).decode()
            assert everywhere(pg_schema, everyone) == []
            assert await stream_findings(js_stream, everyone) == []
            shown = "\n".join(a.text for a in before[:3] + before[7:])
            assert [n for n in everyone if n.lower() in shown.lower()] == []

            # The shred: the controller destroys the child's and the mother's keys.
            receipts = [vault.shred(LEAD, case_id, ref, ShredBasis.ERASURE_GRANTED) for ref in SHREDDED]
            assert all(r.kek_rotated_to for r in receipts) and receipts[0].documents_destroyed == 1

            after = api_answers(client, case_id)
            assert [a.status_code for a in after[3:7]] == [404, 410, 410, 200]
            assert after[6].json()["name"] == PEOPLE[DAD]["name"]  # re-wrapped twice, still there
            gone = needles(*SHREDDED)
            assert [n for n in gone if any(n.lower() in a.text.lower() for a in after)] == []
            assert everywhere(pg_schema, gone) == []
            assert await stream_findings(js_stream, gone) == []
            assert directory.lookup(MUM) is None
            try:
                vault.vault.fields(MUM)
                raise AssertionError("a shredded subject's fields opened")
            except SubjectShredded:
                pass

            # The history replays, a rebuilt audit generation verifies against it.
            assert after[0].status_code == 200 and after[0].json()["child_ref"] == CHILD
            audit = ReadModelStore(pg_schema.dsn, AuditProjection(), base_schema=pg_schema.schema, pool_size=1)
            try:
                report = rebuild(audit, app)
            finally:
                audit.close()
            assert report.events_applied > 10
            settings = StoreSettings(pg_dsn=pg_schema.dsn, pg_schema=pg_schema.schema)
            assert verify_command(settings, out=io.StringIO(), err=io.StringIO()) == 0

    # The scans can fail: a planted identifier is found in a table and on the stream.
    with psycopg.connect(pg_schema.dsn) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (note text)").format(sql.Identifier(pg_schema.schema, "planted")))
        conn.execute(sql.SQL("INSERT INTO {} VALUES (%s)").format(sql.Identifier(pg_schema.schema, "planted")),
                     (f"note about {PEOPLE[MUM]['name'].upper()}",))
    assert everywhere(pg_schema, gone) == [Finding(f"{pg_schema.schema}.planted", PEOPLE[MUM]["name"])]
    nc = await js_stream.connect("relay")  # the only identity that may publish facts
    try:
        await nc.jetstream().publish(js_stream.subject("cases", "v1", "is", "planted"),
                                     f'{{"name": "{PEOPLE[CHILD]["name"]}"}}'.encode())
    finally:
        await nc.close()
    assert [f.needle for f in await stream_findings(js_stream, gone)] == [PEOPLE[CHILD]["name"], "Þórdís Kolbrún"]
