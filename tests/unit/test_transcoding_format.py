"""The orjson transcoder writes the library's stored format byte for byte, and reads what the stdlib-json
transcoder wrote before it (no migration): checked on every fact and snapshot of both walkthroughs."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import JSONTranscoder

from services.casework.application import Casework
from services.casework.transcodings import DomainJSONTranscoder
from services.walkthrough import iceland_lifecycle, norway_lifecycle

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


class StdlibTranscoder(DomainJSONTranscoder):
    """What was in use before: the same tags, written and read by the stdlib's json module."""

    def encode(self, obj: Any) -> bytes:
        return JSONTranscoder.encode(self, self._tag(obj))

    def decode(self, data: bytes) -> Any:
        return JSONTranscoder.decode(self, data)


def stored_states(app: Casework) -> list[bytes]:
    events = [n.state for n in app.recorder.select_notifications(1, limit=10_000)]
    assert app.snapshots is not None
    ids = {n.originator_id for n in app.recorder.select_notifications(1, limit=10_000)}
    snapshots = [s.state for i in ids for s in app.snapshots.recorder.select_events(i)]
    assert len(snapshots) == 2
    return events + snapshots


def test_every_stored_fact_reads_and_writes_the_same_as_with_the_stdlib() -> None:
    app = Casework({**POPO, "IS_SNAPSHOTTING_ENABLED": "y"})
    for case_id in (iceland_lifecycle(app), norway_lifecycle(app)):
        app.take_snapshot(case_id)  # the aggregates' whole state, statuses and value objects included
    fast, stdlib = app.mapper.transcoder, StdlibTranscoder()
    assert isinstance(fast, DomainJSONTranscoder)
    app.register_transcodings(stdlib)
    states = stored_states(app)
    assert len(states) > 30
    for state in states:
        decoded = stdlib.decode(state)
        assert fast.decode(state) == decoded
        assert fast.encode(decoded) == stdlib.encode(decoded) == state
