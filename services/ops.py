"""The ops port of every non-API process: ``/health`` (liveness), ``/ready`` (readiness), ``/metrics``.

The contract (deploy/, docs/operations.md): each process serves these on ``PROSPERITY_OPS_PORT`` (relay 9101,
consume-dashboard 9102, audit 9103, notifications 9104, notifier 9105, clock 9106 on one machine; 9100 in
Kubernetes, where every pod has its own address). The API serves the same paths on its own port.

* ``/health`` answers 200 while the process's own work loop responds (an event loop that runs a no-op within a
  few seconds, worker threads alive); 503 otherwise, so Kubernetes restarts a wedged process.
* ``/ready`` runs the process's real checks (the relay: NATS connected and leader or standby, with its lag; a
  consumer: NATS and PostgreSQL connected, its durable's pending count; the notifier: PostgreSQL) and answers
  200 or 503 with the same JSON body naming each check.
* ``/metrics`` is prometheus-client's default registry (process and platform collectors; the services'
  own metrics register there too, ``services.metrics`` in a later issue).

Why a thread with its own event loop: the notifier is threaded and the relay and consumers run their own loops;
a server beside them answers even while their loop is busy, and its liveness check then asks *their* loop.
Starlette and uvicorn are already the API's; the socket is bound before the thread starts, so a taken port is
an error at start-up, not a silent thread death.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = structlog.get_logger("ops")

DEFAULT_PORTS: Mapping[str, int] = {
    "relay": 9101, "consume-dashboard": 9102, "consume-audit": 9103, "consume-notifications": 9104,
    "notifier": 9105, "clock": 9106,
}
"""One port per process on one machine (``prosperity up``, compose); Kubernetes sets 9100 for every pod."""
KUBERNETES_PORT = 9100
PATHS = ("/health", "/ready", "/metrics")
CHECK_TIMEOUT_SECONDS = 3.0


class OpsSettings(BaseSettings):
    """Where the ops endpoints listen (``PROSPERITY_OPS_HOST``, ``PROSPERITY_OPS_PORT``)."""

    model_config = SettingsConfigDict(env_prefix="PROSPERITY_", extra="ignore")

    ops_host: str = "127.0.0.1"
    """``0.0.0.0`` in a container, so the kubelet's probes and Prometheus reach it."""
    ops_port: int | None = Field(default=None, ge=0, le=65535)
    """Unset: the process's default (:data:`DEFAULT_PORTS`), or a free port when a replica on the same machine
    holds it; 0: any free port."""

    def port_for(self, process: str) -> int:
        # a process without a default (a read model added by a deployment's own projection): any free port
        return self.ops_port if self.ops_port is not None else DEFAULT_PORTS.get(process, 0)


@dataclass(frozen=True)
class Check:
    """One check's answer: ``ok`` and what it saw (counts, states; never personal data)."""

    ok: bool
    detail: Mapping[str, Any] = field(default_factory=dict)


Probe = Callable[[], Check]
"""A check run in the ops thread; it must return within :data:`CHECK_TIMEOUT_SECONDS` (or raise)."""


def _run(checks: Mapping[str, Probe]) -> tuple[bool, dict[str, Any]]:
    body: dict[str, Any] = {}
    for name, probe in checks.items():
        try:
            answer = probe()
        except Exception as error:  # a check that fails to answer is a failed check, named with the error's type
            answer = Check(False, {"error": type(error).__name__})
        body[name] = {"ok": answer.ok, **answer.detail}
    return all(item["ok"] for item in body.values()), body


def ops_app(process: str, *, live: Mapping[str, Probe], ready: Mapping[str, Probe]) -> Starlette:
    """The three endpoints over these checks (Starlette: the API's own framework)."""

    def answer(checks: Mapping[str, Probe], what: str) -> JSONResponse:
        ok, body = _run(checks)
        if not ok:
            log.warning(f"ops.not_{what}", process=process, failed=[name for name, c in body.items() if not c["ok"]])
        return JSONResponse({"status": "ok" if ok else "failing", "process": process, "checks": body},
                            status_code=200 if ok else 503)

    async def health(request: Request) -> JSONResponse:
        return await asyncio.to_thread(answer, live, "live")

    async def readiness(request: Request) -> JSONResponse:
        return await asyncio.to_thread(answer, ready, "ready")

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/health", health), Route("/ready", readiness), Route("/metrics", metrics)])


