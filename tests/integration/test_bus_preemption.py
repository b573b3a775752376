"""The attack that stalled v1's audit trail for good, tried again: publish a forged fact with the relay's *next*
``Nats-Msg-Id`` (``Casework:<max id + 1>``), so that JetStream drops the real fact as a duplicate.

Under the generated configuration only the relay may publish facts, so every other identity's attempt is
refused by the server, the stream holds no forged fact, the real fact is stored (not a duplicate), and it
reaches all three read models, run as real processes under their own restricted identities; ``prosperity
audit verify`` then agrees with the event store."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import psycopg
import pytest
from psycopg import sql

from contracts.mapping import PUBLISHED_TOPICS
from services.audit.cli import verify_command
from services.bus.registry import Agency, AgencyRegistry
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from services.relay.relay import Relay
from services.settings import StoreSettings
from services.walkthrough import iceland_lifecycle, norway_lifecycle
from tests.conftest import BusFactory
from tests.integration.bus_support import client
from tests.integration.test_relay import casework, caught_up, running, settings_for, stream_messages, wait_until

ROOT = Path(__file__).resolve().parents[2]
READ_MODELS = ("dashboard", "audit", "notifications")
AGENCY = Agency(id="kopavogur-gev", jurisdiction="IS", municipalities=("muni:kopavogur",))
ATTACKERS = (AGENCY.durable, "dashboard", "audit", "notifications", "api")


@pytest.fixture
def bus(bus_factory: BusFactory) -> JsTarget:
    return bus_factory(registry=AgencyRegistry(agency=(AGENCY,)))


@pytest.fixture
def consumers(pg_schema: PgTarget, bus: JsTarget) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {**os.environ, "PROSPERITY_PG_DSN": pg_schema.dsn, "PROSPERITY_PG_SCHEMA": pg_schema.schema,
           "PROSPERITY_LOG_FORMAT": "json"}
    started = [subprocess.Popen([sys.executable, "-m", "services.cli", "consume", name], cwd=ROOT,
                                env=env | bus.env(name), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for name in READ_MODELS]
    yield started
    for process in started:
        process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def applied(pg: PgTarget, name: str) -> dict[str, int]:
    with psycopg.connect(pg.dsn) as conn:
        try:
            rows = conn.execute(sql.SQL("SELECT case_id::text, case_version FROM {}.consumer_positions")
                                .format(sql.Identifier(f"{pg.schema}__{name}_g1"))).fetchall()
        except psycopg.errors.UndefinedTable:
            return {}
    return dict(rows)


def wait_until_every_read_model_has(pg: PgTarget, expected: dict[str, int],
                                    processes: list[subprocess.Popen[bytes]], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(applied(pg, name) == expected for name in READ_MODELS):
            return
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"{process.args!r} exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.25)
    behind = [name for name in READ_MODELS if applied(pg, name) != expected]
    raise AssertionError(f"read models {behind} did not catch up within {timeout}s")


def forged_contact_registered(notification_id: int) -> bytes:
    """What the attacker published in v1: a plausible contact_registered for a case in Kópavogur."""
    return json.dumps({"event_id": f"00000000-0000-0000-0000-000000000001:{1}", "notification_id": notification_id,
                       "case_id": "00000000-0000-0000-0000-000000000001", "case_version": 1,
                       "event_type": "contact_registered", "schema_version": "v1", "jurisdiction": "IS",
                       "municipality_ref": "muni:kopavogur"}).encode()


async def test_a_pre_empted_nats_msg_id_is_refused_and_the_real_fact_reaches_every_read_model(
        pg_schema: PgTarget, bus: JsTarget, consumers: list[subprocess.Popen[bytes]]) -> None:
    with casework(pg_schema) as app:
        relay = Relay(app, pg_schema.eventsourcing_env(), settings_for(bus))
        try:
            async with running(relay):
                await asyncio.to_thread(iceland_lifecycle, app)
                await wait_until(caught_up(relay), what="the first case")
                next_id = (app.recorder.max_notification_id() or 0) + 1
                # The next case's first notification is its unpublished CaseKey, then its first fact: an attacker
                # does not know which id comes next, so every one of the next few is tried.
                forged_ids = range(next_id, next_id + 3)
                subject = bus.subject("cases.v1.is.kopavogur.contact_registered")
                for identity in ATTACKERS:
                    attacker = await client(bus, identity)
                    try:
                        js = attacker.js()
                        for forged_id in forged_ids:
                            with pytest.raises(nats.errors.TimeoutError):
                                await js.publish(subject, forged_contact_registered(forged_id),
                                                 headers={"Nats-Msg-Id": f"Casework:{forged_id}"})
                        assert "permissions violation" in await attacker.violation(subject)
                    finally:
                        await attacker.close()
                with pytest.raises(nats.errors.Error, match="Authorization Violation"):
                    await nats.connect(bus.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)

                await asyncio.to_thread(norway_lifecycle, app)       # its first fact gets one of forged_ids
                await wait_until(caught_up(relay), what="the second case")
            assert relay.duplicates == 0, "JetStream dropped a real fact as a duplicate"
            stored = app.recorder.select_notifications(start=None, limit=10_000, topics=PUBLISHED_TOPICS)
            first_real = min(n.id for n in stored if n.id >= next_id)
            assert first_real in forged_ids
            messages = await stream_messages(bus)
            assert [m.msg_id for m in messages] == [f"Casework:{n.id}" for n in stored]   # nothing forged
            real = next(m for m in messages if m.msg_id == f"Casework:{first_real}")
            assert real.body["notification_id"] == first_real and real.body["jurisdiction"] == "NO"
        finally:
            relay.close()

        expected = {str(case): version for case, version in {n.originator_id: n.originator_version
                                                             for n in stored}.items()}
        await asyncio.to_thread(wait_until_every_read_model_has, pg_schema, expected, consumers)
    out, err = io.StringIO(), io.StringIO()
    verdict = await asyncio.to_thread(verify_command, StoreSettings(pg_dsn=pg_schema.dsn, pg_schema=pg_schema.schema),
                                      out=out, err=err)
    assert verdict == 0, out.getvalue() + err.getvalue()
