"""A stored fact in the form it is published in: what the relay sends, and what a rebuild or an audit replays.

One function for both, so that a rebuilt read model sees byte for byte what live consumers parsed from NATS: the
payload is made from the fact's stored state by ``contracts.stored_mapping`` (no domain objects, no second
validation: two thirds of the relay's CPU per fact went there, issue 14), and a fact that mapping cannot read
takes the validated way (``contracts.mapping``), which maps it or says why it cannot.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from eventsourcing.utils import resolve_topic

from contracts.mapping import MunicipalityTracker
from contracts.stored_mapping import NotPlain, OutgoingFact, outgoing_from_state, placement_from_state
from services.casework.transcodings import decode_plain


def outgoing_fact(app: Application[Any], tracker: MunicipalityTracker, notification: Notification) -> OutgoingFact:
    """The subject, payload and headers of ``notification``; ``tracker`` learns where its case is."""
    mapper = app.mapper
    event_class = resolve_topic(notification.topic)
    try:
        data = notification.state
        if mapper.cipher:
            data = mapper.cipher.decrypt(data)
        if mapper.compressor:
            data = mapper.compressor.decompress(data)
        state = decode_plain(data)
        placement = placement_from_state(tracker, event_class, notification.originator_id,
                                         notification.originator_version, state)
        return outgoing_from_state(event_class, notification.originator_id, notification.originator_version,
                                   state, notification.id, app.name, placement)
    except (NotPlain, LookupError, TypeError, ValueError):
        # Not mappable from its stored state here (an unusual or malformed fact): the validated way decides,
        # and says what is wrong if it cannot map it either.
        published = tracker.to_published(mapper.to_domain_event(notification), notification.id, app.name)
        return OutgoingFact(published.subject, published.payload, published.headers)
