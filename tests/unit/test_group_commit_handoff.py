"""Group commit's hand-offs in memory (eventsourcing's POPO recorder): many threads saving at once each return once,
with their own recordings, whoever wrote them; a failed batch tells each of its callers and the next saves go on.
The real-PostgreSQL behaviour (collisions, gap-free ids) is tests/integration/test_group_commit.py."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import DatetimeAsISO, EventStore, JSONTranscoder, Mapper, Recording, UUIDAsHex
from eventsourcing.popo import POPOApplicationRecorder

from services.casework.group_commit import GroupCommit


class Note(Aggregate):
    def __init__(self, text: str) -> None:
        self.text = text


def group_commit(recorder: POPOApplicationRecorder | None = None, window: float = 0.0) -> GroupCommit:
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    return GroupCommit(EventStore(Mapper(transcoder), recorder or POPOApplicationRecorder()), window_seconds=window)


def save_new_note(commit: GroupCommit, text: str) -> tuple[Any, list[Recording[Any]]]:
    note = Note(text)
    return note.id, commit.put(note.collect_events())


def test_every_one_of_many_concurrent_saves_returns_its_own_recordings_once() -> None:
    commit = group_commit()
    texts = [f"note {n}" for n in range(400)]
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda text: save_new_note(commit, text), texts))
    assert all(len(recordings) == 1 for _, recordings in results)
    assert all(recordings[0].domain_event.originator_id == note for note, recordings in results)  # its own
    ids = sorted(recordings[0].notification.id for _, recordings in results)
    assert ids == list(range(1, len(texts) + 1))
    assert commit.saves == len(texts) and commit.transactions <= len(texts)


class FailingOnce(POPOApplicationRecorder):
    """Refuses the first insert with more than one event (a batch of several saves), as a lost connection would."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = threading.Event()

    def insert_events(self, stored_events: Any, **kwargs: Any) -> Any:
        if len(stored_events) > 1 and not self.failed.is_set():
            self.failed.set()
            raise ConnectionError("server closed the connection")
        return super().insert_events(stored_events, **kwargs)


def test_a_failed_batch_tells_each_of_its_callers_and_later_saves_are_stored() -> None:
    recorder = FailingOnce()
    commit = group_commit(recorder, window=0.01)  # a leader waits 10 ms: the saves queue up behind it
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        try:
            save_new_note(commit, f"note {n}")
            outcomes.append("stored")
        except ConnectionError:
            outcomes.append("refused")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(attempt, range(64)))
    assert recorder.failed.is_set() and len(outcomes) == 64
    assert outcomes.count("refused") >= 2  # the failed batch's callers, every one told
    stored = outcomes.count("stored")
    assert len(recorder.select_notifications(start=None, limit=10_000)) == stored
    note, recordings = save_new_note(commit, "after")  # the lead passed on
    assert recordings[0].domain_event.originator_id == note
