"""How concurrent commands on one aggregate are ordered: serialised inside a process, retried across processes.

Why: eventsourcing's optimistic concurrency (a unique (originator_id, version) per stored event) is the only
guard between writers. Inside one process it is also the most expensive one: 50 commands on one case that all
commute (50 invitations of 50 people) load the same version, 49 lose the race, reload, lose again, and after a few
attempts most give up with a 409. Taking a per-case lock in-process for load → decide → save removes those
losses: each command is decided on the version the previous one saved (the aggregate cache fast-forwards to it
in one query). Writers in *other* processes can still interleave; their collisions are retried after a jittered,
exponentially growing pause (full jitter, so colliding writers spread out instead of colliding again).

The locks are counted per id and dropped when nobody holds or waits for them, so the table stays as small as
the number of cases being written at the moment (a ``WeakValueDictionary`` cannot hold ``threading.Lock``).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager

BACKOFF_BASE_SECONDS = 0.002
BACKOFF_CAP_SECONDS = 0.1


class KeyedLocks:
    """One re-entrant lock per key, alive only while someone uses it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, tuple[threading.RLock, int]] = {}

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (None, 0))
            if lock is None:
                lock = threading.RLock()
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                _, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


def backoff(attempt: int, *, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS) -> None:
    """Sleep before retry ``attempt`` (1, 2, ...) after losing a race to another process: full jitter in
    [0, min(cap, base * 2**attempt)] (AWS architecture blog, "Exponential Backoff And Jitter")."""
    time.sleep(random.uniform(0, min(cap, base * 2 ** attempt)))
