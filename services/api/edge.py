"""The API's edge, as one ASGI middleware in front of everything: a per-caller rate limit (429 + Retry-After),
a body limit enforced before the body is parsed (413, also for chunked bodies), and the headers every response
of personal data needs (``Cache-Control: no-store``, ``X-Content-Type-Options: nosniff``; simplest and safest on
every response).

The rate limit is the ``limits`` library's moving window, in memory per API process (a deployment running N
replicas behind a balancer allows up to N times the rate; put a shared ``limits`` storage such as Redis behind it
if that matters). The caller is the bearer token as sent (hashed), else the client's address: keying on an
unverified ``sub`` would let anyone exhaust another person's allowance with a forged token. A token the API then
refuses (401) also counts against the client's address, and an address at its limit of refused tokens is answered
429 for any token the API has not accepted lately: otherwise each invented token string was a fresh allowance, for
guessing as for load; a token that works keeps working from behind the same address (deploy/ sets uvicorn's
``FORWARDED_ALLOW_IPS`` so that the address is the caller's, not the ingress's).

``HEAD`` is answered as ``GET`` without its body (RFC 9110 §9.3.2: a server supports HEAD wherever it supports GET;
FastAPI's routes name GET only, so uptime probes and caches got 405).

Hand-written rather than a library middleware because the body limit has to hold for chunked bodies too:
the body is read here up to the limit and handed on to the application only if it fits.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
PROBLEM_JSON = b"application/problem+json"
SECURITY_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))
UNLIMITED_PATHS = frozenset({"/health", "/ready", "/metrics"})
KNOWN_GOOD_TOKENS = 50_000


SINGLE_VALUED = (b"authorization", b"x-purpose", b"if-match", b"occurred-at", b"idempotency-key",
                 b"x-correlation-id", b"x-recipient", b"content-type", b"content-length")
"""Headers a request may send once: the API reads each as one value, and a repeated one was answered by whichever
copy the framework took (a black-box probe sent ``X-Purpose: casework`` and ``X-Purpose: own_case``)."""


async def _problem(send: Send, status: int, kind: str, title: str, detail: str,
                   headers: tuple[tuple[bytes, bytes], ...] = (), **extensions: Any) -> None:
    body = json.dumps({"type": f"urn:prosperity:problem:{kind}", "title": title, "status": status,
                       "detail": detail, **extensions}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON), (b"content-length", str(len(body)).encode()),
                            *SECURITY_HEADERS, *headers]})
    await send({"type": "http.response.body", "body": body})


def _without_body(send: Send) -> Send:
    """``send`` for a HEAD: the GET's status and headers (its Content-Length too), no body."""
    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {**message, "body": b""}
        await send(message)

    return send_head


class Edge:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, rate_limit: str) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes
        self.rate = parse(rate_limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self._good: OrderedDict[str, None] = OrderedDict()
        """Caller keys of tokens the API accepted lately (bounded, oldest dropped first)."""

    def _caller(self, scope: Scope) -> str:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                return "token:" + hashlib.sha256(value).hexdigest()
        return self._address(scope)

    @staticmethod
    def _address(scope: Scope) -> str:
        client = scope.get("client") or ("unknown", 0)
        return f"address:{client[0]}"

    def _known_good(self, caller: str) -> None:
        self._good[caller] = None
        self._good.move_to_end(caller)
        if len(self._good) > KNOWN_GOOD_TOKENS:
            self._good.popitem(last=False)

    def _over(self, key: str) -> int | None:
        """Counts a request against ``key``; the seconds to wait when it is over the limit, else None."""
        return None if self.limiter.hit(self.rate, key) else self._retry_after(key)

    def _waiting(self, key: str) -> int | None:
        """The seconds to wait when ``key`` is at its limit (nothing counted), else None."""
        return None if self.limiter.test(self.rate, key) else self._retry_after(key)

    def _retry_after(self, key: str) -> int:
        return max(1, math.ceil(self.limiter.get_window_stats(self.rate, key).reset_time - time.time()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("method") == "HEAD":
            # A copy: the server's own scope still says HEAD, so it sends no body either.
            scope, send = {**scope, "method": "GET"}, _without_body(send)

        refused_tokens, caller = "refused-tokens:" + self._address(scope), self._caller(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
                if message.get("status") == 401:
                    self.limiter.hit(self.rate, refused_tokens)
                elif caller.startswith("token:"):
                    self._known_good(caller)
            await send(message)

        if scope.get("path") not in UNLIMITED_PATHS:
            # An address over its refused tokens waits, except with a token the API has accepted before: whoever
            # floods invented tokens from behind a shared address (a NAT, an ingress) cannot lock others out.
            gated = caller.startswith("token:") and caller not in self._good
            retry = (self._waiting(refused_tokens) if gated else None) or self._over(caller)
            if retry is not None:
                await _problem(send, 429, "rate-limited", "Too many requests",
                               f"This caller may send {self.rate}; retry after {retry} s.",
                               ((b"retry-after", str(retry).encode()),))
                return
        if repeated := _repeated_header(scope):
            rule = "sent more than once; send it once"
            await _problem(send, 422, "invalid-request", "The request is malformed", f"{repeated}: {rule}",
                           errors=[{"field": repeated, "rule": rule}])
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(send)
            return
        body = await self._read_body(receive)
        if body is None:
            await self._too_large(send)
            return
        if body and _needs_json(scope):
            await _problem(send, 415, "unsupported-media-type", "The body must be JSON",
                           "Send the body as JSON with 'Content-Type: application/json'.")
            return
        await self.app(scope, _replay(body, receive), send_with_headers)

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body if it fits the limit, else None (the rest is not read)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, send: Send) -> None:
        await _problem(send, 413, "body-too-large", "The request body is too large",
                       f"The API accepts bodies of at most {self.max_body_bytes} bytes.")


def _repeated_header(scope: Scope) -> str | None:
    """The name of a single-valued header the request sends more than once, as the API documents it."""
    seen: set[bytes] = set()
    for name, _ in scope.get("headers", ()):  # ASGI gives header names in lower case
        if name in SINGLE_VALUED:
            if name in seen:
                return "-".join(part.capitalize() for part in name.decode().split("-"))
            seen.add(name)
    return None


def _needs_json(scope: Scope) -> bool:
    """A body sent to the JSON API (``/v1/``) without a JSON content type: FastAPI would read it as no object at all
    and answer "body: Input should be a valid dictionary", which names the wrong problem."""
    if scope.get("method") not in ("POST", "PUT", "PATCH") or not str(scope.get("path", "")).startswith("/v1/"):
        return False
    declared = dict(scope.get("headers", ())).get(b"content-type", b"").split(b";")[0].strip().lower()
    return not (declared == b"application/json" or declared.endswith(b"+json"))


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
