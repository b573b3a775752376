"""The relay's own PostgreSQL sessions: leader election and the LISTEN wake-up.

Both need a *dedicated, session-level* connection held for a long time, which is why they are not taken
from the eventsourcing pool: a pooled connection is recycled (``POSTGRES_CONN_MAX_AGE``) and shared, and
an advisory lock or a LISTEN belongs to the session that took it (tech-notes §5.1c, §5.1d).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

LOCK_NAMESPACE = "prosperity.relay"


def conninfo(env: Mapping[str, str]) -> str:
    """A libpq conninfo for the database an eventsourcing environment points at (the inverse of
    ``services.infra.postgres_env.eventsourcing_env``)."""
    params = {
        "host": env["POSTGRES_HOST"],
        "port": env.get("POSTGRES_PORT", "5432"),
        "dbname": env["POSTGRES_DBNAME"],
        "user": env["POSTGRES_USER"],
        "connect_timeout": env.get("POSTGRES_CONNECT_TIMEOUT", "10"),
        "application_name": "prosperity-relay",
    }
    if env.get("POSTGRES_PASSWORD"):
        params["password"] = env["POSTGRES_PASSWORD"]
    return make_conninfo(**params)


def leader_lock_key(app_name: str, schema: str) -> int:
    """A constant 64-bit advisory-lock key per (schema, application): one leader per event store, and
    tests in separate schemas of one database do not contend."""
    digest = hashlib.blake2b(f"{LOCK_NAMESPACE}:{schema}:{app_name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def connect(env: Mapping[str, str]) -> psycopg.AsyncConnection[tuple[object, ...]]:
    return await psycopg.AsyncConnection.connect(conninfo(env), autocommit=True)


class LeaderLock:
    """``pg_try_advisory_lock`` held by one session for the life of the leader.

    PostgreSQL releases a session-level advisory lock when its session ends, so a leader that dies
    (SIGKILL, lost network, crashed host) frees the lock as soon as the server notices the dead
    connection, and a standby's next attempt succeeds. A leader checks the session is still alive before
    each batch (:meth:`check`): if its connection was cut, another relay may already lead.
    """

    def __init__(self, connection: psycopg.AsyncConnection[tuple[object, ...]], key: int) -> None:
        self.connection = connection
        self.key = key

    async def try_acquire(self) -> bool:
        cursor = await self.connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
        row = await cursor.fetchone()
        return bool(row and row[0])

    async def check(self) -> None:
        """Raise ``psycopg.OperationalError`` when the session holding the lock is gone."""
        await self.connection.execute("SELECT 1")


async def listen(connection: psycopg.AsyncConnection[tuple[object, ...]], channel: str) -> None:
    await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))


async def wait_for_notify(connection: psycopg.AsyncConnection[tuple[object, ...]], timeout: float) -> bool:
    """True when a NOTIFY arrived within ``timeout`` seconds (notifications that arrived while nobody was
    waiting are kept by psycopg and returned at once)."""
    notified = False
    # Let the generator run to its end (stop_after=1) rather than leaving it early: psycopg buffers
    # notifications for later only once the generator has finished.
    async for _ in connection.notifies(timeout=timeout, stop_after=1):
        notified = True
    if notified:
        await drain_notifies(connection)
    return notified


async def drain_notifies(connection: psycopg.AsyncConnection[tuple[object, ...]]) -> int:
    """Coalesce wake-ups: swallow the notifications already waiting (one per commit of a busy writer); the read
    that follows sees every commit they announce. Returns how many were swallowed."""
    swallowed = 0
    async for _ in connection.notifies(timeout=0.0):
        swallowed += 1
    return swallowed
