"""The read-access log (domain.md §8.3 item 4): every read of personal data, granted or refused.

One row per attempt: who (subject, role, organisation, municipality), what (resource and case), why (the
purpose the caller states), and the outcome with its reason (the access rule that granted or refused it, or
``not_found``). Refused attempts are logged too: a parent of case A asking for case B leaves a trace, and so
does a probe for a case id that does not exist. Rows are only ever inserted (PostgreSQL triggers refuse
UPDATE, DELETE and TRUNCATE); supervisors read them, filtered by case, outcome and their own jurisdiction
(an attempt on a case id that does not exist belongs to no jurisdiction and is shown to every supervisor).

The log lives in the application layer (not in the HTTP API) so every entry point that reads case data through
``services.casework.reads`` writes the same rows. ``MemoryReadLog`` is the same port in memory, for the
application's unit tests on SQLite or in-memory stores.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.access.purposes import Purpose as Purpose  # re-exported: the log's callers name it from here
from domain.values import Actor

TABLE = "api_read_log"


class Outcome(enum.StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"


@dataclass(frozen=True)
class ReadAttempt:
    actor: Actor
    resource: str
    purpose: Purpose
    outcome: Outcome
    reason: str
    """The access rule (and the relationships it was granted by), or why it was refused."""
    case_id: UUID | None = None
    jurisdiction: str | None = None
    """The jurisdiction of the data read (the case's, or the caller's scope), so supervisors see their own."""
    correlation_id: str | None = None


COLUMNS = ("id", "read_at", "subject", "role", "org_ref", "municipality_ref", "case_id", "resource", "purpose",
           "outcome", "reason", "jurisdiction", "correlation_id")


class ReadLog(Protocol):
    def create_table(self) -> None: ...

    def record(self, attempts: Sequence[ReadAttempt]) -> None: ...

    def entries(self, *, case_id: UUID | None = None, outcome: Outcome | None = None,
                jurisdiction: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Rows in id order; with ``jurisdiction``, only those of that country. A row whose country is unknown (a
        probe of a case id that does not exist, a refused read of the log) could be the other country's: it is in
        a supervisor's answer only when they ask about that very case id (who tried an id they already know)."""
        ...


def _row(attempt: ReadAttempt) -> tuple[Any, ...]:
    actor = attempt.actor
    return (actor.person_ref, actor.role.value, actor.org_ref, actor.municipality_ref, attempt.case_id,
            attempt.resource, attempt.purpose.value, attempt.outcome.value, attempt.reason, attempt.jurisdiction,
            attempt.correlation_id)


class MemoryReadLog:
    """The read-access log in memory (unit tests of the application on in-memory or SQLite stores)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def create_table(self) -> None:
        return None

    def record(self, attempts: Sequence[ReadAttempt]) -> None:
        for attempt in attempts:
            values = (len(self.rows) + 1, datetime.now(UTC), *_row(attempt))
            self.rows.append(dict(zip(COLUMNS, values, strict=True)))

    def entries(self, *, case_id: UUID | None = None, outcome: Outcome | None = None,
                jurisdiction: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        return [row for row in self.rows
                if (case_id is None or row["case_id"] == case_id)
                and (outcome is None or row["outcome"] == outcome.value)
                and (jurisdiction is None or row["jurisdiction"] == jurisdiction
                     or (row["jurisdiction"] is None and case_id is not None))][:limit]


class PostgresReadLog:
    """``api_read_log`` beside the event store (same database and schema); v1's table is migrated in place."""

    def __init__(self, pool: ConnectionPool[psycopg.Connection[Any]], schema: str | None) -> None:
        self.pool = pool
        self.table = sql.Identifier(schema, TABLE) if schema else sql.Identifier(TABLE)
        self.guard = sql.Identifier(schema, f"{TABLE}_append_only") if schema else sql.Identifier(
            f"{TABLE}_append_only")

    def create_table(self) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('api_read_log_ddl'))")
            conn.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, read_at timestamptz NOT NULL DEFAULT now(),"
                " subject text NOT NULL, role text NOT NULL, org_ref text, case_id uuid,"
                " resource text NOT NULL, purpose text NOT NULL, correlation_id text)").format(self.table))
            for column in ("municipality_ref text", "outcome text NOT NULL DEFAULT 'granted'", "reason text",
                           "jurisdiction text"):
                conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS " + column).format(self.table))
            conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN case_id DROP NOT NULL").format(self.table))
            conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (case_id, id)").format(
                sql.Identifier(f"{TABLE}_by_case"), self.table))
            conn.execute(sql.SQL(
                "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'api_read_log is append-only'; END $$").format(self.guard))
            conn.execute(sql.SQL("CREATE OR REPLACE TRIGGER api_read_log_no_change BEFORE UPDATE OR DELETE ON {}"
                                 " FOR EACH ROW EXECUTE FUNCTION {}()").format(self.table, self.guard))
            conn.execute(sql.SQL("CREATE OR REPLACE TRIGGER api_read_log_no_truncate BEFORE TRUNCATE ON {}"
                                 " FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(self.table, self.guard))

    def record(self, attempts: Sequence[ReadAttempt]) -> None:
        if not attempts:
            return
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.executemany(sql.SQL(
                "INSERT INTO {} (subject, role, org_ref, municipality_ref, case_id, resource, purpose, outcome, reason,"
                " jurisdiction, correlation_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)").format(
                    self.table), [_row(a) for a in attempts])

    def entries(self, *, case_id: UUID | None = None, outcome: Outcome | None = None,
                jurisdiction: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql.SQL(
                "SELECT " + ", ".join(COLUMNS) + " FROM {} WHERE (%(case)s::uuid IS NULL OR case_id = %(case)s)"
                " AND (%(outcome)s::text IS NULL OR outcome = %(outcome)s)"
                " AND (%(jurisdiction)s::text IS NULL OR jurisdiction = %(jurisdiction)s"
                "      OR (jurisdiction IS NULL AND %(case)s::uuid IS NOT NULL))"
                " ORDER BY id LIMIT %(limit)s").format(self.table),
                {"case": case_id, "outcome": None if outcome is None else outcome.value,
                 "jurisdiction": jurisdiction, "limit": limit})
            return cur.fetchall()
