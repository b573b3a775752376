"""The consumer runtime on real NATS JetStream and PostgreSQL, with real replica processes.

Read models must not depend on how many replicas run, on duplicates, on delivery order, or on a replica
dying mid-batch: each ends identical to a from-scratch rebuild from the event store.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from contracts.deadletters import DeadLetterV1
from contracts.mapping import PUBLISHED_TOPICS, MunicipalityTracker, PublishedEvent
from services.casework.application import Casework
from services.consumers import deadletters
from services.consumers.registry import load_projection
from services.consumers.replay import published_events
from services.consumers.store import ReadModelStore
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from services.settings import StoreSettings
from services.walkthrough import iceland_lifecycle, norway_lifecycle
from tests.integration.consumer_support import DUPLICATE_WINDOW_SECONDS

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


async def publish(bus: JsTarget, messages: list[PublishedEvent], *, copies: int, seed: int) -> None:
    """Publish every message ``copies`` times, each round in a shuffled order, with the relay's headers; the test
    streams' duplicate window is short (``DUPLICATE_WINDOW_SECONDS``), so the copies stay, as after a republish
    outside the window. As the relay, the only identity allowed to publish facts."""
    rng = random.Random(seed)
    client = await bus.connect("relay")
    try:
        js = client.jetstream()
        for copy in range(copies):
            if copy:
                await asyncio.sleep(DUPLICATE_WINDOW_SECONDS * 3)
            round_ = list(messages)
            rng.shuffle(round_)
            acks = [await js.publish_async(bus.subject(m.subject), m.payload, headers=m.headers,
                                           stream=bus.stream) for m in round_]
            assert all(not ack.duplicate for ack in await asyncio.gather(*acks))
    finally:
        await client.close()


def replica(pg_schema: PgTarget, bus: JsTarget, base: str, consumer: str, projection: str = PROJECTION,
            **settings: str) -> subprocess.Popen[bytes]:
    env = {**settings, **os.environ, **bus.consumer_env(consumer), "PROSPERITY_PG_DSN": pg_schema.dsn,
           "PROSPERITY_PG_SCHEMA": base, "PROSPERITY_ACK_WAIT_SECONDS": "2", "PROSPERITY_LOG_FORMAT": "json"}
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
HISTORY = {"consumer_quarantine"}
"""The quarantine's history (resolved rows stay): bookkeeping of one build, not read-model content."""


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
        for table in sorted(set(names) - HISTORY):
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
        pg_schema: PgTarget, bus: JsTarget, casework: Casework, projection: str) -> None:
    messages = stored_messages(casework)
    await publish(bus, messages, copies=2, seed=7)
    one, three = f"{pg_schema.schema}__one", f"{pg_schema.schema}__three"
    name = load_projection(projection).name
    processes = [replica(pg_schema, bus, one, f"{name}_one", projection)]
    processes += [replica(pg_schema, bus, three, f"{name}_three", projection) for _ in range(3)]
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
        pg_schema: PgTarget, bus: JsTarget, casework: Casework, projection: str) -> None:
    messages = stored_messages(casework)
    await publish(bus, messages, copies=2, seed=11)
    base, name = f"{pg_schema.schema}__killed", load_projection(projection).name
    processes = [replica(pg_schema, bus, base, f"{name}_killed", projection) for _ in range(2)]
    try:
        wait_applied(pg_schema.dsn, f"{base}__{name}_g1", len(messages) // 4, processes)
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(10)
        processes = [processes[1], replica(pg_schema, bus, base, f"{name}_killed", projection)]
        wait_applied(pg_schema.dsn, f"{base}__{name}_g1", len(messages), processes)
    finally:
        stop(processes)
    assert dump(pg_schema.dsn, f"{base}__{name}_g1") == rebuilt_dump(pg_schema, casework, projection,
                                                                      f"{pg_schema.schema}__rebuild")


async def dead_letters(js: Any, bus: JsTarget, expected: int, timeout: float = 30.0) -> list[DeadLetterV1]:
    """The dead letters in the bus's dead-letter stream, once ``expected`` have arrived (or the timeout passed)."""
    subscription = await js.pull_subscribe(bus.subject("deadletter.>"), stream=bus.deadletter_stream)
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(found) < expected and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):  # nats-py raises asyncio's (the builtin) or its own subclass
            for message in await subscription.fetch(10, timeout=1):
                await message.ack()
                found.append(message)
    return [DeadLetterV1.model_validate_json(m.data) for m in found]


