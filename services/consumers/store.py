"""Apply published events to a projection's tables with an exactly-once effect, in case-version order.

Why hand-written rather than eventsourcing's TrackingRecorder: that recorder keeps one position per
upstream application (the highest notification id applied), which presumes one consumer applying the
whole log in order. Our consumers are N replicas pulling from one durable JetStream consumer, so events
arrive in parallel and out of order. What must hold is per case: version n is applied only on top of n-1.
So the record of what was processed is one row per case (``consumer_positions``), updated in the same
transaction as the read-model rows; a duplicate finds its version already there, a gap finds it missing.
The row lock (``FOR UPDATE``) serialises replicas working on the same case and nothing else.

Generations: each projection lives in its own schema per generation (``<base>__<name>_g<n>``), listed in
``<base>.read_model_generations``. Live events go to the *serving* generation (and, when they fit, to a
generation being *built*); a rebuild replays into a new generation, then switches (see ``rebuild.py``).
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from contracts.events import EventEnvelopeV1
from projections.base import Projection

REGISTRY_DDL = """
CREATE TABLE IF NOT EXISTS read_model_generations (
    name text NOT NULL,
    generation int NOT NULL,
    version int NOT NULL,
    schema_name text NOT NULL,
    state text NOT NULL CHECK (state IN ('building', 'serving', 'retired')),
    created_at timestamptz NOT NULL DEFAULT now(),
    switched_at timestamptz,
    PRIMARY KEY (name, generation)
);
CREATE UNIQUE INDEX IF NOT EXISTS read_model_one_serving ON read_model_generations (name) WHERE state = 'serving';
"""

POSITIONS_DDL = """
CREATE TABLE IF NOT EXISTS consumer_positions (
    case_id uuid PRIMARY KEY,
    case_version int NOT NULL,
    notification_id bigint NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    GAP = "gap"


@dataclass(frozen=True)
class Generation:
    number: int
    schema: str
    state: str


class _CursorView:
    """The projection's read-only view inside the current transaction."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def fetchone(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> tuple[Any, ...] | None:
        return self._cursor.execute(query.encode(), params).fetchone()

    def fetchall(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        return self._cursor.execute(query.encode(), params).fetchall()


class ReadModelStore:
    """One projection's tables in PostgreSQL, and the only code that writes to them."""

    def __init__(self, dsn: str, projection: Projection, *, base_schema: str = "public",
                 pool_size: int = 4, generation_cache_seconds: float = 1.0) -> None:
        self.projection = projection
        self.base_schema = base_schema
        self.pool = ConnectionPool(dsn, min_size=1, max_size=pool_size, open=True,
                                   kwargs={"autocommit": False})
        self._cache_seconds = generation_cache_seconds
        self._cached: tuple[float, list[Generation]] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self.pool.close()

    # ---- generations --------------------------------------------------------------------------------
    def schema_for(self, generation: int) -> str:
        return f"{self.base_schema}__{self.projection.name}_g{generation}"

    def setup(self) -> Generation:
        """Make sure a serving generation exists (generation 1 on first start) and return it."""
        with self.pool.connection() as conn, conn.transaction():
            # Replicas start together: serialise them before CREATE SCHEMA, which races even with IF NOT EXISTS.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('read_model_registry'))")
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.base_schema)))
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(self.base_schema)))
            for statement in filter(None, (s.strip() for s in REGISTRY_DDL.split(";"))):
                conn.execute(statement.encode())
            row = conn.execute("SELECT generation, schema_name, state FROM read_model_generations "
                               "WHERE name = %s AND state = 'serving'", (self.projection.name,)).fetchone()
            if row is None:
                self._create_generation(conn, 1, "serving")
                row = (1, self.schema_for(1), "serving")
        self._cached = None
        return Generation(*row)

    def _create_generation(self, conn: psycopg.Connection[Any], number: int, state: str) -> Generation:
        schema = self.schema_for(number)
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(POSITIONS_DDL.encode())
        for statement in self.projection.ddl:
            conn.execute(statement.encode())
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(self.base_schema)))
        conn.execute("INSERT INTO read_model_generations (name, generation, version, schema_name, state, switched_at)"
                     " VALUES (%s, %s, %s, %s, %s, CASE WHEN %s = 'serving' THEN now() END)",
                     (self.projection.name, number, self.projection.version, schema, state, state))
        return Generation(number, schema, state)

    def begin_generation(self) -> Generation:
        """A fresh, empty generation in state ``building`` (for a rebuild)."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(self.base_schema)))
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('read_model_registry'))")
            row = conn.execute("SELECT coalesce(max(generation), 0) FROM read_model_generations WHERE name = %s",
                               (self.projection.name,)).fetchone()
            generation = self._create_generation(conn, (row[0] if row else 0) + 1, "building")
        self._cached = None
        return generation

    def switch_to(self, generation: int) -> None:
        """Make ``generation`` the serving one, in one transaction; the old one is retired (kept, not dropped)."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(self.base_schema)))
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
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(self.base_schema)))
            rows = conn.execute("SELECT generation, schema_name, state FROM read_model_generations "
                                "WHERE name = %s AND state <> 'retired' ORDER BY state DESC, generation",
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
    def apply(self, event: EventEnvelopeV1) -> Outcome:
        """Apply ``event`` to the serving generation (exactly once, in case-version order) and, where it fits,
        to a generation being built. Returns what happened in the serving generation."""
        outcome = Outcome.GAP
        for generation in self.generations():
            result = self.apply_to(generation.schema, event)
            if generation.state == "serving":
                outcome = result
        return outcome

    def apply_to(self, schema: str, event: EventEnvelopeV1) -> Outcome:
        """One event in its own transaction: what a live consumer does before it acknowledges."""
        return self.apply_many_to(schema, [event])[0]

    def apply_many_to(self, schema: str, events: Sequence[EventEnvelopeV1]) -> list[Outcome]:
        """Several events in one transaction (a rebuild's page): the same gating, one commit instead of many."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            return [self._apply_in(cur, event) for event in events]

    def _apply_in(self, cur: psycopg.Cursor[Any], event: EventEnvelopeV1) -> Outcome:
        cur.execute("INSERT INTO consumer_positions (case_id, case_version, notification_id) "
                    "VALUES (%s, 0, 0) ON CONFLICT DO NOTHING", (event.case_id,))
        row = cur.execute("SELECT case_version FROM consumer_positions WHERE case_id = %s FOR UPDATE",
                          (event.case_id,)).fetchone()
        applied = row[0] if row else 0
        if event.case_version <= applied:
            return Outcome.DUPLICATE
        if event.case_version > applied + 1:
            return Outcome.GAP
        for statement in self.projection.apply(event, _CursorView(cur)):
            cur.execute(statement.sql.encode(), statement.params)
        cur.execute("UPDATE consumer_positions SET case_version = %s, notification_id = %s, applied_at = now() "
                    "WHERE case_id = %s", (event.case_version, event.notification_id, event.case_id))
        return Outcome.APPLIED

    @contextmanager
    def reading(self, generation: Generation | None = None) -> Iterator[psycopg.Cursor[Any]]:
        """A read-only cursor on the serving generation's tables (for query functions)."""
        schema = (generation or self.serving()).schema
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SET TRANSACTION READ ONLY")
            cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            yield cur
