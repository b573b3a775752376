"""The API's request metrics as a plain ASGI middleware, and its ``/metrics`` endpoint.

Why a hand-written middleware of twenty lines instead of a package (starlette-exporter,
prometheus-fastapi-instrumentator): both add their own metric names and defaults we would then document
around; ours names the route by its template (``/v1/cases/{case_id}``, never a case id: bounded cardinality,
no identifiers in labels) and is plain ASGI, so it costs no thread hop and no ``BaseHTTPMiddleware`` copy.
"""

from __future__ import annotations

import os
import time
from typing import Any

from opentelemetry import propagate, trace
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.observability.metrics import HTTP_DURATION, HTTP_REQUESTS
from services.observability.tracing import TRACER

UNMATCHED = "unmatched"
"""The route label of a request no route matched (a 404 for an unknown path): one label, not one per path."""


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            HTTP_DURATION.labels(method=method, route=route).observe(time.perf_counter() - started)


def exposition() -> bytes:
    """The registry in Prometheus' text format. Under several worker processes (prometheus-client's
    multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR`` set by the process manager) the workers' figures are summed."""
    registry: CollectorRegistry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # prometheus-client's own switch, read where it reads it
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


async def metrics_endpoint(_: Request) -> Response:
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


def install(api: Any) -> None:
    """Count every request (outermost but for the edge, so refused and rate-limited requests are counted too)
    and serve ``GET /metrics``."""
    api.add_middleware(RequestSpans)
    api.add_middleware(RequestMetrics)
    api.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)


class RequestSpans:
    """One server span per request, continuing a caller's ``traceparent`` (W3C); a no-op with tracing off.
    While it is current, a command's facts store its trace context (``Casework`` reads it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())
                   if k in (b"traceparent", b"tracestate")}
        parent = propagate.extract(carrier)
        with TRACER.start_as_current_span(f"HTTP {scope.get('method', 'GET')}", context=parent,
                                          kind=trace.SpanKind.SERVER) as span:
            await self.app(scope, receive, send)
            route = getattr(scope.get("route"), "path", None)
            if route:
                span.update_name(f"{scope.get('method', 'GET')} {route}")
