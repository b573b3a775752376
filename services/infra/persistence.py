"""eventsourcing's PostgreSQL persistence, with its table creation serialised across processes.

Why: every process that constructs an eventsourcing Application (API, relay, consumers, CLI) runs the
library's ``CREATE TABLE / INDEX IF NOT EXISTS`` statements at start-up. Two processes starting at the same
moment on a fresh schema race inside PostgreSQL's catalogue ("tuple concurrently updated"), and the loser
exits. The library offers no hook for this, so each recorder takes one transaction-scoped advisory lock
before its DDL, in the same transaction; everything else is the library's own code. Select it with
``PERSISTENCE_MODULE=services.infra.persistence:Factory`` (``eventsourcing_env`` does).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from psycopg import Cursor
from psycopg.rows import DictRow

DDL_LOCK = "SELECT pg_advisory_xact_lock(hashtext('prosperity:eventsourcing-ddl'))"


class _SerialisedDDL:
    def _create_table(self, curs: Cursor[DictRow]) -> None:
        curs.execute(DDL_LOCK, prepare=False)
        parent: Any = super()
        parent._create_table(curs)


class AggregateRecorder(_SerialisedDDL, PostgresAggregateRecorder):
    """Snapshots (and any aggregate-only store)."""


class ApplicationRecorder(_SerialisedDDL, PostgresApplicationRecorder):
    """The event store with its notification log."""


class TrackingRecorder(_SerialisedDDL, PostgresTrackingRecorder):
    """Positions of followers such as the relay.

    The library reads whether its tracking table exists *before* the DDL transaction; a second process that read
    "no table" while the first was creating it would, once the lock lets it in, insert the table's migration row
    again and fail ("Failed to record tracking for __migration__ 1"; two relays started together). So the state is
    read again under the lock, in the DDL's own transaction."""

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        curs.execute(DDL_LOCK, prepare=False)
        row = curs.execute("SELECT to_regclass(format('%%I.%%I', %s::text, %s::text)) IS NOT NULL AS found",
                           (self.datastore.schema or "public", self.tracking_table_name), prepare=False).fetchone()
        if row is not None and row["found"]:
            self.tracking_table_exists = True
            self.tracking_migration_current = self.tracking_migration_previous = self._max_tracking_id(
                self.table_migration_identifier, curs)
        super()._create_table(curs)


class ProcessRecorder(_SerialisedDDL, PostgresProcessRecorder):
    """Process applications (events and tracking together)."""


class Factory(PostgresFactory):
    aggregate_recorder_class = AggregateRecorder
    application_recorder_class = ApplicationRecorder
    tracking_recorder_class = TrackingRecorder
    process_recorder_class = ProcessRecorder
