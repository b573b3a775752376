"""Apply published events to a projection's tables with an exactly-once effect, in case-version order.

Why hand-written rather than eventsourcing's TrackingRecorder: that recorder keeps one position per
upstream application (the highest notification id applied), which presumes one consumer applying the
whole log in order. Our consumers are N replicas pulling from one durable JetStream consumer, so events
arrive in parallel and out of order. What must hold is per case: version n is applied only on top of n-1.
So the record of what was processed is one row per case (``consumer_positions``), updated in the same
transaction as the read-model rows; a duplicate finds its version already there. The row lock
(``FOR UPDATE``) serialises replicas working on the same case and nothing else.

A version that arrives before its predecessor, or while its case is quarantined, is **held**: acknowledged and
parked in ``consumer_parked`` (its contract as received), then applied in order as soon as its predecessor is
(the same case's next event, or an operator's retry, drains the case). Nothing is redelivered to wait for a gap,
so a case that cannot move holds back only itself. A fact the projection cannot apply is **quarantined**
(:mod:`services.consumers.quarantine`): the case stays degraded, its later versions are parked, every other case
goes on.

Generations: each projection lives in its own schema per generation (``<base>__<name>_g<n>``), listed in
``<base>.read_model_generations``. Live events go to the *serving* generation (and, when they fit, to a
generation being *built*); a rebuild replays into a new generation, then switches (see ``rebuild.py``); a rebuild
that fails marks its generation *failed*, and live events stop going there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog
from psycopg import sql
from psycopg_pool import ConnectionPool

from contracts.events import EventEnvelopeV1
from projections.base import Projection
from services.consumers import quarantine as q
from services.consumers import schema_ddl
from services.consumers.quarantine import Outcome
from services.infra.postgres_env import create_schema

__all__ = ["Applied", "Generation", "Outcome", "ReadModelStore"]

@dataclass(frozen=True)
class Applied:
    """What applying one event did in the serving generation, and every fact quarantined on the way (the event
    itself, or a parked successor that could not be applied after it)."""

    outcome: Outcome
    error: str | None = None
    quarantined: tuple[q.Quarantined, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Generation:
    number: int
    schema: str
    state: str


class ReadModelStore:
    """One projection's tables in PostgreSQL, and the only code that writes to them."""

    def __init__(self, dsn: str, projection: Projection, *, base_schema: str = "public",
                 pool_size: int = 4, generation_cache_seconds: float = 1.0,
                 pool: ConnectionPool[Any] | None = None) -> None:
        self.projection = projection
        self.base_schema = base_schema
        self.dsn = dsn
        self._owns_pool = pool is None
        """A process's one pool may be shared (the API's read models use the API's): then it is not ours to close."""
        self.pool = pool if pool is not None else ConnectionPool(dsn, min_size=1, max_size=pool_size, open=True,
                                                                 kwargs={"autocommit": False})
        self._cache_seconds = generation_cache_seconds
        self._cached: tuple[float, list[Generation]] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close()

    # ---- generations --------------------------------------------------------------------------------
    def schema_for(self, generation: int) -> str:
        return f"{self.base_schema}__{self.projection.name}_g{generation}"

    def _in_base(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(self.base_schema)))

    def setup(self) -> Generation:
        """Make sure a serving generation exists (generation 1 on first start), bring the tables of every live
        generation built by other code up to date (``schema_ddl``), and return the serving one."""
        with self.pool.connection() as conn, conn.transaction():
            # Replicas start together: one at a time reads and writes the registry of generations.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('read_model_registry'))")
            create_schema(conn, self.base_schema)
            self._in_base(conn)
            conn.execute(schema_ddl.REGISTRY_DDL.encode())
            row = conn.execute("SELECT generation, schema_name, state FROM read_model_generations "
                               "WHERE name = %s AND state = 'serving'", (self.projection.name,)).fetchone()
            if row is None:
                self._create_generation(conn, 1, "serving")
                row = (1, self.schema_for(1), "serving")
            live = conn.execute("SELECT generation, schema_name, ddl_digest FROM read_model_generations"
                                " WHERE name = %s AND state IN ('serving', 'building')",
                                (self.projection.name,)).fetchall()
            current = schema_ddl.digest(self.projection)
            for number, schema, digest in live:
                if digest != current:
                    schema_ddl.bring_up_to_date(conn, self.projection, schema)
                    self._in_base(conn)
                    conn.execute("UPDATE read_model_generations SET ddl_digest = %s WHERE name = %s"
                                 " AND generation = %s", (current, self.projection.name, number))
        self._cached = None
        return Generation(*row)

    def _create_generation(self, conn: psycopg.Connection[Any], number: int, state: str) -> Generation:
        schema = self.schema_for(number)
        create_schema(conn, schema)
        schema_ddl.create_tables(conn, self.projection, schema)
        self._in_base(conn)
        conn.execute("INSERT INTO read_model_generations (name, generation, version, schema_name, state, switched_at,"
                     " ddl_digest) VALUES (%s, %s, %s, %s, %s, CASE WHEN %s = 'serving' THEN now() END, %s)",
                     (self.projection.name, number, self.projection.version, schema, state, state,
                      schema_ddl.digest(self.projection)))
        return Generation(number, schema, state)

    def begin_generation(self) -> Generation:
        """A fresh, empty generation in state ``building`` (for a rebuild). A generation still ``building`` from an
        earlier rebuild is abandoned (``failed``): only one rebuild of a read model runs at a time (``rebuild.py``
        holds a lock for it), so such a generation belongs to a rebuild that died."""
        with self.pool.connection() as conn, conn.transaction():
            self._in_base(conn)
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('read_model_registry'))")
            row = conn.execute("SELECT coalesce(max(generation), 0) FROM read_model_generations WHERE name = %s",
                               (self.projection.name,)).fetchone()
            number = (row[0] if row else 0) + 1
            conn.execute("UPDATE read_model_generations SET state = 'failed', failure = %s "
                         "WHERE name = %s AND state = 'building'",
                         (f"abandoned: its rebuild ended without switching; superseded by generation {number}",
                          self.projection.name))
            generation = self._create_generation(conn, number, "building")
        self._cached = None
        return generation

    def fail_generation(self, generation: int, failure: str) -> None:
        """Mark a generation being built ``failed`` (with why): live events stop going to it; the serving one
        is untouched. Its schema stays for inspection."""
        with self.pool.connection() as conn, conn.transaction():
            self._in_base(conn)
            conn.execute("UPDATE read_model_generations SET state = 'failed', failure = %s "
                         "WHERE name = %s AND generation = %s AND state = 'building'",
                         (failure[:2000], self.projection.name, generation))
        self._cached = None

    def switch_to(self, generation: int) -> None:
        """Make ``generation`` the serving one, in one transaction; the old one is retired (kept, not dropped)."""
        with self.pool.connection() as conn, conn.transaction():
            self._in_base(conn)
            conn.execute("UPDATE read_model_generations SET state = 'retired' WHERE name = %s AND state = 'serving'",
                         (self.projection.name,))
            conn.execute("UPDATE read_model_generations SET state = 'serving', switched_at = now() "
                         "WHERE name = %s AND generation = %s", (self.projection.name, generation))
        self._cached = None

    def generations(self) -> list[Generation]:
        """Live generations (serving first, then any being built), cached briefly: every event asks."""
        now = time.monotonic()
        cached = self._cached
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        with self.pool.connection() as conn, conn.transaction():
            self._in_base(conn)
            rows = conn.execute("SELECT generation, schema_name, state FROM read_model_generations "
                                "WHERE name = %s AND state IN ('serving', 'building') ORDER BY state DESC, generation",
                                (self.projection.name,)).fetchall()
        generations = [Generation(*row) for row in rows]
        self._cached = (now, generations)
        return generations

    def serving(self) -> Generation:
        for generation in self.generations():
            if generation.state == "serving":
                return generation
        raise LookupError(f"No serving generation of {self.projection.name}; call setup() first.")

    # ---- applying events ----------------------------------------------------------------------------
    def apply(self, event: EventEnvelopeV1, *, quarantine: bool = True) -> Applied:
        """Apply ``event`` to the serving generation (exactly once, in case-version order) and, where it fits,
        to a generation being built. A fact the projection cannot apply is quarantined in the serving generation
        when ``quarantine`` (the runtime says so once a message has failed often enough), else it is left
        unapplied (:attr:`Outcome.FAILED`); in a generation being built it is always left for the rebuild's
        replay, which then fails and names it. Returns what happened in the serving generation."""
        result = Applied(Outcome.HELD)
        for generation in self.generations():
            serving = generation.state == "serving"
            applied = self.apply_to(generation.schema, event, quarantine=quarantine and serving,
                                    quarantine_parked=serving)
            if serving:
                result = applied
        return result

    def apply_to(self, schema: str, event: EventEnvelopeV1, *, quarantine: bool = True,
                 quarantine_parked: bool = True) -> Applied:
        """One event in its own transaction (what a live consumer does before it acknowledges), then the case's
        parked successors, each in its own transaction. A parked successor that fails is quarantined at once
        (``quarantine_parked``): it was acknowledged, so no redelivery will try it again."""
        try:
            with self._cursor(schema) as cur:
                gate = q.apply_in(cur, self.projection, event)
        except q.ProjectionFailed as failure:
            if not quarantine:
                return Applied(Outcome.FAILED, failure.reason)
            with self._cursor(schema) as cur:
                outcome, record = q.quarantine(cur, event, failure.reason)
            return Applied(outcome, failure.reason, (record,) if record else ())
        if gate.is_quarantined_fact:
            with self._cursor(schema) as cur:
                record = q.open_quarantine(cur, event)
            return Applied(gate.outcome, None, (record,) if record else ())
        if gate.successors_waiting:
            return Applied(gate.outcome, None, self.drain(schema, event.case_id, quarantine=quarantine_parked))
        return Applied(gate.outcome)

    def drain(self, schema: str, case_id: Any, *, quarantine: bool = True) -> tuple[q.Quarantined, ...]:
        """Apply the case's parked versions that now fit, in order, each in its own transaction; the first one
        that fails is quarantined (``quarantine``) or left parked, and the case waits there."""
        while True:
            try:
                with self._cursor(schema) as cur:
                    more = q.apply_next_parked(cur, self.projection, case_id)
            except q.ProjectionFailed as failure:
                if not quarantine:
                    return ()
                with self._cursor(schema) as cur:
                    _, record = q.quarantine(cur, failure.event, failure.reason, parked=True)
                return (record,) if record else ()
            if not more:
                return ()

    def quarantine_failed(self, event: EventEnvelopeV1, reason: str) -> Applied:
        """Quarantine ``event`` in the serving generation after a failure the runtime saw (a statement that keeps
        timing out while the database answers)."""
        with self._cursor(self.serving().schema) as cur:
            outcome, record = q.quarantine(cur, event, reason)
        return Applied(outcome, reason, (record,) if record else ())

    def reachable(self) -> bool:
        """The database answers a trivial query within two seconds."""
        try:
            with self.pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
        except Exception:
            return False
        return True

    def degraded_count(self) -> int:
        """Cases quarantined in the serving generation."""
        with self.reading() as cur:
            row = cur.execute("SELECT count(*) FROM consumer_quarantine WHERE resolved_at IS NULL").fetchone()
        return int(row[0]) if row else 0

    def apply_many_to(self, schema: str, events: Sequence[EventEnvelopeV1]) -> list[Outcome]:
        """Several events in one transaction (a rebuild's page): the same gating, one commit instead of many.
        A fact the projection cannot apply raises :class:`~services.consumers.quarantine.ProjectionFailed`
        naming it, and nothing of the page is kept."""
        try:
            return [outcome for outcome, _ in self._apply_fast(schema, events, durable=False)]
        except q.TRANSIENT:
            raise
        except Exception:  # name the fact that fails: the page again, one gate at a time, without the pipeline
            pass
        outcomes: list[Outcome] = []
        with self._cursor(schema) as cur:
            for event in events:
                gate = q.apply_in(cur, self.projection, event)
                waiting = gate.successors_waiting
                while waiting:
                    waiting = q.apply_next_parked(cur, self.projection, event.case_id)
                outcomes.append(gate.outcome)
        return outcomes

    def apply_batch(self, events: Sequence[EventEnvelopeV1], quarantine: Sequence[bool]) -> list[Applied]:
        """A fetched batch, in order, with the effect of applying each event by :meth:`apply` one after another,
        but in one transaction per live generation (one commit, one ``search_path``, the statements pipelined).

        The fast path covers what a healthy stream is made of (the next version of a case, or a duplicate);
        anything else in it (a gap, a quarantined case, parked successors) takes the per-fact gate inside the same
        transaction. If any fact fails there, the transaction is rolled back and the batch is applied one event at a
        time (:meth:`apply_to`, with each message's own ``quarantine``), so a poison fact is quarantined alone and
        nothing else of the batch is lost or applied twice. A database error (:data:`~services.consumers.quarantine
        .TRANSIENT`) propagates: nothing of that generation's transaction was kept, and the caller retries."""
        results = [Applied(Outcome.HELD)] * len(events)
        for generation in self.generations():
            serving = generation.state == "serving"
            try:
                outcomes = self._apply_fast(generation.schema, events)
            except q.TRANSIENT:
                raise
            except Exception as error:  # a fact failed (or its statements did): apply one by one, as apply() would
                structlog.get_logger().info("consumer.batch_fallback", schema=generation.schema,
                                            events=len(events), error=q.describe(error)[:200])
                applied = [self.apply_to(generation.schema, event, quarantine=flag and serving,
                                         quarantine_parked=serving) for event, flag in zip(events, quarantine,
                                                                                           strict=True)]
            else:
                applied = [Applied(outcome, None, records) for outcome, records in outcomes]
            if serving:
                results = applied
        return results

    def _apply_fast(self, schema: str, events: Sequence[EventEnvelopeV1], *, durable: bool = True
                    ) -> list[tuple[Outcome, tuple[q.Quarantined, ...]]]:
        """One transaction for the whole batch; raises on the first fact that fails (nothing is then kept).
        Not ``durable``: the commit does not wait for the WAL flush (a rebuild's page: lost in a crash, the
        rebuild is simply run again)."""
        outcomes: list[tuple[Outcome, tuple[q.Quarantined, ...]]] = []
        # The whole transaction in one pipeline, BEGIN and COMMIT included: its round trips are the locking read
        # (its answer decides the gating), whatever a projection reads, and the commit; nothing else waits.
        with self.pool.connection() as conn, conn.pipeline(), conn.transaction(), conn.cursor() as cur:
            cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            if not durable:
                cur.execute("SET LOCAL synchronous_commit = off")
            known = q.lock_cases(cur, sorted({event.case_id for event in events}))
            view = q.View(cur)
            for event in events:
                outcomes.append(q.apply_known(cur, self.projection, event, known, view))
            q.record_positions(cur, known)
        return outcomes

    @contextmanager
    def _cursor(self, schema: str) -> Iterator[psycopg.Cursor[Any]]:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            yield cur

    @contextmanager
    def reading(self, generation: Generation | None = None) -> Iterator[psycopg.Cursor[Any]]:
        """A read-only cursor on the serving generation's tables (for query functions)."""
        schema = (generation or self.serving()).schema
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SET TRANSACTION READ ONLY")
            cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            yield cur

    @contextmanager
    def writing(self, generation: Generation) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor in one transaction on a generation's tables (for the operator's quarantine commands)."""
        with self._cursor(generation.schema) as cur:
            yield cur