async def test_a_poisoned_fact_is_quarantined_its_case_waits_and_a_retry_after_the_fix_catches_it_up(
        pg_schema: PgTarget, bus: JsTarget, casework: Casework) -> None:
    messages = stored_messages(casework)
    await publish(bus, messages, copies=1, seed=3)
    forged = messages[3]  # a real fact's payload under another Nats-Msg-Id: a forgery, or a pre-emption
    relay = await bus.connect("relay")  # defence in depth: even the one identity that may publish facts
    try:
        relay_js = relay.jetstream()
        await relay_js.publish(bus.subject("cases.v1.is.reykjavik.support_team_concluded"), b'{"event_type": 42}',
                               stream=bus.stream)
        await relay_js.publish(bus.subject(forged.subject), forged.payload,
                               headers={**forged.headers, "Nats-Msg-Id": "Casework:999999"}, stream=bus.stream)
    finally:
        await relay.close()
    client = await bus.connect("admin")
    try:
        js = client.jetstream()
        base = f"{pg_schema.schema}__poisoned"
        process = replica(pg_schema, bus, base, "poisoned", "tests.integration.consumer_support:PoisonedTally",
                          PROSPERITY_POISON_AFTER="2", PROSPERITY_RETRY_DELAY_SECONDS="0.1")
        # Every case without a level_raised is complete; each Icelandic case stops before its first one.
        first_level_raised = {m.contract.case_id: m.contract.case_version for m in reversed(messages)
                              if m.contract.event_type == "level_raised"}
        expected = [m for m in messages if m.contract.case_version < first_level_raised.get(m.contract.case_id, 10**9)]
        try:
            rows = await asyncio.to_thread(wait_for, pg_schema.dsn, base, len(expected), [process], 60.0, "poisoned")
            letters = await dead_letters(js, bus, len(first_level_raised) + 2)
            time.sleep(1.0)  # nothing further must be applied: later versions of the quarantined cases wait
            rows_after = tally_rows(pg_schema.dsn, base, "poisoned")
        finally:
            stop([process])
        in_cases = await stream_subjects(js, bus)
    finally:
        await client.close()
    assert {(row[0], row[1]) for row in rows} == {(m.contract.case_id, m.contract.case_version) for m in expected}
    assert rows_after == rows
    assert sorted(letter.kind for letter in letters) == sorted(
        ["malformed", "mismatch", *["quarantined"] * len(first_level_raised)])
    assert {(letter.case_id, letter.case_version) for letter in letters if letter.kind == "quarantined"} == set(
        first_level_raised.items())
    assert all(letter.error and letter.consumer == "poisoned" for letter in letters)
    assert not any("deadletter" in subject for subject in in_cases)  # the facts' stream carries no dead letter

    settings = StoreSettings(pg_dsn=pg_schema.dsn, pg_schema=base)
    listing = io.StringIO()
    assert deadletters.list_quarantined(settings, ["tests.integration.consumer_support:PoisonedTally"],
                                        out=listing) == 0
    for case_id, version in first_level_raised.items():
        assert f"QUARANTINED case {case_id} at version {version}" in listing.getvalue()
    assert "RuntimeError: this projection cannot handle level_raised" in listing.getvalue()
    # Retrying with the projection still broken changes nothing; with the fixed one every case catches up.
    assert deadletters.retry(settings, ["tests.integration.consumer_support:PoisonedTally"], None,
                             out=io.StringIO()) == 1
    assert tally_rows(pg_schema.dsn, base, "poisoned") == rows
    assert deadletters.retry(settings, ["tests.integration.consumer_support:FixedTally"], None,
                             out=io.StringIO()) == 0
    fixed = tally_rows(pg_schema.dsn, base, "poisoned")
    assert len(fixed) == len(messages) and all(row[4] == row[1] - 1 for row in fixed)
    assert dump(pg_schema.dsn, f"{base}__poisoned_g1") == rebuilt_dump(
        pg_schema, casework, "tests.integration.consumer_support:FixedTally", f"{pg_schema.schema}__rebuild")


async def stream_subjects(js: Any, bus: JsTarget) -> list[str]:
    """Every subject stored in the facts' stream."""
    info = await js.stream_info(bus.stream)
    subscription = await js.subscribe(bus.subject(">"), stream=bus.stream, ordered_consumer=True)
    subjects = []
    try:
        for _ in range(info.state.messages):
            subjects.append((await subscription.next_msg(timeout=5)).subject)
    finally:
        await subscription.unsubscribe()
    return subjects
