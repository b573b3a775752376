"""A fetched batch applied in one transaction (``ReadModelStore.apply_batch``) has exactly the effect of applying its
events one after another (``apply``), on real PostgreSQL: duplicates, a gap (parked, then drained when its
predecessor comes later in the same batch), a poison fact (quarantined alone, its case's later versions parked) and
everything else applied once, whatever the batch mixes."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from contracts.events import EventEnvelopeV1
from services.casework.application import Casework
from services.consumers.registry import load_projection
from services.consumers.replay import published_events
from services.consumers.store import Outcome, ReadModelStore
from services.infra.postgres_env import PgTarget
from services.walkthrough import iceland_lifecycle, norway_lifecycle
from tests.integration.consumer_support import PoisonedTally
from tests.integration.test_consumer_runtime import dump


@pytest.fixture
def events(pg_schema: PgTarget) -> Iterator[list[EventEnvelopeV1]]:
    app = Casework(env=pg_schema.eventsourcing_env())
    try:
        for n in range(2):
            iceland_lifecycle(app, child=f"person:child-batch-is-{n}")
            norway_lifecycle(app, child=f"person:child-batch-no-{n}")
        yield list(published_events(app))
    finally:
        app.close()


def deliveries(events: list[EventEnvelopeV1], seed: int) -> list[EventEnvelopeV1]:
    """What JetStream may hand a replica: every event, some twice, some a little out of order."""
    rng = random.Random(seed)
    out = list(events) + rng.sample(events, len(events) // 4)
    for _ in range(len(out) // 5):  # swap neighbours: a later version before its predecessor
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return out


def content(dsn: str, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """The generation's tables without the clock's columns (``parked_at`` is the last of ``consumer_parked``)."""
    tables = dump(dsn, schema)
    tables["consumer_parked"] = [row[:-1] for row in tables["consumer_parked"]]
    return tables


def outcomes_of(results: list[Any]) -> list[tuple[Outcome, int]]:
    return [(r.outcome, len(r.quarantined)) for r in results]


@pytest.mark.parametrize("seed", [1, 2])
def test_batches_have_exactly_the_effect_of_one_event_at_a_time(pg_schema: PgTarget, events: list[EventEnvelopeV1],
                                                                 seed: int) -> None:
    delivered = deliveries(events, seed)
    one = ReadModelStore(pg_schema.dsn, PoisonedTally(), base_schema=f"{pg_schema.schema}__one")
    batched = ReadModelStore(pg_schema.dsn, PoisonedTally(), base_schema=f"{pg_schema.schema}__batched")
    try:
        one.setup()
        batched.setup()
        singly = [one.apply(event, quarantine=True) for event in delivered]
        together: list[Any] = []
        for start in range(0, len(delivered), 37):
            page = delivered[start:start + 37]
            together += batched.apply_batch(page, [True] * len(page))
        assert outcomes_of(together) == outcomes_of(singly)
        assert {o for o, _ in outcomes_of(together)} >= {Outcome.APPLIED, Outcome.DUPLICATE, Outcome.HELD}
        assert any(q for _, q in outcomes_of(together)), "a level_raised was quarantined"
        assert content(pg_schema.dsn, one.serving().schema) == content(pg_schema.dsn, batched.serving().schema)
    finally:
        one.close()
        batched.close()


def test_a_batch_without_trouble_is_applied_in_one_go(pg_schema: PgTarget, events: list[EventEnvelopeV1]) -> None:
    healthy = [e for e in events if e.event_type != "level_raised"]
    store = ReadModelStore(pg_schema.dsn, PoisonedTally(), base_schema=f"{pg_schema.schema}__fast")
    try:
        store.setup()
        first = store.apply_batch(healthy[:50], [False] * 50)
        again = store.apply_batch(healthy[:50], [False] * 50)
    finally:
        store.close()
    assert all(r.outcome in (Outcome.APPLIED, Outcome.HELD) for r in first)
    assert all(r.outcome is Outcome.DUPLICATE for r in again if r.outcome is not Outcome.HELD)


@pytest.mark.parametrize("name", ["dashboard", "audit", "notifications"])
def test_a_read_model_built_in_batches_equals_one_built_one_event_at_a_time(
        pg_schema: PgTarget, events: list[EventEnvelopeV1], name: str) -> None:
    """The real projections keep what they wrote a fact earlier in the batch's memory (``ReadView.remembered``)
    instead of reading it back: the tables must come out exactly as when each fact is applied in a transaction of
    its own (which remembers nothing), whatever the deliveries mix (duplicates, a version before its predecessor,
    which takes the per-fact gate and makes the batch forget the case), and whether the batch is a live consumer's
    or a rebuild's whole page."""
    delivered = deliveries(events, seed=3)
    stores = {way: ReadModelStore(pg_schema.dsn, load_projection(name), base_schema=f"{pg_schema.schema}__{way}")
              for way in ("one", "batched", "page")}
    try:
        for store in stores.values():
            store.setup()
        singly = [stores["one"].apply(event) for event in delivered]
        together: list[Any] = []
        for start in range(0, len(delivered), 37):
            page = delivered[start:start + 37]
            together += stores["batched"].apply_batch(page, [True] * len(page))
        stores["page"].apply_many_to(stores["page"].serving().schema, delivered)
        assert outcomes_of(together) == outcomes_of(singly)
        assert not any(q for _, q in outcomes_of(singly)), "nothing here is poison"
        built = {way: content(pg_schema.dsn, store.serving().schema) for way, store in stores.items()}
        assert built["batched"] == built["one"]
        assert built["page"] == built["one"]
        content_rows = sum(len(rows) for table, rows in built["one"].items() if not table.startswith("consumer_"))
        assert content_rows >= len({event.case_id for event in events})
    finally:
        for store in stores.values():
            store.close()