class _QuietServer(uvicorn.Server):
    """uvicorn in a thread: the process's own signal handlers stay in charge (uvicorn installs none off the main
    thread, and this says so explicitly)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class OpsServer:
    """The endpoints of one process, serving in a daemon thread until :meth:`stop`."""

    process: str
    port: int
    _server: _QuietServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self._server.config.host}:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


def _bind(process: str, settings: OpsSettings) -> socket.socket:
    """The configured port, or the process's default. A default already taken (a second replica on the same
    machine: tests, ``compose --scale``) falls back to a free port, logged; a port set explicitly must be free."""
    family = socket.AF_INET6 if ":" in settings.ops_host else socket.AF_INET
    for port in (settings.port_for(process), 0):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((settings.ops_host, port))
        except OSError as error:
            sock.close()
            if settings.ops_port is not None or port == 0 or error.errno != errno.EADDRINUSE:
                raise OSError(error.errno, f"the ops port {settings.ops_host}:{port} of {process} is not "
                                           f"available ({error.strerror}); set PROSPERITY_OPS_PORT") from error
            log.warning("ops.default_port_taken", process=process, port=port, using="a free port")
            continue
        sock.listen(64)
        return sock
    raise AssertionError("unreachable: port 0 always binds or raises")


def start(process: str, settings: OpsSettings, *, ready: Mapping[str, Probe],
          live: Mapping[str, Probe] | None = None) -> OpsServer:
    """Bind the ops port now (an explicitly set port that is taken raises ``OSError`` here) and serve in a
    thread."""
    sock = _bind(process, settings)
    port = sock.getsockname()[1]
    config = uvicorn.Config(ops_app(process, live=live or {}, ready=ready), host=settings.ops_host, port=port,
                            log_config=None, access_log=False, lifespan="off")
    server = _QuietServer(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), name=f"ops-{process}",
                              daemon=True)
    thread.start()
    log.info("ops.serving", process=process, host=settings.ops_host, port=port, paths=list(PATHS))
    return OpsServer(process, port, server, thread)


@contextmanager
def serving(process: str, settings: OpsSettings, *, ready: Mapping[str, Probe],
            live: Mapping[str, Probe] | None = None) -> Iterator[OpsServer]:
    server = start(process, settings, ready=ready, live=live)
    try:
        yield server
    finally:
        server.stop()


# ---- checks shared by the processes --------------------------------------------------------------------------
def loop_responds(loop: Callable[[], asyncio.AbstractEventLoop | None]) -> Probe:
    """Liveness of an asyncio process: its loop runs a no-op within the timeout (a loop not started yet counts
    as alive: the process is still starting)."""

    async def noop() -> None:
        return None

    def probe() -> Check:
        running = loop()
        if running is None:
            return Check(True, {"loop": "starting"})
        if running.is_closed():
            return Check(False, {"loop": "closed"})
        asyncio.run_coroutine_threadsafe(noop(), running).result(CHECK_TIMEOUT_SECONDS)
        return Check(True, {"loop": "responds"})

    return probe


def on_loop(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` on the process's own loop (where its NATS client lives) and wait for its answer."""
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(CHECK_TIMEOUT_SECONDS)


def threads_alive(threads: Callable[[], list[threading.Thread]]) -> Probe:
    """Liveness of a threaded process: every worker thread it started still runs."""

    def probe() -> Check:
        running = threads()
        dead = [thread.name for thread in running if not thread.is_alive()]
        return Check(not dead, {"threads": len(running), "dead": dead})

    return probe


def postgres_answers(dsn: str) -> Probe:
    """PostgreSQL answers ``SELECT 1`` within the timeout, on a connection of its own (never the process's pool,
    which a busy process may have exhausted: the check would then report load as an outage)."""
    import psycopg

    def probe() -> Check:
        with psycopg.connect(dsn, connect_timeout=int(CHECK_TIMEOUT_SECONDS)) as conn:
            conn.execute("SELECT 1")
        return Check(True)

    return probe
