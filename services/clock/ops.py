"""The clock's ops port (``PROSPERITY_OPS_PORT``, 9106 by default): ``/health``, ``/ready``, ``/metrics``.

The contract is issue 15's (every non-API process serves these three on its ops port). This branch predates the
shared ``services/ops.py`` of that issue, so the clock serves them with the standard library's HTTP server, on
its own thread: ``/health`` is 200 while the clock's loop has passed within three intervals, ``/ready`` while
PostgreSQL answers, ``/metrics`` the clock's counters in the Prometheus text format (hand-written: no metrics
library is a dependency here yet). Once ``services/ops.py`` is merged, :func:`serving` is its
``serving("clock", ..., ready=..., live=...)`` with the same checks.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Probe = Callable[[], tuple[bool, dict[str, Any]]]
DEFAULT_PORT = 9106


def _answer(checks: Mapping[str, Probe]) -> tuple[int, bytes]:
    body: dict[str, Any] = {}
    healthy = True
    for name, probe in checks.items():
        try:
            ok, detail = probe()
        except Exception as error:  # a failing check is an unready answer, not a crash
            ok, detail = False, {"error": type(error).__name__}
        body[name] = {"ok": ok, **detail}
        healthy = healthy and ok
    return (200 if healthy else 503), json.dumps({"ok": healthy, "checks": body}).encode()


@contextmanager
def serving(host: str, port: int, *, live: Mapping[str, Probe], ready: Mapping[str, Probe],
            metrics: Callable[[], str]) -> Iterator[ThreadingHTTPServer]:
    """Serve the three paths on ``host:port`` (0: any free port) while the block runs."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the standard library's name
            if self.path == "/metrics":
                status, body, kind = 200, metrics().encode(), "text/plain; version=0.0.4"
            elif self.path in ("/health", "/ready"):
                status, body = _answer(live if self.path == "/health" else ready)
                kind = "application/json"
            else:
                status, body, kind = 404, b"{}", "application/json"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the probes poll often
            return

    server = ThreadingHTTPServer((host, port), Handler)  # bound now: a taken port fails at start-up
    thread = threading.Thread(target=server.serve_forever, name="clock-ops", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