def test_a_version_parked_while_its_predecessor_waited_for_the_case_is_drained(
        pg_schema: PgTarget, events: list[EventEnvelopeV1]) -> None:
    """Replica B parks version 2 of a case (its version 1 not applied yet) while replica A waits for the case's
    row lock to apply version 1: once A holds the lock it must see what B parked and committed meanwhile, apply
    version 1 and drain version 2 (a parked check read with the locking statement's older snapshot missed it, and
    the case stopped at version 1 for ever)."""
    first, second = (e for e in events if e.case_id == events[-1].case_id and e.case_version in (1, 2))
    store = ReadModelStore(pg_schema.dsn, load_projection("dashboard"), base_schema=f"{pg_schema.schema}__race")
    try:
        schema = store.setup().schema
        with psycopg.connect(pg_schema.dsn) as holder:
            holder.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            holder.execute("INSERT INTO consumer_positions (case_id, case_version, notification_id) VALUES (%s, 0, 0)",
                           (first.case_id,))
            holder.commit()
            holder.execute("SELECT 1 FROM consumer_positions WHERE case_id = %s FOR UPDATE", (first.case_id,))
            results: dict[str, Any] = {}
            replica_b = threading.Thread(target=lambda: results.update(b=store.apply_batch([second], [True])))
            replica_b.start()
            wait_for_lock_waiters(pg_schema.dsn, 1)
            replica_a = threading.Thread(target=lambda: results.update(a=store.apply_batch([first], [True])))
            replica_a.start()
            wait_for_lock_waiters(pg_schema.dsn, 2)
            holder.commit()  # B is first in the queue: it parks version 2; then A applies version 1
            replica_b.join(30)
            replica_a.join(30)
        assert [r.outcome for r in results["b"]] == [Outcome.HELD]
        assert [r.outcome for r in results["a"]] == [Outcome.APPLIED]
        with store.reading() as cur:
            row = cur.execute("SELECT case_version FROM consumer_positions WHERE case_id = %s",
                              (first.case_id,)).fetchone()
            parked = cur.execute("SELECT count(*) FROM consumer_parked").fetchone()
        assert row == (2,) and parked == (0,)
    finally:
        store.close()


def wait_for_lock_waiters(dsn: str, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                               " AND datname = current_database()").fetchone()
            if row and row[0] >= count:
                return
            time.sleep(0.02)
    raise AssertionError(f"fewer than {count} sessions waited for a lock within {timeout}s")
