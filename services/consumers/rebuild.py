"""Rebuild a read model from the event store into fresh tables while the old ones keep serving, then switch.

1. ``begin_generation``: an empty generation in state *building*. Live consumers start applying new events to
   it too, whenever they fit on top of what it already has (per-case version gating makes that safe).
2. Replay the event store (the source of truth, read through the same contract mapping as the relay) into it,
   until a pass finds nothing new.
3. Switch: in one transaction the new generation serves and the old one is retired (kept for inspection).
4. One more pass: an event stored between the last pass and the switch, that a live consumer applied to the
   old generation only, is applied now (a duplicate anywhere else is ignored).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from contracts.events import EventEnvelopeV1
from services.casework.application import Casework
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


def terminal_progress(done: int, total: int) -> None:
    """A one-line progress bar on stderr, redrawn in place."""
    width = 40
    filled = width * done // total if total else width
    sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} events")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def replay_into(store: ReadModelStore, app: Casework, schema: str, *, after: int = 0,
                progress: Progress | None = None, page: int = 500) -> tuple[int, int, int]:
    """Apply every stored fact after notification ``after`` to ``schema``, a page per transaction;
    returns (position, read, applied)."""
    total = max(app.recorder.max_notification_id() or 0, after)
    read = applied = 0
    position = after
    batch: list[EventEnvelopeV1] = []
    for event in published_events(app, after=after):
        batch.append(event)
        if len(batch) == page:
            applied += _apply_page(store, schema, batch)
            read, position = read + len(batch), batch[-1].notification_id
            batch = []
            if progress:
                progress(position, max(total, position))
    if batch:
        applied += _apply_page(store, schema, batch)
        read, position = read + len(batch), batch[-1].notification_id
    if progress and (batch or read == 0):  # a full last page has already been reported
        progress(max(total, position), max(total, position))
    return position, read, applied


def _apply_page(store: ReadModelStore, schema: str, events: list[EventEnvelopeV1]) -> int:
    return sum(outcome is Outcome.APPLIED for outcome in store.apply_many_to(schema, events))


def rebuild(store: ReadModelStore, app: Casework, *, progress: Progress | None = None) -> RebuildReport:
    started = time.perf_counter()
    store.setup()
    generation = store.begin_generation()
    position, read, applied = replay_into(store, app, generation.schema, progress=progress)
    while True:  # catch up with what was stored during the replay
        position, more_read, more_applied = replay_into(store, app, generation.schema, after=position)
        read, applied = read + more_read, applied + more_applied
        if more_read == 0:
            break
    store.switch_to(generation.number)
    _, last_read, last_applied = replay_into(store, app, generation.schema, after=position)
    return RebuildReport(Generation(generation.number, generation.schema, "serving"), read + last_read,
                         applied + last_applied, time.perf_counter() - started)
