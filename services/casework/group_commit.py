"""Group commit: the facts of concurrent commands stored in one transaction (one table lock, one WAL flush).

Why: eventsourcing's PostgreSQL recorder takes ``LOCK TABLE … IN EXCLUSIVE MODE`` in every save and holds it
through the commit's WAL flush, so that notification ids are committed in the order they are issued (readers
never pass a gap that fills in later). That keeps the notification log gap-free, and it serialises every writer:
a process can store no more transactions per second than one lock + one flush allow. The library has no batch
API across saves, so this module hands every save of a process to one writer at a time (a "leader"): the saves
that queued up while the previous transaction was flushing go into the next one, as one ``insert_events`` call
(the library's own statement, lock and notification-id fetch). No timer is needed: under load the queue fills
while the previous flush runs; alone, a save is written at once (``window`` adds an optional wait).

Each caller gets its own outcome. A batch in which one save collides with another process's write (the unique
(originator_id, version) index) is rolled back whole and its saves are written again one by one, each in its own
transaction: the colliding one gets its ``IntegrityError`` (and is retried by ``Casework`` on the new version),
the others are stored. Commands on one case never meet in one batch: ``Casework`` serialises them per case, and a
case's lock is held until its save returns. A caller returns only after its transaction committed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import (
    EventStore,
    IntegrityError,
    Notification,
    Recording,
    StoredEvent,
)


def _held() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Save:
    domain_events: Sequence[Any]
    stored_events: list[StoredEvent]
    wake: threading.Lock = field(default_factory=_held)
    """Held from the start; released once, by the writer that finished this save or by the one that handed it the
    lead (a leader's own save is never released again: it may have seen the lead before it waited), so the waiting
    caller's ``acquire`` returns. A bare lock, not a ``threading.Event``: an event's condition takes
    several more lock operations per wake-up, and waking 32 waiting callers was a fifth of the write path's
    CPU (issue 14, P1)."""
    lead: bool = False
    done: bool = False
    recordings: list[Recording[Any]] = field(default_factory=list)
    error: BaseException | None = None


class GroupCommit:
    def __init__(self, events: EventStore[Any], *, window_seconds: float = 0.0, max_batch: int = 256) -> None:
        self.events = events
        self.window_seconds = window_seconds
        self.max_batch = max_batch
        self._guard = threading.Lock()
        self._queue: list[_Save] = []
        self._leading = False
        self.transactions = 0
        self.saves = 0
        self.split_batches = 0
        """Batches written again one by one after a collision (counters for tests and /metrics)."""

    def put(self, domain_events: Sequence[Any]) -> list[Recording[Any]]:
        """Store ``domain_events`` (one save, atomically) in the next transaction; its recordings once committed."""
        if not domain_events:
            return []
        save = _Save(domain_events, [self.events.mapper.to_stored_event(e) for e in domain_events])
        with self._guard:
            self._queue.append(save)
            if not self._leading:
                self._leading = save.lead = True
        while not save.done:
            if save.lead:
                self._lead(save)
            else:
                save.wake.acquire()
        if save.error is not None:
            raise save.error
        return save.recordings

    def _lead(self, own: _Save) -> None:
        """Write batches until ``own`` is stored, then hand the lead to the oldest waiting save, if any."""
        try:
            while not own.done:
                if self.window_seconds:
                    time.sleep(self.window_seconds)
                with self._guard:
                    batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
                self._write(batch)
        finally:  # even when interrupted (KeyboardInterrupt in a writer): the next save must not wait for ever
            with self._guard:
                own.lead = False
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.wake.release()
                else:
                    self._leading = False

    def _write(self, batch: list[_Save]) -> None:
        try:
            self._insert(batch)
        except IntegrityError as collision:
            if len(batch) == 1:
                self._finish(batch, collision)
                return
            self.split_batches += 1
            for save in batch:  # one by one: only the colliding save is refused
                try:
                    self._insert([save])
                except Exception as error:
                    self._finish([save], error)
        except BaseException as error:  # the server went away, ...: every caller of the batch is told
            self._finish(batch, error)
            if not isinstance(error, Exception):
                raise

    def _insert(self, batch: list[_Save]) -> None:
        stored = [s for save in batch for s in save.stored_events]
        notification_ids = self.events.recorder.insert_events(stored)
        self.transactions += 1
        self.saves += len(batch)
        if not notification_ids:  # a recorder without a notification log: no recordings, as the library does
            self._finish(batch, None)
            return
        ids = iter(notification_ids)
        for save in batch:
            save.recordings = [Recording(d, Notification(id=next(ids), originator_id=s.originator_id,
                                                         originator_version=s.originator_version, topic=s.topic,
                                                         state=s.state))
                               for d, s in zip(save.domain_events, save.stored_events, strict=True)]
        self._finish(batch, None)

    @staticmethod
    def _finish(batch: list[_Save], error: BaseException | None) -> None:
        for save in batch:
            if save.done:  # told already (a batch interrupted after its commit): its lock is released once only
                continue
            save.error = error
            save.done = True
            if not save.lead:  # the leader's own save: it never waits, and a hand-off may have released it already
                save.wake.release()
