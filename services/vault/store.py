"""The vault's own tables: subjects' wrapped keys, their sealed fields and documents, and shred tombstones.

Only ciphertext and pseudonymous references are stored: a row's plaintext needs the subject's data key, which
needs the key-encryption key, which is never in the database. :class:`MemoryVaultStore` is the same port in
memory for unit tests; :class:`PostgresVaultStore` is the real one, in a schema of its own choosing (the
``vault`` schema by default, apart from the event store and the read models so it can be granted, backed up
and restored on its own terms).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from services.infra.postgres_env import create_schema


class RetiredKek(Exception):
    """A DEK wrapped under a KEK that a rotation retired: wrap it again under the active KEK."""


@dataclass(frozen=True)
class SubjectKey:
    subject_ref: str
    kek_id: str
    wrapped_dek: bytes


@dataclass(frozen=True)
class SealedDocument:
    doc_ref: str
    subject_ref: str
    case_id: UUID | None
    media_type: str
    sealed: bytes
    stored_at: datetime | None


class VaultStore(Protocol):
    def create_tables(self) -> None: ...

    def key(self, subject_ref: str) -> SubjectKey | None: ...

    def add_key(self, key: SubjectKey) -> SubjectKey | None:
        """Insert unless one exists; the stored key either way (two writers racing agree on one), or None if
        the subject was shredded (a shredded subject never gets a key again); :class:`RetiredKek` if the key is
        wrapped under a KEK a rotation has retired (the writer re-reads its keyring and wraps again)."""
        ...

    def retire_keks(self, kek_ids: Sequence[str]) -> None:
        """From now on no DEK is stored under these KEKs; returns once every write that wrapped under one has
        been stored (so a rotation's re-wrap pass after this sees them all)."""
        ...

    def keys_not_under(self, kek_id: str, limit: int) -> list[SubjectKey]: ...

    def rewrap(self, subject_ref: str, old_kek_id: str, key: SubjectKey) -> bool:
        """Replace the wrapped key if still under ``old_kek_id``; False if it changed meanwhile."""
        ...

    def is_shredded(self, subject_ref: str) -> bool: ...

    def put_field(self, subject_ref: str, name: str, sealed: bytes, scope: str = "") -> bool:
        """Store a sealed field in ``scope`` (a case's id, or "" for the recipient directory) while the subject's
        key exists (False if it was shredded meanwhile)."""
        ...

    def fields(self, subject_ref: str, scope: str = "") -> dict[str, bytes]: ...

    def scopes(self, subject_ref: str) -> list[str]:
        """The scopes the subject has fields in."""
        ...

    def put_document(self, document: SealedDocument) -> bool:
        """Like :meth:`put_field`, for a document."""
        ...

    def document(self, doc_ref: str) -> SealedDocument | None: ...

    def documents_of(self, subject_ref: str) -> list[SealedDocument]: ...

    def shred(self, subject_ref: str, basis: str, at: datetime) -> tuple[int, int]:
        """Delete the key, fields and documents and keep a tombstone, in one transaction: (fields, documents)."""
        ...


class MemoryVaultStore:
    def __init__(self) -> None:
        self.keys: dict[str, SubjectKey] = {}
        self.field_rows: dict[tuple[str, str, str], bytes] = {}
        self.document_rows: dict[str, SealedDocument] = {}
        self.tombstones: dict[str, tuple[str, datetime]] = {}
        self.retired: set[str] = set()
        self.lock = threading.Lock()

    def create_tables(self) -> None:
        return None

    def key(self, subject_ref: str) -> SubjectKey | None:
        return self.keys.get(subject_ref)

    def add_key(self, key: SubjectKey) -> SubjectKey | None:
        with self.lock:
            if key.subject_ref in self.tombstones:
                return None
            if key.kek_id in self.retired and key.subject_ref not in self.keys:
                raise RetiredKek(key.kek_id)
            return self.keys.setdefault(key.subject_ref, key)

    def retire_keks(self, kek_ids: Sequence[str]) -> None:
        with self.lock:
            self.retired.update(kek_ids)

    def keys_not_under(self, kek_id: str, limit: int) -> list[SubjectKey]:
        return [k for k in list(self.keys.values()) if k.kek_id != kek_id][:limit]

    def rewrap(self, subject_ref: str, old_kek_id: str, key: SubjectKey) -> bool:
        with self.lock:
            current = self.keys.get(subject_ref)
            if current is None or current.kek_id != old_kek_id:
                return False
            self.keys[subject_ref] = key
            return True

    def is_shredded(self, subject_ref: str) -> bool:
        return subject_ref in self.tombstones

    def put_field(self, subject_ref: str, name: str, sealed: bytes, scope: str = "") -> bool:
        with self.lock:
            if subject_ref not in self.keys:
                return False
            self.field_rows[(subject_ref, scope, name)] = sealed
            return True

    def fields(self, subject_ref: str, scope: str = "") -> dict[str, bytes]:
        return {name: value for (ref, where, name), value in list(self.field_rows.items())
                if ref == subject_ref and where == scope}

    def scopes(self, subject_ref: str) -> list[str]:
        return sorted({where for (ref, where, _) in list(self.field_rows) if ref == subject_ref})

    def put_document(self, document: SealedDocument) -> bool:
        with self.lock:
            if document.subject_ref not in self.keys:
                return False
            self.document_rows[document.doc_ref] = document
            return True

    def document(self, doc_ref: str) -> SealedDocument | None:
        return self.document_rows.get(doc_ref)

    def documents_of(self, subject_ref: str) -> list[SealedDocument]:
        return [d for d in self.document_rows.values() if d.subject_ref == subject_ref]

    def shred(self, subject_ref: str, basis: str, at: datetime) -> tuple[int, int]:
        with self.lock:
            self.keys.pop(subject_ref, None)
            fields = [k for k in self.field_rows if k[0] == subject_ref]
            docs = [k for k, d in self.document_rows.items() if d.subject_ref == subject_ref]
            for f in fields:
                del self.field_rows[f]
            for d in docs:
                del self.document_rows[d]
            self.tombstones[subject_ref] = (basis, at)
            return len(fields), len(docs)


DDL = (
    "CREATE TABLE IF NOT EXISTS {keys} (subject_ref text PRIMARY KEY, kek_id text NOT NULL,"
    " wrapped_dek bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), rewrapped_at timestamptz)",
    "CREATE INDEX IF NOT EXISTS {keys_by_kek} ON {keys} (kek_id)",
    "CREATE TABLE IF NOT EXISTS {fields} (subject_ref text NOT NULL, scope text NOT NULL DEFAULT '',"
    " name text NOT NULL, sealed bytea NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (subject_ref, scope, name))",
    # A vault made before fields had a scope: its fields are the recipient directory's (scope ''), and a case's
    # personal data is entered again through the case (docs/privacy.md, "Personal data per case").
    "ALTER TABLE {fields} ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT ''",
    "CREATE TABLE IF NOT EXISTS {documents} (doc_ref text PRIMARY KEY, subject_ref text NOT NULL, case_id uuid,"
    " media_type text NOT NULL, sealed bytea NOT NULL, stored_at timestamptz NOT NULL DEFAULT now())",
    "CREATE INDEX IF NOT EXISTS {documents_by_subject} ON {documents} (subject_ref)",
    "CREATE TABLE IF NOT EXISTS {shredded} (subject_ref text PRIMARY KEY, basis text NOT NULL,"
    " shredded_at timestamptz NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {retired} (kek_id text PRIMARY KEY, retired_at timestamptz NOT NULL DEFAULT now())",
)
TABLES = ("vault_subject_keys", "vault_fields", "vault_documents", "vault_shredded", "vault_retired_keks")
KEK_LOCK = "prosperity:vault-kek"
"""Writers of new DEKs hold it shared (one transaction each); a rotation retiring KEKs holds it exclusively, so it
waits for every write in flight and every later write sees the retirement: across processes, not only threads."""


class PostgresVaultStore:
    def __init__(self, pool: ConnectionPool[psycopg.Connection[Any]], schema: str = "vault") -> None:
        self.pool, self.schema = pool, schema
        self.names = {"keys": self._t("vault_subject_keys"), "fields": self._t("vault_fields"),
                      "documents": self._t("vault_documents"), "shredded": self._t("vault_shredded"),
                      "retired": self._t("vault_retired_keks"),
                      "keys_by_kek": sql.Identifier("vault_subject_keys_by_kek"),
                      "documents_by_subject": sql.Identifier("vault_documents_by_subject")}

    def _t(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.schema, name)

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(**self.names)

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection() as conn, conn.transaction():
            yield conn

    def create_tables(self) -> None:
        with self._tx() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('prosperity:vault-ddl'))")
            create_schema(conn, self.schema)
            for statement in DDL:
                conn.execute(self._q(statement))
            self._scope_in_primary_key(conn)

    def _scope_in_primary_key(self, conn: psycopg.Connection[Any]) -> None:
        """An older vault's fields table is keyed (subject_ref, name): rekey it with the scope."""
        keyed = conn.execute(
            "SELECT c.conname, array_agg(a.attname::text) FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
            " WHERE c.conrelid = %s::regclass AND c.contype = 'p' GROUP BY c.conname",
            (f'"{self.schema}".vault_fields',)).fetchone()
        if keyed is not None and "scope" not in keyed[1]:
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}, ADD PRIMARY KEY (subject_ref, scope, name)")
                         .format(self.names["fields"], sql.Identifier(keyed[0])))

    def key(self, subject_ref: str) -> SubjectKey | None:
        with self._tx() as conn:
            row = conn.execute(self._q("SELECT kek_id, wrapped_dek FROM {keys} WHERE subject_ref = %s"),
                               (subject_ref,)).fetchone()
        return None if row is None else SubjectKey(subject_ref, row[0], bytes(row[1]))

    def add_key(self, key: SubjectKey) -> SubjectKey | None:
        with self._tx() as conn:
            conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", (KEK_LOCK,))
            if conn.execute(self._q("SELECT 1 FROM {retired} WHERE kek_id = %s"), (key.kek_id,)).fetchone():
                existing = conn.execute(self._q("SELECT kek_id, wrapped_dek FROM {keys} WHERE subject_ref = %s"),
                                        (key.subject_ref,)).fetchone()
                if existing is None:
                    raise RetiredKek(key.kek_id)
                return SubjectKey(key.subject_ref, existing[0], bytes(existing[1]))
            conn.execute(self._q("INSERT INTO {keys} (subject_ref, kek_id, wrapped_dek) SELECT %s, %s, %s"
                                 " WHERE NOT EXISTS (SELECT 1 FROM {shredded} WHERE subject_ref = %s)"
                                 " ON CONFLICT (subject_ref) DO NOTHING"),
                         (key.subject_ref, key.kek_id, key.wrapped_dek, key.subject_ref))
            row = conn.execute(self._q("SELECT kek_id, wrapped_dek FROM {keys} WHERE subject_ref = %s"),
                               (key.subject_ref,)).fetchone()
        return None if row is None else SubjectKey(key.subject_ref, row[0], bytes(row[1]))

    def retire_keks(self, kek_ids: Sequence[str]) -> None:
        with self._tx() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (KEK_LOCK,))
            for kek_id in kek_ids:
                conn.execute(self._q("INSERT INTO {retired} (kek_id) VALUES (%s) ON CONFLICT DO NOTHING"), (kek_id,))

    def keys_not_under(self, kek_id: str, limit: int) -> list[SubjectKey]:
        with self._tx() as conn:
            rows = conn.execute(self._q("SELECT subject_ref, kek_id, wrapped_dek FROM {keys} WHERE kek_id <> %s"
                                        " ORDER BY subject_ref LIMIT %s"), (kek_id, limit)).fetchall()
        return [SubjectKey(r[0], r[1], bytes(r[2])) for r in rows]

    def rewrap(self, subject_ref: str, old_kek_id: str, key: SubjectKey) -> bool:
        with self._tx() as conn:
            cur = conn.execute(self._q("UPDATE {keys} SET kek_id = %s, wrapped_dek = %s, rewrapped_at = now()"
                                       " WHERE subject_ref = %s AND kek_id = %s"),
                               (key.kek_id, key.wrapped_dek, subject_ref, old_kek_id))
            return cur.rowcount == 1

    def is_shredded(self, subject_ref: str) -> bool:
        with self._tx() as conn:
            return conn.execute(self._q("SELECT 1 FROM {shredded} WHERE subject_ref = %s"),
                                (subject_ref,)).fetchone() is not None

    def _key_held(self, conn: psycopg.Connection[Any], subject_ref: str) -> bool:
        """Whether the subject's key exists, held against a shred until this transaction ends (a shred waits,
        then deletes what was stored here too)."""
        return conn.execute(self._q("SELECT 1 FROM {keys} WHERE subject_ref = %s FOR SHARE"),
                            (subject_ref,)).fetchone() is not None

    def put_field(self, subject_ref: str, name: str, sealed: bytes, scope: str = "") -> bool:
        with self._tx() as conn:
            if not self._key_held(conn, subject_ref):
                return False
            conn.execute(self._q("INSERT INTO {fields} (subject_ref, scope, name, sealed) VALUES (%s, %s, %s, %s)"
                                 " ON CONFLICT (subject_ref, scope, name) DO UPDATE SET sealed = excluded.sealed,"
                                 " updated_at = now()"), (subject_ref, scope, name, sealed))
        return True

    def fields(self, subject_ref: str, scope: str = "") -> dict[str, bytes]:
        with self._tx() as conn:
            rows = conn.execute(self._q("SELECT name, sealed FROM {fields} WHERE subject_ref = %s AND scope = %s"),
                                (subject_ref, scope)).fetchall()
        return {r[0]: bytes(r[1]) for r in rows}

    def scopes(self, subject_ref: str) -> list[str]:
        with self._tx() as conn:
            rows = conn.execute(self._q("SELECT DISTINCT scope FROM {fields} WHERE subject_ref = %s ORDER BY 1"),
                                (subject_ref,)).fetchall()
        return [r[0] for r in rows]

    def put_document(self, document: SealedDocument) -> bool:
        with self._tx() as conn:
            if not self._key_held(conn, document.subject_ref):
                return False
            conn.execute(self._q("INSERT INTO {documents} (doc_ref, subject_ref, case_id, media_type, sealed)"
                                 " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (doc_ref) DO UPDATE SET"
                                 " subject_ref = excluded.subject_ref, case_id = excluded.case_id,"
                                 " media_type = excluded.media_type, sealed = excluded.sealed, stored_at = now()"),
                         (document.doc_ref, document.subject_ref, document.case_id, document.media_type,
                          document.sealed))
        return True

    def _documents(self, where: str, value: str) -> list[SealedDocument]:
        with self._tx() as conn:
            rows = conn.execute(self._q("SELECT doc_ref, subject_ref, case_id, media_type, sealed, stored_at"
                                        " FROM {documents} WHERE " + where + " = %s ORDER BY doc_ref"),
                                (value,)).fetchall()
        return [SealedDocument(r[0], r[1], r[2], r[3], bytes(r[4]), r[5]) for r in rows]

    def document(self, doc_ref: str) -> SealedDocument | None:
        found = self._documents("doc_ref", doc_ref)
        return found[0] if found else None

    def documents_of(self, subject_ref: str) -> list[SealedDocument]:
        return self._documents("subject_ref", subject_ref)

    def shred(self, subject_ref: str, basis: str, at: datetime) -> tuple[int, int]:
        with self._tx() as conn:
            conn.execute(self._q("DELETE FROM {keys} WHERE subject_ref = %s"), (subject_ref,))
            fields = conn.execute(self._q("DELETE FROM {fields} WHERE subject_ref = %s"), (subject_ref,)).rowcount
            docs = conn.execute(self._q("DELETE FROM {documents} WHERE subject_ref = %s"), (subject_ref,)).rowcount
            conn.execute(self._q("INSERT INTO {shredded} (subject_ref, basis, shredded_at) VALUES (%s, %s, %s)"
                                 " ON CONFLICT (subject_ref) DO NOTHING"), (subject_ref, basis, at.astimezone(UTC)))
        return fields, docs
