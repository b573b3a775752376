"""The correlation id and the request log line, as one plain ASGI middleware.

Why plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` runs the rest of the
application in a task group of its own and streams the response through a memory channel; on this 2-core machine
that was a tenth of the API's CPU per command (py-spy, issue 14), for a header and a log line.

``X-Correlation-Id``: a caller's id (a UUID or a short opaque token, PRIV-1) is kept, anything else is a 422 naming
the header; without one a UUID is made. It is bound to the structlog context for the request's log lines, stored in
``request.state.correlation_id`` (the commands put it in their facts' context) and sent back on the response.

One line per request, ``api.request``: method, route template (never a path with a case id in it), status,
duration, the caller's role and, for a command, what it recorded (the router puts ``command``, ``case_id`` and
``version`` in ``request.state.logged``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts import refs
from domain.errors import InvalidValue
from services.api.deps import CORRELATION_HEADER
from services.api.problems import internal_error_problem, invalid_value_problem

log = structlog.get_logger()
_HEADER = CORRELATION_HEADER.lower().encode("latin-1")


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = str(uuid.uuid4())
        given = next((value for name, value in scope.get("headers", ()) if name == _HEADER), None)
        if given is not None:
            try:
                correlation_id = refs.correlation_id(given.decode("latin-1"))
            except InvalidValue as refused:
                log.info("api.request.refused", method=scope.get("method"), field=refused.field)
                refusal = invalid_value_problem(refused.field, refused.rule)
                refusal.headers[CORRELATION_HEADER] = correlation_id
                await refusal(scope, receive, send)
                return
        state: dict[str, Any] = scope.setdefault("state", {})
        state["correlation_id"] = correlation_id
        header = (_HEADER, correlation_id.encode("latin-1"))
        status, started_at, response_started = 500, time.perf_counter(), False

        async def send_with_correlation(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
            try:
                await self.app(scope, receive, send_with_correlation)
            except Exception:
                log.exception("api.request.failed", method=scope.get("method"), route=_route(scope))
                if response_started:
                    raise
                await internal_error_problem()(scope, receive, send_with_correlation)
            actor = state.get("actor")
            log.info("api.request", method=scope.get("method"), route=_route(scope), status=status,
                     duration_ms=round((time.perf_counter() - started_at) * 1000, 1),
                     role=actor.role.value if actor is not None else None, **state.get("logged", {}))


def _route(scope: Scope) -> str:
    """The matched route's template (``/v1/cases/{case_id}/services``), else "(no route)": a path no route matched
    is whatever the caller typed, a national ID in it included (PRIV-1 keeps those out of logs)."""
    template = getattr(scope.get("route"), "path", None)
    return str(template) if template else "(no route)"
