"""Where a pseudonymous reference is reached: an e-mail address or a webhook URL, and a preferred language.

Addresses are personal data, so they never travel in events (domain.md §8.3.1); they live here, in
configuration or in the ``notification_recipients`` table of the base schema (not in a read-model
generation: a rebuild must not lose them). A reference with no entry is not guessed at: its notices are set
``undeliverable`` for a person to follow up (and a mandatory one is worth an alert).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from psycopg import sql
from psycopg_pool import ConnectionPool

RECIPIENTS_DDL = """
CREATE TABLE IF NOT EXISTS notification_recipients (
    ref text PRIMARY KEY,
    channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
    address text NOT NULL,
    language text CHECK (language IN ('is', 'nb', 'en')),
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Recipient:
    ref: str
    """``person:…`` (a parent, a case manager) or ``muni:…`` (a municipality's allocation queue)."""
    channel: Literal["email", "webhook"]
    address: str
    language: str | None = None
    """``is``/``nb``/``en``; none means the case's jurisdiction decides."""


class Directory(Protocol):
    def lookup(self, ref: str) -> Recipient | None: ...


class MappingDirectory:
    """A directory from configuration (and for tests)."""

    def __init__(self, entries: Mapping[str, Recipient] | None = None) -> None:
        self.entries = dict(entries or {})

    def add(self, recipient: Recipient) -> None:
        self.entries[recipient.ref] = recipient

    def lookup(self, ref: str) -> Recipient | None:
        return self.entries.get(ref)


class PostgresDirectory:
    """The ``notification_recipients`` table in ``schema`` (created by ``DeliveryWorker.setup``)."""

    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self.pool, self.schema = pool, schema

    def _table(self) -> sql.Composed:
        return sql.SQL("{}.notification_recipients").format(sql.Identifier(self.schema))

    def put(self, recipient: Recipient) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL("INSERT INTO {} (ref, channel, address, language) VALUES (%s, %s, %s, %s)"
                                 " ON CONFLICT (ref) DO UPDATE SET channel = excluded.channel,"
                                 " address = excluded.address, language = excluded.language, updated_at = now()")
                         .format(self._table()),
                         (recipient.ref, recipient.channel, recipient.address, recipient.language))

    def lookup(self, ref: str) -> Recipient | None:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(sql.SQL("SELECT ref, channel, address, language FROM {} WHERE ref = %s")
                               .format(self._table()), (ref,)).fetchone()
        if row is None:
            return None
        return Recipient(row[0], row[1], row[2], row[3])
