"""A rebuild must see exactly what live consumers see: the replayed contracts equal the parsed payloads."""

from __future__ import annotations

from contracts.events import parse_event
from contracts.mapping import PUBLISHED_TOPICS, MunicipalityTracker
from services.casework.application import Casework
from services.consumers.replay import published_events
from services.walkthrough import iceland_lifecycle, norway_lifecycle


def test_replayed_contracts_equal_what_consumers_parse_from_the_published_payloads() -> None:
    app = Casework(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"})
    iceland_lifecycle(app)
    norway_lifecycle(app)
    tracker = MunicipalityTracker()
    on_nats = [parse_event(tracker.to_published(app.mapper.to_domain_event(n), n.id, app.name).payload)
               for n in app.recorder.select_notifications(start=None, limit=10_000, topics=PUBLISHED_TOPICS)]
    replayed = list(published_events(app))
    assert replayed == on_nats
    assert [type(e) for e in replayed] == [type(e) for e in on_nats]
    assert len(replayed) > 30
