"""The clock's due-index in PostgreSQL: for each case, the next day the clock has something to record.

Built from the store: the clock follows the event store's notification log (``select_notifications``, as the
relay does) and, for each case a new fact touched, loads the case and asks the domain for its next day
(:func:`domain.clock.next_day_to_look`). So the index is a cache of what the facts already say: dropping its
tables and restarting rebuilds it from position 0.

Safe with N replicas: every write is an upsert keyed by the case that keeps the row of the newest case version
(``WHERE clock_due.case_version <= excluded.case_version``), the position only moves forward (``GREATEST``), and
the day's work is claimed one case at a time with ``FOR UPDATE SKIP LOCKED``, so replicas share it; if two ever
work on one case anyway, the event store lets one save win and the domain finds nothing left due (CLOCK-1).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from uuid import UUID

import psycopg
from psycopg import sql

from services.infra.postgres_env import create_schema

POSITION_NAME = "clock"


class DueIndex:
    """The tables ``clock_due`` (case → next day) and ``clock_position`` (how far the log was read), in
    ``schema`` (the event store's by default)."""

    def __init__(self, dsn: str, schema: str = "public") -> None:
        self.dsn = dsn
        self.schema = schema
        self._due = sql.Identifier(schema, "clock_due")
        self._position = sql.Identifier(schema, "clock_position")

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.dsn, autocommit=False)

    def create(self) -> None:
        with self.connect() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('prosperity:clock-ddl'))")
            create_schema(conn, self.schema)
            conn.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (case_id uuid PRIMARY KEY, case_version bigint NOT NULL,"
                " look_on date, updated_at timestamptz NOT NULL DEFAULT now())").format(self._due))
            conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS clock_due_look_on ON {} (look_on)"
                                 " WHERE look_on IS NOT NULL").format(self._due))
            conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, position bigint NOT NULL)")
                         .format(self._position))

    def position(self) -> int:
        with self.connect() as conn:
            row = conn.execute(sql.SQL("SELECT position FROM {} WHERE name = %s").format(self._position),
                               (POSITION_NAME,)).fetchone()
        return int(str(row[0])) if row else 0

    def record(self, entries: list[tuple[UUID, int, date | None]], position: int) -> None:
        """Keep each case's next day (newest version wins) and move the position on, in one transaction."""
        with self.connect() as conn:
            for case_id, version, look_on in entries:
                conn.execute(self._upsert(), (case_id, version, look_on))
            conn.execute(sql.SQL(
                "INSERT INTO {t} (name, position) VALUES (%s, %s) ON CONFLICT (name)"
                " DO UPDATE SET position = GREATEST({t}.position, excluded.position)").format(t=self._position),
                (POSITION_NAME, position))

    def _upsert(self) -> sql.Composed:
        return sql.SQL(
            "INSERT INTO {t} (case_id, case_version, look_on) VALUES (%s, %s, %s) ON CONFLICT (case_id) DO UPDATE"
            " SET case_version = excluded.case_version, look_on = excluded.look_on, updated_at = now()"
            " WHERE {t}.case_version <= excluded.case_version").format(t=self._due)

    @contextmanager
    def claim(self, today: date) -> Iterator[tuple[psycopg.Connection[tuple[object, ...]], UUID] | None]:
        """One case due on or before ``today`` that no other replica is working on, locked until the block ends
        (then committed); None when there is none."""
        with self.connect() as conn:
            row = conn.execute(sql.SQL(
                "SELECT case_id FROM {} WHERE look_on <= %s ORDER BY look_on, case_id LIMIT 1"
                " FOR UPDATE SKIP LOCKED").format(self._due), (today,)).fetchone()
            if row is None:
                yield None
                return
            case_id = row[0]
            assert isinstance(case_id, UUID)
            yield conn, case_id

    def update_claimed(self, conn: psycopg.Connection[tuple[object, ...]], case_id: UUID, version: int,
                       look_on: date | None) -> None:
        """After the clock worked on a claimed case: its next day, unless the log already brought a newer version."""
        conn.execute(sql.SQL("UPDATE {} SET case_version = %s, look_on = %s, updated_at = now()"
                             " WHERE case_id = %s AND case_version <= %s").format(self._due),
                     (version, look_on, case_id, version))

    def postpone(self, conn: psycopg.Connection[tuple[object, ...]], case_id: UUID, look_on: date) -> None:
        """A claimed case the clock could not work on: look again on ``look_on`` (whatever its version)."""
        conn.execute(sql.SQL("UPDATE {} SET look_on = %s, updated_at = now() WHERE case_id = %s").format(self._due),
                     (look_on, case_id))

    def due_count(self, today: date) -> int:
        with self.connect() as conn:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE look_on <= %s").format(self._due),
                               (today,)).fetchone()
        return int(str(row[0])) if row else 0

    def look_on(self, case_id: UUID) -> date | None:
        with self.connect() as conn:
            row = conn.execute(sql.SQL("SELECT look_on FROM {} WHERE case_id = %s").format(self._due),
                               (case_id,)).fetchone()
        return row[0] if row and isinstance(row[0], date) else None
