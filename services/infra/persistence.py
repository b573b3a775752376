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
    """Positions of followers such as the relay."""


class ProcessRecorder(_SerialisedDDL, PostgresProcessRecorder):
    """Process applications (events and tracking together)."""


class Factory(PostgresFactory):
    aggregate_recorder_class = AggregateRecorder
    application_recorder_class = ApplicationRecorder
    tracking_recorder_class = TrackingRecorder
    process_recorder_class = ProcessRecorder
