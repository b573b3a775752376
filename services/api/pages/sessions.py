"""Web sessions, held on the server: who signed in, how, when, and when the session was last used.

The browser holds only an opaque, random session id inside the signed session cookie (Starlette's session
middleware, itsdangerous; HttpOnly, SameSite=Lax, Secure in production); the row here is the session. So the
server decides every timeout (idle and absolute, :class:`~services.api.pages.settings.WebSettings`), signing out
ends the session for every copy of the cookie, and nothing personal is in the cookie. The id is stored hashed
(SHA-256): a copy of the table does not hold usable cookies. Rows hold pseudonymous references only, as tokens do.

``MemorySessionStore`` is the same port in memory, for unit tests of the pages.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from domain.values import Actor, Jurisdiction, Role

TABLE = "web_sessions"


@dataclass(frozen=True)
class WebSession:
    actor: Actor
    method: str
    """``development`` (picked on the sign-in page) or ``oidc`` (the identity provider's ID token)."""
    signed_in_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


class SessionStore(Protocol):
    def create_table(self) -> None: ...

    def start(self, actor: Actor, method: str, now: datetime) -> str:
        """A new session for ``actor``; returns its id (for the cookie)."""
        ...

    def find(self, session_id: str, now: datetime, timeouts: Timeouts) -> WebSession | None:
        """The live session (and mark it used now), or None: unknown, signed out, idle or past its absolute end."""
        ...

    def end(self, session_id: str, now: datetime, reason: str) -> None: ...


def _alive(session: WebSession, now: datetime, timeouts: Timeouts) -> bool:
    return now - session.last_seen_at <= timeouts.idle and now - session.signed_in_at <= timeouts.absolute


class MemorySessionStore:
    def __init__(self) -> None:
        self.rows: dict[str, WebSession] = {}
        self.ended: dict[str, str] = {}

    def create_table(self) -> None:
        return None

    def start(self, actor: Actor, method: str, now: datetime) -> str:
        session_id = new_session_id()
        self.rows[_hash(session_id)] = WebSession(actor, method, now, now)
        return session_id

    def find(self, session_id: str, now: datetime, timeouts: Timeouts) -> WebSession | None:
        key = _hash(session_id)
        session = self.rows.get(key)
        if session is None or key in self.ended:
            return None
        if not _alive(session, now, timeouts):
            self.ended[key] = "timeout"
            return None
        self.rows[key] = replace(session, last_seen_at=now)
        return self.rows[key]

    def end(self, session_id: str, now: datetime, reason: str) -> None:
        self.ended.setdefault(_hash(session_id), reason)


_COLUMNS = "person_ref, role, org_ref, municipality_ref, jurisdiction, method, signed_in_at, last_seen_at"


def _session(row: tuple[Any, ...]) -> WebSession:
    person, role, org, muni, jurisdiction, method, signed_in_at, last_seen_at = row
    actor = Actor(person, Role(role), org, muni, None if jurisdiction is None else Jurisdiction(jurisdiction))
    return WebSession(actor, method, signed_in_at, last_seen_at)


class PostgresSessionStore:
    """``web_sessions`` beside the event store (same database and schema as the read-access log)."""

    def __init__(self, pool: ConnectionPool[psycopg.Connection[Any]], schema: str | None) -> None:
        self.pool = pool
        self.table = sql.Identifier(schema, TABLE) if schema else sql.Identifier(TABLE)

    def create_table(self) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('web_sessions_ddl'))")
            conn.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id_hash text PRIMARY KEY, person_ref text NOT NULL,"
                " role text NOT NULL, org_ref text, municipality_ref text, jurisdiction text, method text NOT NULL,"
                " signed_in_at timestamptz NOT NULL, last_seen_at timestamptz NOT NULL, ended_at timestamptz,"
                " end_reason text)").format(self.table))

    def start(self, actor: Actor, method: str, now: datetime) -> str:
        session_id = new_session_id()
        with self.pool.connection() as conn:
            conn.execute(sql.SQL(
                "INSERT INTO {} (id_hash, " + _COLUMNS + ") VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)").format(
                    self.table),
                (_hash(session_id), actor.person_ref, actor.role.value, actor.org_ref, actor.municipality_ref,
                 None if actor.jurisdiction is None else actor.jurisdiction.value, method, now, now))
        return session_id

    def find(self, session_id: str, now: datetime, timeouts: Timeouts) -> WebSession | None:
        key = _hash(session_id)
        with self.pool.connection() as conn:
            row = conn.execute(sql.SQL(
                "UPDATE {} SET last_seen_at = %(now)s WHERE id_hash = %(id)s AND ended_at IS NULL"
                " AND last_seen_at >= %(now)s - %(idle)s AND signed_in_at >= %(now)s - %(absolute)s"
                " RETURNING " + _COLUMNS).format(self.table),
                {"id": key, "now": now, "idle": timeouts.idle, "absolute": timeouts.absolute}).fetchone()
            if row is None:
                conn.execute(sql.SQL("UPDATE {} SET ended_at = %s, end_reason = 'timeout'"
                                     " WHERE id_hash = %s AND ended_at IS NULL").format(self.table), (now, key))
                return None
        return _session(row)

    def end(self, session_id: str, now: datetime, reason: str) -> None:
        with self.pool.connection() as conn:
            conn.execute(sql.SQL("UPDATE {} SET ended_at = %s, end_reason = %s"
                                 " WHERE id_hash = %s AND ended_at IS NULL").format(self.table),
                         (now, reason, _hash(session_id)))
