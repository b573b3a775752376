"""The fixtures hand out real, isolated servers: if these fail, no other integration test means anything."""

from __future__ import annotations

from uuid import UUID

import nats
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget

_SCHEMAS_SEEN: list[str] = []


def test_postgres_round_trip_in_own_schema(pg_schema: PgTarget) -> None:
    with pg_schema.connect() as conn:
        conn.execute("CREATE TABLE probe (id int PRIMARY KEY, note text NOT NULL)")
        conn.execute("INSERT INTO probe VALUES (1, 'hello')")
        row = conn.execute("SELECT note, current_schema() FROM probe WHERE id = 1").fetchone()
    assert row == ("hello", pg_schema.schema)


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_gets_a_new_schema_and_old_ones_are_dropped(pg_schema: PgTarget, run: int) -> None:
    with pg_schema.connect() as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (_SCHEMAS_SEEN,))
        still_there = [name for (name,) in rows]
    assert pg_schema.schema not in _SCHEMAS_SEEN
    assert still_there == []
    _SCHEMAS_SEEN.append(pg_schema.schema)


class _Probe(Aggregate):
    def __init__(self, note: str) -> None:
        self.note = note


def test_eventsourcing_writes_into_the_test_schema(pg_schema: PgTarget) -> None:
    app = Application[UUID](env=pg_schema.eventsourcing_env())
    try:
        probe = _Probe("hello")
        app.save(probe)
        assert app.repository.get(probe.id).note == "hello"
    finally:
        app.close()
    with pg_schema.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (pg_schema.schema, "application_events"),
        ).fetchone()
    assert row == (1,)


async def test_jetstream_publish_is_acked_by_the_test_stream(js_stream: JsTarget) -> None:
    relay = await js_stream.connect("relay")
    try:
        ack = await relay.jetstream().publish(js_stream.subject("cases", "v1", "is", "probe", "hello"), b"hello")
    finally:
        await relay.close()
    admin = await js_stream.connect("admin")
    try:
        info = await admin.jetstream().stream_info(js_stream.stream)
    finally:
        await admin.close()
    assert (ack.stream, ack.seq) == (js_stream.stream, 1)
    assert info.state.messages == 1


async def test_the_test_bus_refuses_a_connection_without_credentials(js_stream: JsTarget) -> None:
    """Every NATS test runs with authorization on: nothing anonymous gets in."""
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(js_stream.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)
