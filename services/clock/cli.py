"""``prosperity clock``: run the law's clock until SIGTERM/SIGINT (or one pass with ``--once``).

Settings (``PROSPERITY_CLOCK_*``): ``interval_seconds`` between passes (default 60), ``name`` of the replica in its
logs; the store is ``PROSPERITY_PG_DSN``/``PROSPERITY_PG_SCHEMA`` as for every process, and the due-index lives
in the store's schema. Any number of replicas may run (deploy/k8s runs two): the facts are the case's, each once.
"""

from __future__ import annotations

import argparse
import signal
import socket
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import psycopg
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from pydantic_settings import BaseSettings, SettingsConfigDict

from services import ops
from services.casework.application import Casework
from services.clock.index import DueIndex
from services.clock.service import ClockService
from services.infra.postgres_env import ensure_schema, eventsourcing_env
from services.observability import metrics
from services.settings import StoreSettings, store_dsn


class ClockSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROSPERITY_CLOCK_", extra="ignore")

    interval_seconds: float = 60.0
    """Between passes. The facts are daily; a minute keeps a new day's facts within a minute of midnight UTC."""
    name: str = socket.gethostname()


def add_parsers(sub: Any) -> None:
    parser = sub.add_parser("clock", help="record majority and deadline facts as their days come (the law's clock)")
    parser.add_argument("--once", action="store_true",
                        help="one pass (follow the store, record what is due), then exit")
    parser.set_defaults(func=run)


class ClockCollector(Collector):
    """The clock's own figures, read from its stats at scrape time (services.observability.metrics' pattern);
    the deadline facts by rule and kind are ``prosperity_deadline_facts_total``, counted where they are recorded."""

    def __init__(self, service: ClockService) -> None:
        self.service = service

    def collect(self) -> Iterable[Any]:
        s = self.service.stats
        yield CounterMetricFamily("prosperity_clock_passes", "Passes over the due-index.", value=s.passes)
        yield CounterMetricFamily("prosperity_clock_already_recorded", "Cases another replica had brought up to "
                                  "date first (each fact is recorded once).", value=s.already_recorded)
        yield CounterMetricFamily("prosperity_clock_failures", "Cases the clock could not work on (postponed).",
                                  value=s.failures)


def _probes(service: ClockService, dsn: str, interval: float) -> tuple[dict[str, ops.Probe], dict[str, ops.Probe]]:
    def loop() -> ops.Check:
        last = service.stats.last_pass_at
        fresh = last is None or datetime.now(UTC) - last < timedelta(seconds=3 * interval + 30)
        return ops.Check(fresh, {"passes": service.stats.passes})

    def postgres() -> ops.Check:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return ops.Check(True, {})

    return {"loop": loop}, {"postgres": postgres}


def run(args: argparse.Namespace) -> int:
    store, settings, port = StoreSettings(), ClockSettings(), ops.OpsSettings()
    with store_dsn(store) as dsn:
        schema = store.pg_schema or "public"
        ensure_schema(dsn, schema)
        env = eventsourcing_env(dsn, store.pg_schema)
        env["POSTGRES_POOL_SIZE"] = str(store.pg_pool_size)
        app = Casework(env=env)
        try:
            service = ClockService(app, DueIndex(dsn, schema), name=settings.name)
            if args.once:
                service.index.create()
                print(f"recorded {service.tick()} facts")
                return 0
            stop = threading.Event()

            def on_signal(signum: int, frame: FrameType | None) -> None:
                stop.set()

            signal.signal(signal.SIGINT, on_signal)
            signal.signal(signal.SIGTERM, on_signal)
            live, ready = _probes(service, dsn, settings.interval_seconds)
            metrics.register(ClockCollector(service))
            with ops.serving("clock", port, live=live, ready=ready):
                service.run(stop, settings.interval_seconds)
        finally:
            app.close()
    return 0
