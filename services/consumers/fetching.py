"""How a replica pulls: the first message as soon as it exists, then whatever is already waiting behind it.

Why this wraps the pull subscription's ``fetch`` (nats-py) under faststream's batch subscriber rather than using
faststream's loop as it is (faststream 0.7.8, nats-py 2.16):

* faststream keeps fetching until the batch is full or its timeout has passed, so on a quiet stream every message
  waits for the whole timeout: a short timeout is then the only way to bound latency, and
* with a short timeout nats-py's ``fetch`` raises the *builtin* ``TimeoutError`` when its deadline has passed before
  its second request, which faststream does not catch (it catches ``nats.errors.TimeoutError``): its consume task
  dies with the messages it had already fetched, which then wait out the consumer's ``ack_wait`` (30 s).

The wrapped ``fetch`` waits up to faststream's timeout for the first message, takes what is already there behind
it (up to the batch, waiting at most ``linger`` more), and tells faststream's loop the batch is complete by a
``nats.errors.TimeoutError`` when it asks for the rest. Every timeout it raises is nats-py's own class.
"""

from __future__ import annotations

from typing import Any

import nats.errors


class FirstThenWaiting:
    """A replacement ``fetch`` for one nats-py ``PullSubscription``."""

    def __init__(self, fetch: Any, batch_size: int, linger: float) -> None:
        self._fetch, self._batch, self._linger = fetch, batch_size, linger

    async def __call__(self, batch: int = 1, timeout: float | None = 5, heartbeat: float | None = None) -> list[Any]:
        if batch < self._batch:  # faststream asking for the rest of a batch this fetch already returned
            raise nats.errors.TimeoutError
        try:
            first = await self._fetch(1, timeout, heartbeat)
        except TimeoutError as error:  # nats-py's or the builtin one
            raise nats.errors.TimeoutError from error
        if len(first) >= batch or batch == 1:
            return list(first)
        try:
            more = await self._fetch(batch - len(first), self._linger)
        except TimeoutError:
            more = []
        return [*first, *more]


def install(subscriber: Any, batch_size: int, linger: float) -> bool:
    """Wrap the started subscriber's pull subscription (once); False when it has none (faststream's test broker)."""
    subscription = getattr(subscriber, "subscription", None)
    fetch = getattr(subscription, "fetch", None)
    if subscription is None or fetch is None or isinstance(fetch, FirstThenWaiting):
        return False
    subscription.fetch = FirstThenWaiting(fetch, batch_size, linger)
    return True
