"""Serving the HTTP API: one uvicorn process or several worker processes (uvloop, httptools; each on its own
``SO_REUSEPORT`` socket, ``services.api.workers``), each built by :func:`build`.

Why a factory: a worker process cannot inherit a ``Casework`` (its connection pools, its aggregate cache, its
group commit) from the parent, so each worker builds its own from the environment: one ``Casework`` and one set
of pools per process, closed when the worker stops. The parent only resolves the store (starting the embedded
PostgreSQL when no DSN is configured, and handing its DSN to the workers) and creates the schema once.

Several workers stay correct because every guarantee is in PostgreSQL: optimistic concurrency between the
workers' writes (retried with jittered backoff, ``services.casework.concurrency``), the idempotency keys' advisory
locks, the table lock that keeps notification ids in commit order. The per-caller rate limit
(``services.api.edge``) is counted per process: with N workers a caller may send up to N times the limit.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from services.api.app import create_app
from services.api.settings import ApiSettings
from services.api.workers import supervise
from services.casework.application import Casework
from services.infra.memory import freeze_startup_objects
from services.infra.postgres_env import ensure_schema, eventsourcing_env
from services.log import configure_logging
from services.settings import StoreSettings, store_dsn


def build() -> FastAPI:
    """uvicorn's app factory (``factory=True``), called once in each worker process."""
    settings = StoreSettings()
    configure_logging(settings.log_format, logging.getLevelNamesMapping()[settings.log_level.upper()])
    if not settings.pg_dsn:
        raise RuntimeError("PROSPERITY_PG_DSN must be set for an API worker (serve() sets it)")
    env = eventsourcing_env(settings.pg_dsn, settings.pg_schema)
    env["POSTGRES_POOL_SIZE"] = str(settings.pg_pool_size)
    casework = Casework(env=env)
    api = create_app(casework, ApiSettings())
    inner = api.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        # FastAPI runs sync endpoints on anyio's thread pool (40 threads by default). Commands mostly wait on
        # PostgreSQL and on their case's lock; more threads than connections only add GIL hand-offs to the loop.
        threads = int(os.environ.get("PROSPERITY_API_THREADS") or 0)
        if threads:
            anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        try:
            async with inner(app) as state:
                yield state
        finally:
            casework.close()

    api.router.lifespan_context = lifespan
    freeze_startup_objects()
    return api


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(settings: StoreSettings, api_settings: ApiSettings, *, host: str | None, port: int | None,
          workers: int | None) -> int:
    """Serve until stopped: one process, or ``workers`` processes on their own sockets (``services.api.workers``)."""
    import uvicorn

    from services.infra.embedded import port_answers

    where = (host or api_settings.host, port or api_settings.port)
    if port_answers(*where):  # before any server starts; uvicorn would log it, then exit 3
        print(f"prosperity api: cannot listen on {where[0]}:{where[1]}: it is already in use", file=sys.stderr)
        return 2
    # uvicorn shuts down on SIGTERM, restores the handler it found, then raises the signal again: with the default
    # handler the process died there, and the embedded PostgreSQL it started kept running (black-box probe). As an
    # exception it unwinds ``store_dsn``, which stops that server; SIGINT already did (KeyboardInterrupt).
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    with store_dsn(settings) as dsn:
        if settings.pg_schema:
            ensure_schema(dsn, settings.pg_schema)
        os.environ["PROSPERITY_PG_DSN"] = dsn  # the workers' StoreSettings (the embedded server's, if started)
        count = workers or api_settings.workers
        if count > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # prometheus-client's multiprocess mode, switched on the only way it offers (an environment variable
            # the workers inherit): each worker writes its figures to this directory and /metrics sums them.
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prosperity-api-metrics-")
        host, port = host or api_settings.host, port or api_settings.port
        if count > 1:
            return supervise(count, host, port)
        uvicorn.run("services.api.serve:build", factory=True, host=host, port=port, loop="uvloop", http="httptools",
                    log_config=None, access_log=False)  # services.api.request_log writes the line, templated
        return 0
