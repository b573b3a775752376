"""The event store, read as the published contracts: what a rebuild replays, and what tests feed projections.

Reading the store (the source of truth) through the same one mapping the relay uses (``contracts.mapping``)
guarantees a rebuilt read model sees exactly what live consumers saw on NATS.
"""

from __future__ import annotations

from collections.abc import Iterator

from contracts.events import EventEnvelopeV1, parse_event
from contracts.mapping import MunicipalityTracker, repository_lookup
from services.casework.application import Casework

PAGE = 500


def published_events(app: Casework, *, after: int = 0, up_to: int | None = None) -> Iterator[EventEnvelopeV1]:
    """Every stored fact after notification ``after`` (and up to ``up_to``), as its v1 contract."""
    tracker = MunicipalityTracker(lookup=repository_lookup(app.repository))
    position = after
    while True:
        page = app.recorder.select_notifications(start=position, limit=PAGE, stop=up_to, inclusive_of_start=False)
        if not page:
            return
        for notification in page:
            published = tracker.to_published(app.mapper.to_domain_event(notification), notification.id, app.name)
            yield parse_event(published.payload)
        position = page[-1].id
