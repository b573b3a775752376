"""``Idempotency-Key``: a retried command (same caller, same key, same request) returns the first result.

Keys live in a small table beside the event store (same database and schema). Requests with the same key
are serialised by a transaction-scoped advisory lock held while the command runs, so two concurrent retries
cannot both record. Only successful results are kept: a refused command records nothing, so retrying it
simply asks again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from services.infra.postgres_env import create_if_absent

TABLE = "api_idempotency_keys"
MAX_KEY_LENGTH = 64
"""PRIV-1: a key is a UUID or a short opaque token (``contracts.refs.idempotency_key``)."""


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


class IdempotencyKeyReused(Exception):
    """The key was used before, by the same caller, for a different request (422)."""


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def connection_kwargs(env: Mapping[str, str | None]) -> dict[str, Any]:
    """psycopg connection parameters from an eventsourcing environment (the event store's database)."""
    kwargs: dict[str, Any] = {"host": env.get("POSTGRES_HOST"), "port": env.get("POSTGRES_PORT"),
                              "dbname": env.get("POSTGRES_DBNAME"), "user": env.get("POSTGRES_USER")}
    if env.get("POSTGRES_PASSWORD"):
        kwargs["password"] = env.get("POSTGRES_PASSWORD")
    return kwargs


class IdempotencyStore:
    def __init__(self, pool: ConnectionPool[psycopg.Connection[Any]], schema: str | None) -> None:
        self.pool = pool
        self.table = sql.Identifier(schema, TABLE) if schema else sql.Identifier(TABLE)

    def ddl(self) -> sql.Composed:
        return sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (subject text NOT NULL, key text NOT NULL, fingerprint text NOT NULL, "
            "status_code integer NOT NULL, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "
            "PRIMARY KEY (subject, key))").format(self.table)

    def create_table(self) -> None:
        """By :func:`create_if_absent`: the API's workers start together and create it at once."""
        with self.pool.connection() as conn, conn.transaction():
            create_if_absent(conn, self.ddl())

    def ping(self) -> None:
        with self.pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")

    def run_once(self, subject: str, key: str, request_fingerprint: str,
                 run: Callable[[], StoredResponse]) -> tuple[StoredResponse, bool]:
        """The stored response for (subject, key), or ``run()``'s, stored; and whether it was a replay."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{subject} {key}",))
            row = conn.execute(sql.SQL("SELECT fingerprint, status_code, body FROM {} WHERE subject = %s AND key = %s")
                               .format(self.table), (subject, key)).fetchone()
            if row is not None:
                if row[0] != request_fingerprint:
                    raise IdempotencyKeyReused(
                        f"The Idempotency-Key {key!r} was already used for a different request.")
                return StoredResponse(row[1], row[2]), True
            response = run()
            conn.execute(sql.SQL("INSERT INTO {} (subject, key, fingerprint, status_code, body) "
                                 "VALUES (%s, %s, %s, %s, %s)").format(self.table),
                         (subject, key, request_fingerprint, response.status_code, Jsonb(response.body)))
            return response, False
