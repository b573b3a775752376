"""Scans for personal identifiers outside the vault: every table of the event store and the read models, and
every message of a JetStream stream (issue 13's "no stored byte reveals them").

A needle is searched for as text (case-insensitively), as JSON would escape it (``\\u00f0``), and as the
hexadecimal PostgreSQL prints ``bytea`` in (the event store keeps each event's state as JSON bytes), so a name
hidden in a binary column is found too. The vault's own tables are ciphertext by construction; they are
scanned like every other table unless the caller leaves them out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


@dataclass(frozen=True)
class Finding:
    where: str
    """``schema.table`` or ``stream <name> seq <n>``."""
    needle: str


def forms(needle: str) -> tuple[str, ...]:
    """The lower-case forms a needle may take in a row's text: itself, JSON-escaped, bytea hex."""
    lowered = needle.lower()
    escaped = json.dumps(needle)[1:-1].lower()
    return tuple(dict.fromkeys((lowered, escaped, needle.encode().hex(), lowered.encode().hex())))


def _found(text: str, needles: Sequence[str]) -> list[str]:
    lowered = text.lower()
    return [n for n in needles if any(form in lowered for form in forms(n))]


def schemas_like(dsn: str, prefix: str) -> list[str]:
    """The schemas whose name starts with ``prefix`` (the event store's and its read-model generations')."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY nspname",
                            (prefix.replace("_", r"\_") + "%",)).fetchall()
    return [r[0] for r in rows if r[0] not in SYSTEM_SCHEMAS]


def scan_postgres(dsn: str, schemas: Iterable[str], needles: Sequence[str], *,
                  skip_tables: Iterable[str] = ()) -> list[Finding]:
    """Every row of every table in ``schemas`` (as PostgreSQL's text of the whole row) against ``needles``."""
    skip, findings = set(skip_tables), []
    with psycopg.connect(dsn) as conn:
        for schema in schemas:
            tables = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
                                  " AND table_type = 'BASE TABLE'", (schema,)).fetchall()
            for (table,) in tables:
                if table in skip:
                    continue
                query = sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(schema, table))
                with conn.cursor() as cur:
                    cur.execute(query)
                    hits: set[str] = set()
                    for (row,) in cur:
                        hits.update(_found(row, needles))
                findings += [Finding(f"{schema}.{table}", n) for n in sorted(hits)]
    return findings


async def scan_stream(js: Any, stream: str, needles: Sequence[str]) -> list[Finding]:
    """Every message the stream holds (subject, headers and data) against ``needles``."""
    info = await js.stream_info(stream)
    findings = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await js.get_msg(stream, seq)
        except Exception:
            continue
        text = f"{msg.subject}\n{msg.headers or {}}\n{(msg.data or b'').decode('utf-8', 'replace')}"
        findings += [Finding(f"stream {stream} seq {seq}", n) for n in _found(text, needles)]
    return findings
