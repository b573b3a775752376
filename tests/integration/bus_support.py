"""Helpers for the bus's security tests: connections that record what the server refused, and refusals that
must be observed as the server's own permission errors (nats-py reports them only to ``error_cb``; the
request itself then times out, tech note §5)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import nats.errors

from services.bus.plan import AGENCY_JS_API_PREFIX
from services.infra.nats_env import JsTarget

REFUSED_REQUEST = (nats.errors.TimeoutError, nats.errors.NoRespondersError, asyncio.TimeoutError)
QUICK = 0.5
"""Seconds a refused request waits for its (never coming) answer: the refusal itself arrives at once."""


@dataclass
class Client:
    """A connection as one identity, with every asynchronous error the server sent it."""

    nc: Any
    errors: list[str] = field(default_factory=list)

    def js(self, *, agency: bool = False) -> Any:
        """A JetStream context; an agency reaches prosperity's under its account's API prefix."""
        return self.nc.jetstream(timeout=QUICK, **({"prefix": AGENCY_JS_API_PREFIX} if agency else {}))

    async def violation(self, subject: str, timeout: float = 2.0) -> str:
        """The server's permission error naming ``subject`` (nats-py lower-cases the text)."""
        wanted = f'"{subject.lower()}'
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for error in self.errors:
                if "permissions violation" in error and wanted in error:
                    return error
            await asyncio.sleep(0.02)
        raise AssertionError(f"no permission error for {subject!r}; errors seen: {self.errors}")

    async def refused_request(self, request: Callable[[], Awaitable[Any]], subject: str) -> str:
        """``request`` must fail (no answer), and the server must say it refused ``subject``."""
        try:
            answer = await request()
        except REFUSED_REQUEST:
            return await self.violation(subject)
        raise AssertionError(f"{subject!r} was allowed: {answer!r}")

    async def refused_subscription(self, subject: str, probe: Callable[[], Awaitable[None]]) -> str:
        """Subscribing to ``subject`` must be refused, and nothing ``probe`` publishes may arrive."""
        received: list[str] = []

        async def collect(msg: Any) -> None:
            received.append(msg.subject)

        await self.nc.subscribe(subject, cb=collect)
        await self.nc.flush()
        error = await self.violation(subject)
        await probe()
        await asyncio.sleep(0.2)
        assert received == [], f"a refused subscription to {subject!r} received {received}"
        return error

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.nc.close()


async def client(target: JsTarget, identity: str) -> Client:
    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error))

    nc = await target.connect(identity, error_cb=on_error, max_reconnect_attempts=0, allow_reconnect=False)
    return Client(nc, errors)


async def fetch_all(js: Any, durable: str, stream: str, *, expected: int | None = None,
                    timeout: float = 5.0) -> list[Any]:
    """Every message the durable delivers (acknowledged), until ``expected`` arrived or it runs dry."""
    subscription = await js.pull_subscribe_bind(durable, stream)
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (expected is None or len(messages) < expected):
        try:
            batch = await subscription.fetch(50, timeout=1)
        except (TimeoutError, nats.errors.TimeoutError):
            if expected is None:
                break
            continue
        for message in batch:
            await message.ack()
        messages += batch
    return messages
