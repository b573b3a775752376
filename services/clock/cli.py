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
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import psycopg
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.casework.application import Casework
from services.clock import ops
from services.clock.index import DueIndex
from services.clock.service import ClockService
from services.infra.postgres_env import ensure_schema, eventsourcing_env
from services.settings import StoreSettings, store_dsn


class ClockSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROSPERITY_CLOCK_", extra="ignore")

    interval_seconds: float = 60.0
    """Between passes. The facts are daily; a minute keeps a new day's facts within a minute of midnight UTC."""
    name: str = socket.gethostname()


class OpsPort(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROSPERITY_", extra="ignore")

    ops_host: str = "127.0.0.1"
    ops_port: int = ops.DEFAULT_PORT


def add_parsers(sub: Any) -> None:
    parser = sub.add_parser("clock", help="record majority and deadline facts as their days come (the law's clock)")
    parser.add_argument("--once", action="store_true",
                        help="one pass (follow the store, record what is due), then exit")
    parser.set_defaults(func=run)


def metrics_text(service: ClockService) -> str:
    s = service.stats
    lines = [
        "# TYPE prosperity_clock_passes_total counter", f"prosperity_clock_passes_total {s.passes}",
        "# TYPE prosperity_clock_facts_recorded_total counter",
        f"prosperity_clock_facts_recorded_total {s.facts_recorded}",
        "# TYPE prosperity_clock_already_recorded_total counter",
        f"prosperity_clock_already_recorded_total {s.already_recorded}",
        "# TYPE prosperity_clock_failures_total counter", f"prosperity_clock_failures_total {s.failures}",
        "# TYPE prosperity_clock_facts_by_rule_total counter",
        *(f'prosperity_clock_facts_by_rule_total{{rule="{rule}"}} {n}' for rule, n in sorted(s.by_rule.items())),
    ]
    return "\n".join(lines) + "\n"


def _probes(service: ClockService, dsn: str, interval: float) -> tuple[dict[str, ops.Probe], dict[str, ops.Probe]]:
    def loop() -> tuple[bool, dict[str, Any]]:
        last = service.stats.last_pass_at
        fresh = last is None or datetime.now(UTC) - last < timedelta(seconds=3 * interval + 30)
        return fresh, {"passes": service.stats.passes}

    def postgres() -> tuple[bool, dict[str, Any]]:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True, {}

    return {"loop": loop}, {"postgres": postgres}


def run(args: argparse.Namespace) -> int:
    store, settings, port = StoreSettings(), ClockSettings(), OpsPort()
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
            with ops.serving(port.ops_host, port.ops_port, live=live, ready=ready,
                             metrics=lambda: metrics_text(service)):
                service.run(stop, settings.interval_seconds)
        finally:
            app.close()
    return 0
