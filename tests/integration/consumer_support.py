"""A deliberately simple projection for testing the consumer runtime itself: one row per applied event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from contracts.events import EventEnvelopeV1
from projections.base import ReadView, Statement
from projections.dashboard.calendar import ZONES
from projections.dashboard.projection import DashboardProjection

DUPLICATE_WINDOW_SECONDS = 0.1
"""The test streams' duplicate window: short, so a test can put a second copy of a message into a stream (as a
republish after the window would)."""


class EventTally:
    name: ClassVar[str] = "tally"
    version: ClassVar[int] = 1
    ddl: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS tally (case_id uuid, case_version int, event_type text, notification_id bigint,"
        " previous_version int NOT NULL, PRIMARY KEY (case_id, case_version))",
    )

    def apply(self, event: EventEnvelopeV1, view: ReadView) -> Sequence[Statement]:
        """Records the version the case had before: proves versions were applied strictly in order."""
        row = view.fetchone("SELECT max(case_version) FROM tally WHERE case_id = %s", (event.case_id,))
        previous = row[0] if row and row[0] is not None else 0
        return [Statement("INSERT INTO tally VALUES (%s, %s, %s, %s, %s)",
                          (event.case_id, event.case_version, event.event_type, event.notification_id, previous))]


class PoisonedTally(EventTally):
    """Fails on every ``level_raised``: a poison message the runtime must set aside, not retry forever."""

    name: ClassVar[str] = "poisoned"

    def apply(self, event: EventEnvelopeV1, view: ReadView) -> Sequence[Statement]:
        if event.event_type == "level_raised":
            raise RuntimeError("this projection cannot handle level_raised")
        return super().apply(event, view)


class FixedTally(EventTally):
    """The poisoned read model after its projection was fixed: same name (same tables), handles every event."""

    name: ClassVar[str] = "poisoned"


class FragileDashboard(DashboardProjection):
    """The dashboard as v1 had it, where a fact's day came from ``astimezone`` (``OverflowError`` for a fact dated
    0001-01-01): a projection with a real defect, for the quarantine tests and the benchmark. Same name and tables
    as the dashboard: its fix is the dashboard itself."""

    def apply(self, event: EventEnvelopeV1, view: ReadView) -> Sequence[Statement]:
        zone = ZONES.get(event.jurisdiction or "")
        if zone is not None:
            event.occurred_at.astimezone(zone)  # v1's local_day
        return super().apply(event, view)
