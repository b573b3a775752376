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

from services.casework.group_commit import GroupCommit, _Save


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


def test_a_save_handed_the_lead_before_it_waited_is_stored_with_the_rest_of_its_batch() -> None:
    """The interleaving a review found: the leader hands the lead to the oldest waiting save (releasing its lock)
    before that caller reached its wait; the caller then leads without ever acquiring, and finishing its own save
    must not release its lock a second time (that raised inside the batch: the other saves never returned)."""
    commit = group_commit()
    handed, behind = (_Save(Note(f"n{n}").collect_events(), []) for n in range(2))
    for save in (handed, behind):
        save.stored_events = [commit.events.mapper.to_stored_event(e) for e in save.domain_events]
        commit._queue.append(save)
    commit._leading = handed.lead = True  # as the previous leader leaves it: lead given, lock released, no wait yet
    handed.wake.release()
    commit._lead(handed)  # the caller, finding the lead, writes the batch (itself and the save behind it)
    assert handed.done and behind.done and handed.error is None and behind.error is None
    assert behind.wake.acquire(timeout=1)  # the save behind was told
    assert not commit._leading and commit.transactions == 1
    assert len(commit.events.recorder.select_notifications(start=None, limit=10)) == 2  # type: ignore[attr-defined]
