"""The export log (domain.md §8.3 item 6, Primero's permissioned exports): every export, with its recipient.

An export (a subject access export, a status report, a CSV of dashboard rows) carries personal data out of the
system, so each one is a row here: who produced it (subject, role, organisation), what kind and format, about which
case and data subject, for whom (``recipient_ref``), under which access rule, and the SHA-256 of the exact bytes
handed over (so a disputed export can be matched later). Rows are only ever inserted (triggers refuse UPDATE,
DELETE and TRUNCATE, as for the read log); supervisors read them (ACCESS-PRIV-9).

Hook for any exporter (a status report, a CSV): after the access model granted the export and the bytes are made,
call :func:`record_export` with the log the bootstrap built (``Services.exports`` in the API) *before* returning
the bytes: an export that cannot be logged is not handed over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain import privacy
from domain.values import Actor

TABLE = "export_log"
COLUMNS = ("id", "exported_at", "subject", "role", "org_ref", "municipality_ref", "kind", "export_format",
           "case_id", "data_subject_ref", "recipient_ref", "rule_id", "content_sha256", "jurisdiction",
           "correlation_id")


@dataclass(frozen=True)
class ExportRecord:
    actor: Actor
    kind: str
    """A code: ``subject_access``, ``status_report``, ``dashboard_csv`` …"""
    export_format: str
    """A code: ``json``, ``html``, ``csv``, ``pdf``."""
    recipient_ref: str
    """Who receives it (``person:…`` or ``org:…``): the caller, unless the export is produced for someone."""
    rule_id: str
    """The access rule that granted it (``ACCESS-PRIV-7``)."""
    content_sha256: str
    case_id: UUID | None = None
    data_subject_ref: str | None = None
    jurisdiction: str | None = None
    correlation_id: str | None = None


class ExportLog(Protocol):
    def create_table(self) -> None: ...

    def record(self, records: Sequence[ExportRecord]) -> None: ...

    def entries(self, *, case_id: UUID | None = None, jurisdiction: str | None = None,
                limit: int = 1000) -> list[dict[str, Any]]: ...


def content_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def record_export(log: ExportLog, actor: Actor, *, kind: str, export_format: str, recipient_ref: str, rule_id: str,
                  content: bytes, case_id: UUID | None = None, data_subject_ref: str | None = None,
                  jurisdiction: str | None = None, correlation_id: str | None = None) -> ExportRecord:
    """Log one export (after the access model granted it, before it is handed over); returns the row recorded.
    ``kind``, ``export_format`` and ``recipient_ref`` are PRIV-1 values: the log names no one in clear."""
    privacy.check_code("kind", kind)
    privacy.check_code("export_format", export_format)
    kind_of_ref = recipient_ref.split(":", 1)[0]
    privacy.check_ref("recipient_ref", recipient_ref, kind_of_ref if kind_of_ref in privacy.REF_KINDS else "person")
    record = ExportRecord(actor, kind, export_format, recipient_ref, rule_id, content_digest(content), case_id,
                          data_subject_ref, jurisdiction, correlation_id)
    log.record([record])
    return record


def _row(record: ExportRecord) -> tuple[Any, ...]:
    actor = record.actor
    return (actor.person_ref, actor.role.value, actor.org_ref, actor.municipality_ref, record.kind,
            record.export_format, record.case_id, record.data_subject_ref, record.recipient_ref, record.rule_id,
            record.content_sha256, record.jurisdiction, record.correlation_id)


class MemoryExportLog:
    """The export log in memory (unit tests of the application on in-memory stores)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def create_table(self) -> None:
        return None

    def record(self, records: Sequence[ExportRecord]) -> None:
        for record in records:
            self.rows.append(dict(zip(COLUMNS, (len(self.rows) + 1, datetime.now(UTC), *_row(record)), strict=True)))

    def entries(self, *, case_id: UUID | None = None, jurisdiction: str | None = None,
                limit: int = 1000) -> list[dict[str, Any]]:
        return [row for row in self.rows if (case_id is None or row["case_id"] == case_id)
                and (jurisdiction is None or row["jurisdiction"] in (jurisdiction, None))][:limit]


class PostgresExportLog:
    """``export_log`` beside the event store and the read log (same database and schema), append-only."""

    def __init__(self, pool: ConnectionPool[psycopg.Connection[Any]], schema: str | None) -> None:
        self.pool = pool
        self.table = sql.Identifier(schema, TABLE) if schema else sql.Identifier(TABLE)
        self.guard = sql.Identifier(schema, f"{TABLE}_append_only") if schema else sql.Identifier(
            f"{TABLE}_append_only")

    def create_table(self) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('export_log_ddl'))")
            conn.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, exported_at timestamptz NOT NULL DEFAULT"
                " now(), subject text NOT NULL, role text NOT NULL, org_ref text, municipality_ref text,"
                " kind text NOT NULL, export_format text NOT NULL, case_id uuid, data_subject_ref text,"
                " recipient_ref text NOT NULL, rule_id text NOT NULL,"
                " content_sha256 text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{{64}}$'), jurisdiction text,"
                " correlation_id text)").format(self.table))
            conn.execute(sql.SQL(
                "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'export_log is append-only'; END $$").format(self.guard))
            conn.execute(sql.SQL("CREATE OR REPLACE TRIGGER export_log_no_change BEFORE UPDATE OR DELETE ON {}"
                                 " FOR EACH ROW EXECUTE FUNCTION {}()").format(self.table, self.guard))
            conn.execute(sql.SQL("CREATE OR REPLACE TRIGGER export_log_no_truncate BEFORE TRUNCATE ON {}"
                                 " FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(self.table, self.guard))

    def record(self, records: Sequence[ExportRecord]) -> None:
        if not records:
            return
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.executemany(sql.SQL(
                "INSERT INTO {} (" + ", ".join(COLUMNS[2:]) + ") VALUES (" + ", ".join(["%s"] * 13) + ")").format(
                    self.table), [_row(r) for r in records])

    def entries(self, *, case_id: UUID | None = None, jurisdiction: str | None = None,
                limit: int = 1000) -> list[dict[str, Any]]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql.SQL(
                "SELECT " + ", ".join(COLUMNS) + " FROM {} WHERE (%(case)s::uuid IS NULL OR case_id = %(case)s)"
                " AND (%(jurisdiction)s::text IS NULL OR jurisdiction = %(jurisdiction)s OR jurisdiction IS NULL)"
                " ORDER BY id LIMIT %(limit)s").format(self.table),
                {"case": case_id, "jurisdiction": jurisdiction, "limit": limit})
            return cur.fetchall()
