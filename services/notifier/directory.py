"""Where a pseudonymous reference is reached: an e-mail address or a webhook URL, and a preferred language.

Addresses are personal data, so they never travel in events (domain.md §8.3.1). The address itself lives in the
personal-data vault (:mod:`services.vault`), sealed under the recipient's own key, and is resolved at send
time; the ``notification_recipients`` table of the base schema keeps only which channel and which language
(not in a read-model generation: a rebuild must not lose them). A table written before the vault existed has
its plain addresses moved into the vault by :meth:`PostgresDirectory.move_addresses_to_vault`. A reference
with no entry, or whose key was shredded, is not guessed at: its notices are set ``undeliverable`` for a person
to follow up (and a mandatory one is worth an alert).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from psycopg import sql
from psycopg_pool import ConnectionPool

from services.vault import PersonalField, SubjectShredded, Vault

SETUP_LOCK = "SELECT pg_advisory_xact_lock(hashtext('notifier_setup'))"
"""Serialises the notifier's DDL (its workers and the demo's recipient list start together)."""
RECIPIENTS_DDL = """
CREATE TABLE IF NOT EXISTS notification_recipients (
    ref text PRIMARY KEY,
    channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
    address text,
    language text CHECK (language IN ('is', 'nb', 'en')),
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE notification_recipients ALTER COLUMN address DROP NOT NULL
"""
"""``address`` is NULL for every entry written since the vault: kept only so an older table migrates in place."""


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


_VAULT_FIELD = {"email": PersonalField.EMAIL, "webhook": PersonalField.WEBHOOK}


class PostgresDirectory:
    """The ``notification_recipients`` table in ``schema`` (created by ``DeliveryWorker.setup``): channel and
    language; the address itself in ``vault``."""

    def __init__(self, pool: ConnectionPool, schema: str, vault: Vault) -> None:
        self.pool, self.schema, self.vault = pool, schema, vault

    def _table(self) -> sql.Composed:
        return sql.SQL("{}.notification_recipients").format(sql.Identifier(self.schema))

    def put(self, recipient: Recipient) -> None:
        self.vault.put_fields(recipient.ref, {_VAULT_FIELD[recipient.channel]: recipient.address})
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL("INSERT INTO {} (ref, channel, address, language) VALUES (%s, %s, NULL, %s)"
                                 " ON CONFLICT (ref) DO UPDATE SET channel = excluded.channel,"
                                 " address = NULL, language = excluded.language, updated_at = now()")
                         .format(self._table()), (recipient.ref, recipient.channel, recipient.language))

    def lookup(self, ref: str) -> Recipient | None:
        """The recipient with the address resolved from the vault now (None if unknown or shredded)."""
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(sql.SQL("SELECT ref, channel, address, language FROM {} WHERE ref = %s")
                               .format(self._table()), (ref,)).fetchone()
        if row is None:
            return None
        try:
            address = row[2] or self.vault.field(ref, _VAULT_FIELD[row[1]])
        except SubjectShredded:
            return None
        return None if address is None else Recipient(row[0], row[1], address, row[3])

    def move_addresses_to_vault(self) -> int:
        """Seal every plain address a pre-vault table still holds into the vault, and blank it; the count."""
        with self.pool.connection() as conn, conn.transaction():
            rows = conn.execute(sql.SQL("SELECT ref, channel, address, language FROM {} WHERE address IS NOT NULL"
                                        " FOR UPDATE").format(self._table())).fetchall()
            for ref, channel, address, _ in rows:
                self.vault.put_fields(ref, {_VAULT_FIELD[channel]: address})
            conn.execute(sql.SQL("UPDATE {} SET address = NULL WHERE address IS NOT NULL").format(self._table()))
        return len(rows)
