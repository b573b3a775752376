"""The replicas' pull (services.consumers.fetching): the first message as soon as it exists, then only what already
waits behind it; every timeout faststream sees is nats-py's own class (faststream 0.7.8 lets the builtin one kill
its consume task, with the fetched messages in it)."""

from __future__ import annotations

from typing import Any

import nats.errors
import pytest

from services.consumers.fetching import FirstThenWaiting, install


class Queue:
    """A pull subscription's ``fetch`` over a list of waiting messages; raises as nats-py does when none are there."""

    def __init__(self, waiting: list[str], *, builtin_timeout: bool = False) -> None:
        self.waiting, self.builtin = waiting, builtin_timeout
        self.calls: list[tuple[int, float | None]] = []

    async def __call__(self, batch: int = 1, timeout: float | None = 5, heartbeat: float | None = None) -> list[str]:
        self.calls.append((batch, timeout))
        if not self.waiting:
            raise TimeoutError if self.builtin else nats.errors.TimeoutError
        taken, self.waiting = self.waiting[:batch], self.waiting[batch:]
        return taken


async def test_a_backlog_comes_as_one_batch_of_the_first_and_what_waits_behind_it() -> None:
    queue = Queue([f"m{i}" for i in range(300)])
    fetch = FirstThenWaiting(queue, batch_size=200, linger=0.002)
    assert await fetch(200, 1.0) == [f"m{i}" for i in range(200)]
    assert queue.calls == [(1, 1.0), (199, 0.002)]


async def test_a_lone_message_returns_at_once_and_the_rest_of_the_batch_is_not_waited_for() -> None:
    queue = Queue(["m0"])
    fetch = FirstThenWaiting(queue, batch_size=200, linger=0.002)
    assert await fetch(200, 1.0) == ["m0"]
    with pytest.raises(nats.errors.TimeoutError):  # faststream asks for the other 199: the batch is complete
        await fetch(199, 0.5)


@pytest.mark.parametrize("builtin", [True, False])
async def test_a_quiet_stream_raises_only_nats_pys_timeout(builtin: bool) -> None:
    fetch = FirstThenWaiting(Queue([], builtin_timeout=builtin), batch_size=200, linger=0.002)
    with pytest.raises(nats.errors.TimeoutError):
        await fetch(200, 1.0)


def test_installing_wraps_a_started_subscription_once_and_skips_the_test_broker() -> None:
    class Subscriber:
        subscription: Any = None

    subscriber = Subscriber()
    assert not install(subscriber, 200, 0.002)  # faststream's in-memory test broker has no pull subscription
    subscriber.subscription = type("Sub", (), {"fetch": Queue([])})()
    assert install(subscriber, 200, 0.002)
    assert isinstance(subscriber.subscription.fetch, FirstThenWaiting)
    assert not install(subscriber, 200, 0.002)
