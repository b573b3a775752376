"""The event store, read as the published contracts: what a rebuild replays, and what tests feed projections.

Reading the store (the source of truth) through the same one mapping the relay uses (``contracts.mapping``)
guarantees a rebuilt read model sees exactly what live consumers saw on NATS: the contract models yielded here
equal what consumers parse from the published payloads (``tests/unit/test_replay.py``), without the JSON
round trip.
"""

from __future__ import annotations

from collections.abc import Iterator

from contracts.events import EventEnvelopeV1
from contracts.mapping import PUBLISHED_TOPICS, MunicipalityTracker, repository_lookup
from services.casework.application import Casework

PAGE = 500


def published_events(app: Casework, *, after: int = 0, up_to: int | None = None) -> Iterator[EventEnvelopeV1]:
    """Every stored fact after notification ``after`` (and up to ``up_to``), as its v1 contract."""
    tracker = MunicipalityTracker(lookup=repository_lookup(app.repository))
    position = after
    while True:
        page = app.recorder.select_notifications(start=position, limit=PAGE, stop=up_to, inclusive_of_start=False,
                                                 topics=PUBLISHED_TOPICS)
        if not page:
            return
        for notification in page:
            # The validated model a payload is serialised from (equal to parsing it); not serialised here.
            yield tracker.to_contract(app.mapper.to_domain_event(notification), notification.id)
        position = page[-1].id
