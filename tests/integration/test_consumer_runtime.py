"""The consumer runtime on real NATS JetStream and PostgreSQL, with real replica processes.

Read models must not depend on how many replicas run, on duplicates, on delivery order, or on a replica
dying mid-batch: each ends identical to a from-scratch rebuild from the event store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import psycopg
import pytest
from psycopg import sql

from contracts.mapping import PUBLISHED_TOPICS, MunicipalityTracker, PublishedEvent
from services.casework.application import Casework
from services.consumers.registry import load_projection
from services.consumers.replay import published_events
from services.consumers.store import ReadModelStore
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from services.walkthrough import iceland_lifecycle, norway_lifecycle

ROOT = Path(__file__).resolve().parents[2]
PROJECTION = "tests.integration.consumer_support:EventTally"


@pytest.fixture
def casework(pg_schema: PgTarget) -> Iterator[Casework]:
    app = Casework(env=pg_schema.eventsourcing_env())
    for n in range(3):
        iceland_lifecycle(app, child=f"person:child-is-{n}")
        norway_lifecycle(app, child=f"person:child-no-{n}")
    yield app
    app.close()


def stored_messages(app: Casework) -> list[PublishedEvent]:
    tracker = MunicipalityTracker()
    return [tracker.to_published(app.mapper.to_domain_event(n), n.id, app.name)
            for n in app.recorder.select_notifications(start=None, limit=10_000, topics=PUBLISHED_TOPICS)]


async def publish(js_stream: JsTarget, messages: list[PublishedEvent], *, copies: int, seed: int) -> None:
    """Publish every message ``copies`` times under distinct Nats-Msg-Ids (so JetStream keeps the duplicates,
    as after a republish outside its duplicate window), in a shuffled order: as the relay (the only identity
    allowed to publish facts) would after such a republish."""
    deliveries = [(m, f"{m.headers['Nats-Msg-Id']}#{copy}") for m in messages for copy in range(copies)]
    random.Random(seed).shuffle(deliveries)
    client = await js_stream.connect("relay")
    try:
        js = client.jetstream()
        acks = [await js.publish_async(js_stream.subject(m.subject), m.payload,
                                       headers={**m.headers, "Nats-Msg-Id": msg_id}, stream=js_stream.stream)
                for m, msg_id in deliveries]
        await asyncio.gather(*acks)
    finally:
        await client.close()


def replica(pg_schema: PgTarget, js_stream: JsTarget, base: str, consumer: str, projection: str = PROJECTION,
            **settings: str) -> subprocess.Popen[bytes]:
    env = {**settings, **os.environ, **js_stream.consumer_env(consumer), "PROSPERITY_PG_DSN": pg_schema.dsn,
           "PROSPERITY_PG_SCHEMA": base, "PROSPERITY_LOG_FORMAT": "json"}
    return subprocess.Popen([sys.executable, "-m", "services.cli", "consume", projection], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def tally_rows(dsn: str, base: str, name: str = "tally") -> list[tuple[Any, ...]]:
    schema = sql.Identifier(f"{base}__{name}_g1")
    with psycopg.connect(dsn) as conn:
        try:
            return conn.execute(sql.SQL("SELECT case_id, case_version, event_type, notification_id, previous_version"
                                        " FROM {}.tally ORDER BY notification_id").format(schema)).fetchall()
        except psycopg.errors.UndefinedTable:
            return []


def wait_for(dsn: str, base: str, expected: int, processes: list[subprocess.Popen[bytes]],
             timeout: float = 90.0, name: str = "tally") -> list[tuple[Any, ...]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = tally_rows(dsn, base, name)
        if len(rows) >= expected:
            return rows
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"replica exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.2)
    raise AssertionError(f"only {len(tally_rows(dsn, base, name))} of {expected} events applied within {timeout}s")


VOLATILE = {"applied_at", "created_at", "next_attempt_at"}
"""Columns set by the database clock when a row is written, so they differ between two builds."""


def applied_count(dsn: str, schema: str) -> int:
    with psycopg.connect(dsn) as conn:
        try:
            row = conn.execute(sql.SQL("SELECT coalesce(sum(case_version), 0) FROM {}.consumer_positions")
                               .format(sql.Identifier(schema))).fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row else 0


def dump(dsn: str, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of a read-model generation, sorted, without the volatile columns."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(dsn) as conn:
        names = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                                            (schema,)).fetchall()]
        for table in sorted(names):
            columns = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
                " ORDER BY ordinal_position", (schema, table)).fetchall() if r[0] not in VOLATILE]
            query = sql.SQL("SELECT {} FROM {}.{}").format(sql.SQL(", ").join(map(sql.Identifier, columns)),
                                                           sql.Identifier(schema), sql.Identifier(table))
            tables[table] = sorted(conn.execute(query).fetchall(), key=repr)
    return tables


def wait_applied(dsn: str, schema: str, expected: int, processes: list[subprocess.Popen[bytes]],
                 timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if applied_count(dsn, schema) >= expected:
            return
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"replica exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.2)
    raise AssertionError(f"only {applied_count(dsn, schema)} of {expected} events applied within {timeout}s")


def rebuilt_dump(pg_schema: PgTarget, app: Casework, projection: str, base: str) -> dict[str, list[tuple[Any, ...]]]:
    store = ReadModelStore(pg_schema.dsn, load_projection(projection), base_schema=base)
    try:
        generation = store.setup()
        for event in published_events(app):
            store.apply(event)
    finally:
        store.close()
    return dump(pg_schema.dsn, generation.schema)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


READ_MODELS = ["dashboard", "audit", "notifications"]


@pytest.mark.parametrize("projection", READ_MODELS)
async def test_one_and_three_replicas_build_identical_read_models_despite_duplicates_and_shuffling(
        pg_schema: PgTarget, js_stream: JsTarget, casework: Casework, projection: str) -> None:
    messages = stored_messages(casework)
    await publish(js_stream, messages, copies=2, seed=7)
    one, three = f"{pg_schema.schema}__one", f"{pg_schema.schema}__three"
    name = load_projection(projection).name
    processes = [replica(pg_schema, js_stream, one, f"{name}_one", projection)]
    processes += [replica(pg_schema, js_stream, three, f"{name}_three", projection) for _ in range(3)]
    try:
        wait_applied(pg_schema.dsn, f"{one}__{name}_g1", len(messages), processes)
        wait_applied(pg_schema.dsn, f"{three}__{name}_g1", len(messages), processes)
    finally:
        stop(processes)
    built_by_one = dump(pg_schema.dsn, f"{one}__{name}_g1")
    assert built_by_one == dump(pg_schema.dsn, f"{three}__{name}_g1")
    assert built_by_one == rebuilt_dump(pg_schema, casework, projection, f"{pg_schema.schema}__rebuild")
    assert sum(len(rows) for table, rows in built_by_one.items() if table != "consumer_positions") > 0


@pytest.mark.parametrize("projection", READ_MODELS)
async def test_a_replica_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
        pg_schema: PgTarget, js_stream: JsTarget, casework: Casework, projection: str) -> None:
    messages = stored_messages(casework)
    await publish(js_stream, messages, copies=2, seed=11)
    base, name = f"{pg_schema.schema}__killed", load_projection(projection).name
    processes = [replica(pg_schema, js_stream, base, f"{name}_killed", projection) for _ in range(2)]
    try:
        wait_applied(pg_schema.dsn, f"{base}__{name}_g1", len(messages) // 4, processes)
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(10)
        processes = [processes[1], replica(pg_schema, js_stream, base, f"{name}_killed", projection)]
        wait_applied(pg_schema.dsn, f"{base}__{name}_g1", len(messages), processes)
    finally:
        stop(processes)
    assert dump(pg_schema.dsn, f"{base}__{name}_g1") == rebuilt_dump(pg_schema, casework, projection,
                                                                      f"{pg_schema.schema}__rebuild")


async def test_poison_and_malformed_messages_are_dead_lettered_and_the_rest_goes_on(
        pg_schema: PgTarget, js_stream: JsTarget, casework: Casework) -> None:
    messages = stored_messages(casework)
    await publish(js_stream, messages, copies=1, seed=3)
    relay = await js_stream.connect("relay")
    try:
        await relay.jetstream().publish(js_stream.subject("cases.v1.is.reykjavik.support_team_concluded"),
                                        b'{"event_type": 42}', stream=js_stream.stream)
    finally:
        await relay.close()
    client = await js_stream.connect("admin")
    try:
        js = client.jetstream()
        base = f"{pg_schema.schema}__poisoned"
        process = replica(pg_schema, js_stream, base, "poisoned", "tests.integration.consumer_support:PoisonedTally",
                          PROSPERITY_POISON_AFTER="2", PROSPERITY_RETRY_DELAY_SECONDS="0.1")
        # Every case without a level_raised is complete; each Icelandic case stops before its first one.
        first_level_raised = {m.contract.case_id: m.contract.case_version for m in reversed(messages)
                              if m.contract.event_type == "level_raised"}
        expected = [m for m in messages if m.contract.case_version < first_level_raised.get(m.contract.case_id, 10**9)]
        try:
            rows = await asyncio.to_thread(wait_for, pg_schema.dsn, base, len(expected), [process], 60.0, "poisoned")
            dead: list[Any] = []
            subscription = await js.pull_subscribe(js_stream.subject("deadletter.>"),
                                                   stream=js_stream.deadletter_stream)
            deadline = time.monotonic() + 30
            while len(dead) < len(first_level_raised) + 1 and time.monotonic() < deadline:
                with contextlib.suppress(nats.errors.TimeoutError):
                    dead += await subscription.fetch(10, timeout=1)
            time.sleep(1.0)  # nothing further must be applied: later versions of the poisoned cases wait
            rows_after = tally_rows(pg_schema.dsn, base, "poisoned")
            facts_stored = (await js.stream_info(js_stream.stream)).state.messages
        finally:
            stop([process])
    finally:
        await client.close()
    assert {(row[0], row[1]) for row in rows} == {(m.contract.case_id, m.contract.case_version) for m in expected}
    assert rows_after == rows
    subjects = sorted(m.subject.removeprefix(js_stream.subject_prefix + ".") for m in dead)
    poisoned = ["deadletter.poisoned.level_raised"] * len(first_level_raised)
    assert subjects == sorted(["deadletter.poisoned.unknown", *poisoned])
    assert all("Prosperity-Error" in (m.headers or {}) for m in dead)
    assert facts_stored == len(messages) + 1, "dead letters are kept apart, never as second copies among the facts"
