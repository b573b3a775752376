"""The per-case locks of ``services.casework.concurrency``: one holder per key at a time, other keys free, and no
lock left behind once nobody holds or waits for it; the backoff stays within its cap."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.casework import concurrency
from services.casework.concurrency import KeyedLocks


def test_one_holder_per_key_and_the_table_empties() -> None:
    locks, inside, most = KeyedLocks(), [0], [0]
    guard = threading.Lock()

    def hold(_: int) -> None:
        with locks.hold("case-1"):
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.002)
            with guard:
                inside[0] -= 1

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(hold, range(64)))
    assert most[0] == 1
    assert len(locks) == 0


def test_other_keys_are_not_blocked_and_a_holder_may_re_enter() -> None:
    locks, done = KeyedLocks(), threading.Event()

    def other_case() -> None:
        with locks.hold("case-2"):
            done.set()

    with locks.hold("case-1"), locks.hold("case-1"):  # re-entrant
        worker = threading.Thread(target=other_case)
        worker.start()
        assert done.wait(5)
        worker.join(5)
    assert len(locks) == 0


def test_backoff_is_jittered_within_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)  # the module calls time.sleep
    for attempt in range(1, 20):
        concurrency.backoff(attempt)
    assert all(0 <= s <= concurrency.BACKOFF_CAP_SECONDS for s in slept)
    assert len(set(slept)) > 1
