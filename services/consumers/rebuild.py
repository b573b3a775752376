"""Rebuild a read model from the event store into fresh tables while the old ones keep serving, then switch.

1. ``begin_generation``: an empty generation in state *building*. Live consumers start applying new events to
   it too, whenever they fit on top of what it already has (per-case version gating makes that safe; a version
   that does not fit yet is parked there and applied when the replay reaches its predecessor).
2. Replay the event store (the source of truth, read through the same contract mapping as the relay) into it
   (a page per transaction, set-based, committed with ``synchronous_commit = off``: a rebuild is re-runnable),
   until a pass finds nothing new.
3. Switch: in one transaction the new generation serves and the old one is retired (kept for inspection).
4. One more pass: an event stored between the last pass and the switch, that a live consumer applied to the
   old generation only, is applied now (a duplicate anywhere else is ignored), as a live consumer would.

A rebuild never leaves a generation stuck in *building*: if a fact cannot be applied (or anything else stops the
replay), the new generation is marked *failed* with the reason, live consumers stop feeding it, the old one
keeps serving, and :class:`RebuildFailed` names the fact (case, version, notification id). Only one rebuild of a
read model runs at a time (a session advisory lock); a generation left *building* by a rebuild that was killed
is marked failed by the next one.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from contracts.events import EventEnvelopeV1
from services.casework.application import Casework
from services.consumers.quarantine import ProjectionFailed
from services.consumers.replay import published_events
from services.consumers.store import Generation, Outcome, ReadModelStore

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RebuildReport:
    generation: Generation
    events_read: int
    events_applied: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events_read / self.seconds if self.seconds else 0.0


class RebuildFailed(Exception):
    """The rebuild stopped; its generation is marked failed and the serving one is untouched."""

    def __init__(self, read_model: str, generation: int, reason: str) -> None:
        self.read_model, self.generation, self.reason = read_model, generation, reason
        super().__init__(f"rebuild of {read_model} failed; generation {generation} is marked failed and the "
                         f"serving generation is unchanged: {reason}")


class RebuildRunning(Exception):
    """Another rebuild of the same read model holds its lock."""


def replay_into(store: ReadModelStore, app: Casework, schema: str, *, after: int = 0,
                progress: Progress | None = None, page: int = 500) -> tuple[int, int, int]:
    """Apply every stored fact after notification ``after`` to ``schema``, a page per transaction;
    returns (position, read, applied). Raises :class:`ProjectionFailed` for a fact the projection cannot apply."""
    total = max(app.recorder.max_notification_id() or 0, after)
    read = applied = 0
    position = after
    batch: list[EventEnvelopeV1] = []
    for batch in _pages_read_ahead(app, after, page):
        applied += _apply_page(store, schema, batch)
        read, position = read + len(batch), batch[-1].notification_id
        if progress and len(batch) == page:
            progress(position, max(total, position))
    if progress and (len(batch) < page or read == 0):  # a full last page has already been reported
        progress(max(total, position), max(total, position))
    return position, read, applied


_END = object()


def _pages_read_ahead(app: Casework, after: int, page: int, ahead: int = 2) -> Iterator[list[EventEnvelopeV1]]:
    """The store's facts as contracts, a page at a time, read and mapped in a thread while the previous page is
    applied: decoding is this process's CPU, applying mostly the database's, so the two overlap."""
    pages: queue.Queue[Any] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def offer(item: Any) -> None:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                pages.put(item, timeout=0.2)
                return

    def read() -> None:
        try:
            batch: list[EventEnvelopeV1] = []
            for event in published_events(app, after=after):
                batch.append(event)
                if len(batch) == page:
                    offer(batch)
                    batch = []
            if batch:
                offer(batch)
            offer(_END)
        except BaseException as error:  # surfaced in the applying thread, in order
            offer(error)

    reader = threading.Thread(target=read, name="rebuild-read-ahead", daemon=True)
    reader.start()
    try:
        while (item := pages.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=5)


def _apply_page(store: ReadModelStore, schema: str, events: list[EventEnvelopeV1]) -> int:
    return sum(outcome is Outcome.APPLIED for outcome in store.apply_many_to(schema, events))


def _failure(error: BaseException) -> str:
    if isinstance(error, ProjectionFailed):
        event = error.event
        return (f"case {event.case_id} version {event.case_version} (notification {event.notification_id}, "
                f"{event.event_type}) cannot be applied: {error.reason}")
    return f"the replay stopped: {type(error).__name__}: {error}"


def rebuild(store: ReadModelStore, app: Casework, *, progress: Progress | None = None) -> RebuildReport:
    started = time.perf_counter()
    store.setup()
    with psycopg.connect(store.dsn, autocommit=True) as lock:
        held = lock.execute("SELECT pg_try_advisory_lock(hashtext(%s))",
                            (f"rebuild {store.base_schema} {store.projection.name}",)).fetchone()
        if not (held and held[0]):
            raise RebuildRunning(f"another rebuild of {store.projection.name} is running; wait for it to finish")
        generation = store.begin_generation()
        try:
            position, read, applied = replay_into(store, app, generation.schema, progress=progress)
            while True:  # catch up with what was stored during the replay
                position, more_read, more_applied = replay_into(store, app, generation.schema, after=position)
                read, applied = read + more_read, applied + more_applied
                if more_read == 0:
                    break
        except BaseException as error:
            reason = _failure(error)
            store.fail_generation(generation.number, reason)
            raise RebuildFailed(store.projection.name, generation.number, reason) from error
        store.switch_to(generation.number)
    for event in published_events(app, after=position):  # now serving: a fact that fails here is quarantined
        read += 1
        applied += store.apply_to(generation.schema, event).outcome is Outcome.APPLIED
    return RebuildReport(Generation(generation.number, generation.schema, "serving"), read, applied,
                         time.perf_counter() - started)
