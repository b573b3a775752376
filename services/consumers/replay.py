"""The event store, read as the published contracts: what a rebuild replays, and what tests feed projections.

Reading the store (the source of truth) through the one mapping the relay uses
(``services.casework.published``) and parsing the payload as a consumer does guarantees a rebuilt read model sees
exactly what live consumers saw on NATS (``tests/unit/test_replay.py``). Parsing the JSON (pydantic-core) costs
less than validating the domain's objects into contracts did.
"""

from __future__ import annotations

from collections.abc import Iterator

from contracts.events import EventEnvelopeV1, parse_event
from contracts.mapping import MunicipalityTracker, repository_lookup
from services.casework.application import Casework
from services.casework.published import outgoing_fact
from services.infra import topic_filter

PAGE = 500


def published_events(app: Casework, *, after: int = 0, up_to: int | None = None) -> Iterator[EventEnvelopeV1]:
    """Every stored fact after notification ``after`` (and up to ``up_to``), as its v1 contract."""
    tracker = MunicipalityTracker(lookup=repository_lookup(app.repository))
    position = after
    while True:
        page = app.recorder.select_notifications(start=position, limit=PAGE, stop=up_to, inclusive_of_start=False,
                                                 topics=topic_filter.PUBLISHED)
        if not page:
            return
        for notification in page:
            fact = outgoing_fact(app, tracker, notification)
            yield parse_event(fact.payload, fact.headers["Prosperity-Event-Type"])
        position = page[-1].id
