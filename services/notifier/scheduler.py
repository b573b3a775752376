"""The deadline scheduler: move warnings whose day has come from ``deadlines`` into the ``outbox``.

One statement per run, in one transaction: the due ``pending`` warnings are set ``enqueued`` and copied into
the outbox under the key ``deadline:<deadline_key>`` with ``INSERT … ON CONFLICT DO NOTHING``. So a restart
at any point (before the commit: nothing happened; after: the warnings are no longer pending) never makes a
second notice, and neither do two schedulers running at once (the second waits on the row locks, then finds
the rows no longer pending) nor a warning the projection schedules again (same key, same outbox row).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import structlog
from psycopg import sql
from psycopg_pool import ConnectionPool

log = structlog.get_logger(__name__)

_MOVE_DUE = """
WITH due AS (
    UPDATE deadlines SET status = 'enqueued', enqueued_at = now()
    WHERE status = 'pending' AND warn_on <= %s
    RETURNING deadline_key, case_id, kind, source_event_id, priority, recipient_ref, jurisdiction, language,
              params, subject, body, warn_on
)
INSERT INTO outbox (notification_key, case_id, source, event_id, kind, mandatory, priority, recipient_ref,
                    jurisdiction, language, params, subject, body, occurred_at)
SELECT 'deadline:' || deadline_key, case_id, 'deadline', source_event_id, kind, false, priority, recipient_ref,
       jurisdiction, language, params, subject, body, warn_on::timestamp AT TIME ZONE 'UTC'
FROM due
ON CONFLICT (notification_key) DO NOTHING
"""


def utc_today() -> date:
    return datetime.now(UTC).date()


class DeadlineScheduler:
    def __init__(self, dsn: str, *, base_schema: str = "public", projection_name: str = "notifications",
                 today: Callable[[], date] = utc_today, interval: float = 60.0,
                 pool: ConnectionPool | None = None) -> None:
        self.base_schema, self.projection_name, self.today, self.interval = base_schema, projection_name, today, \
            interval
        self._own_pool = pool is None
        self.pool = pool or ConnectionPool(dsn, min_size=1, max_size=1, open=True, kwargs={"autocommit": False})

    def close(self) -> None:
        if self._own_pool:
            self.pool.close()

    def _serving_schema(self, conn: psycopg.Connection[Any]) -> str | None:
        row = conn.execute(sql.SQL("SELECT schema_name FROM {}.read_model_generations WHERE name = %s"
                                   " AND state = 'serving'").format(sql.Identifier(self.base_schema)),
                           (self.projection_name,)).fetchone()
        return str(row[0]) if row else None

    def run_once(self, today: date | None = None) -> int:
        """Enqueue every warning due on or before ``today``; returns how many outbox rows were created."""
        with self.pool.connection() as conn, conn.transaction():
            schema = self._serving_schema(conn)
            if schema is None:
                return 0
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            created = conn.execute(_MOVE_DUE, (today or self.today(),)).rowcount
        if created:
            log.info("deadline_warnings_enqueued", count=created)
        return created

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except psycopg.OperationalError as err:
                log.warning("scheduler_database_unavailable", error=str(err))
            stop.wait(self.interval)
