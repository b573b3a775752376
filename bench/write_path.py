"""P1: in-process commands/s with 32 clients, against raw floors measured in the same run on the same server.

Three floors, then the system:

1. raw ``INSERT`` + ``COMMIT`` of one ~400-byte row into a table shaped like eventsourcing's ``stored_events``
   (bigserial id, uuid, int, text, bytea; unique (uuid, int)), on 1 connection, then on 32 (one per client);
2. the stock eventsourcing recorder: ``Application.repository.get`` + one event + ``Application.save`` on a
   plain ``Aggregate`` (no cache, no snapshots, the library's JSON transcoder), 32 threads on their own
   aggregates, through the same ``services.infra.persistence`` factory (the library's PostgreSQL recorder);
3. ``Casework.record_service`` (load → access model → law → save), 32 threads, client k on cases k, k+32, ...
   (no two clients share a case, so no version conflicts).

Reported per measurement: commands (or rows)/s, p50/p99 latency, client CPU per command (this process's CPU
time / commands: PostgreSQL's CPU is not in it); the ratios to the floors; machine facts and load averages.
``PROSPERITY_PG_DSN`` selects the server (else an embedded PostgreSQL is started for the run).

    .venv/bin/python -m bench.write_path [--smoke] [--seconds 10] [--clients 32] [--cases 640]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.http_commands import COORD, service, setup_cases, shares
from services.casework.application import Casework, CommandMeta
from services.infra.postgres_env import PgTarget, drop_schema, ensure_schema
from services.log import configure_logging

SIZES: dict[str, dict[str, float]] = {"smoke": {"seconds": 1.5, "cases": 64},
                                      "default": {"seconds": 10, "cases": 640},
                                      "large": {"seconds": 30, "cases": 3200}}
CLIENTS = 32
ROW = os.urandom(400)


@dataclass(frozen=True)
class Rate:
    done: int
    seconds: float
    latencies_ms: list[float]
    cpu_seconds: float
    errors: int = 0

    @property
    def per_second(self) -> float:
        return self.done / self.seconds

    def percentile(self, q: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else 0.0
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]

    def figures(self) -> dict[str, float | int]:
        return {"per_second": round(self.per_second, 1), "p50_ms": round(self.percentile(50), 2),
                "p99_ms": round(self.percentile(99), 2), "done": self.done, "errors": self.errors,
                "client_cpu_ms_per_op": round(self.cpu_seconds / max(self.done, 1) * 1000, 3)}

    def __str__(self) -> str:
        f = self.figures()
        return (f"{f['per_second']:,.0f}/s ({self.done} in {self.seconds:.1f} s, {self.errors} errors), p50 "
                f"{f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms, client CPU {f['client_cpu_ms_per_op']:.2f} ms/op")


BENCH_ID = "P1"
"""What ``bench.run --only P1`` selects this benchmark by."""

def threaded(clients: int, seconds: float, work: Callable[[int, int], None]) -> Rate:
    """``work(client, n)`` in ``clients`` threads for ``seconds``: throughput, latencies, this process's CPU."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    deadline = time.perf_counter() + seconds

    def client(k: int) -> None:
        for n in itertools.count():
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            try:
                work(k, n)
            except Exception as error:  # counted; the run goes on
                errors[k] += 1
                if sum(errors) == 1:
                    print(f"  first error: {error!r}")
                continue
            latencies[k].append((time.perf_counter() - started) * 1000)

    cpu, started = time.process_time(), time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    flat = [x for xs in latencies for x in xs]
    return Rate(len(flat), elapsed, flat, cpu, sum(errors))


# ---- floor 1: raw INSERT + COMMIT ----------------------------------------------------------------------------
def raw_inserts(dsn: str, schema: str, connections: int, seconds: float) -> Rate:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {schema}.raw_floor (id bigserial PRIMARY KEY, "
                     "originator_id uuid NOT NULL, originator_version integer NOT NULL, topic text NOT NULL, "
                     "state bytea NOT NULL, UNIQUE (originator_id, originator_version))")
    conns = [psycopg.connect(dsn) for _ in range(connections)]
    ids = [uuid.uuid4() for _ in range(CLIENTS)]
    sql = f"INSERT INTO {schema}.raw_floor (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"

    def insert(k: int, n: int) -> None:
        conns[k].execute(sql, (ids[k], n, "bench:Floor", ROW))
        conns[k].commit()

    try:  # one client per connection: 32 threads taking turns on one connection measure the lock, not the server
        return threaded(connections, seconds, insert)
    finally:
        for conn in conns:
            conn.close()


# ---- floor 2: the stock eventsourcing recorder ---------------------------------------------------------------
class Counter(Aggregate):
    def __init__(self) -> None:
        self.count = 0
        self.note = ""

    @event("Counted")
    def count_one(self, note: str) -> None:
        self.count += 1
        self.note = note


def stock_eventsourcing(env: dict[str, str], seconds: float) -> Rate:
    app: Application[Any] = Application(env={**env, "AGGREGATE_CACHE_MAXSIZE": "", "IS_SNAPSHOTTING_ENABLED": "n"})
    try:
        ids = []
        for _ in range(CLIENTS):
            counter = Counter()
            app.save(counter)
            ids.append(counter.id)

        def get_event_save(k: int, n: int) -> None:
            counter: Counter = app.repository.get(ids[k])
            counter.count_one(note=f"doc:note-{n}")
            app.save(counter)

        return threaded(CLIENTS, seconds, get_event_save)
    finally:
        app.close()


# ---- the system ----------------------------------------------------------------------------------------------
def casework_commands(app: Casework, cases: list[Any], seconds: float) -> Rate:
    own = shares(cases, CLIENTS)
    meta = CommandMeta(COORD)

    def record(k: int, n: int) -> None:
        app.record_service(service(own[k][n % len(own[k])], 1_000_000 + n), meta)

    return threaded(CLIENTS, seconds, record)


@contextmanager
def postgres() -> Iterator[str]:
    dsn = os.environ.get("PROSPERITY_PG_DSN")
    if dsn:
        yield dsn
        return
    from services.infra.embedded import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, EmbeddedPostgres(Path(tmp) / "pg") as pg:
        yield pg.dsn


def machine() -> dict[str, Any]:
    import platform

    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def measure(seconds: float, cases_n: int, pool_size: int = 8) -> dict[str, Any]:
    """P1 and its floors, in one run on one server."""
    started_machine = machine()
    with postgres() as dsn:
        target = PgTarget(dsn, f"bench_{uuid.uuid4().hex[:8]}")
        ensure_schema(dsn, target.schema)
        try:
            env = target.eventsourcing_env(pool_size=pool_size, max_overflow=CLIENTS - pool_size)
            raw1 = step(lambda: raw_inserts(dsn, target.schema, 1, seconds), "raw INSERT+COMMIT, 1 connection")
            raw32 = step(lambda: raw_inserts(dsn, target.schema, CLIENTS, seconds),
                        f"raw INSERT+COMMIT, {CLIENTS} connections")
            stock = step(lambda: stock_eventsourcing(env, seconds), "stock eventsourcing get+event+save")
            app = Casework(env=env)
            try:
                cases = setup_cases(app, cases_n, CLIENTS)
                ours = step(lambda: casework_commands(app, cases, seconds), "Casework.record_service")
            finally:
                app.close()
        finally:
            drop_schema(dsn, target.schema)
    return {"id": "P1", "what": f"in-process commands/s, {CLIENTS} clients, 1 event each",
            "value": round(ours.per_second, 1), "unit": "commands/s", **{f"system_{k}": v for k, v in
                                                                         ours.figures().items()},
            "floor": round(raw1.per_second, 1), "floor_what": "raw INSERT+COMMIT, 1 connection",
            "floor_32_connections": round(raw32.per_second, 1), "stock_eventsourcing": round(stock.per_second, 1),
            "stock_eventsourcing_client_cpu_ms": stock.figures()["client_cpu_ms_per_op"],
            "ratio": round(ours.per_second / raw1.per_second, 3),
            "ratio_32_connections": round(ours.per_second / raw32.per_second, 3),
            "ratio_stock": round(ours.per_second / stock.per_second, 3), "goal": ">= 1.0 of raw 1-connection",
            "pool_size": pool_size, "cases": cases_n, "seconds": seconds,
            "machine_at_start": started_machine, "machine_at_end": machine()}


def run(size: str) -> dict[str, Any]:
    """``bench.run``'s entry point."""
    chosen = SIZES[size]
    return measure(chosen["seconds"], int(chosen["cases"]))


def step(measurement: Callable[[], Rate], label: str) -> Rate:
    print(f"  {label} ...", flush=True)
    result = measurement()
    print(f"  {label}: {result}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="a few seconds in all (what CI runs)")
    parser.add_argument("--seconds", type=float, default=SIZES["default"]["seconds"])
    parser.add_argument("--cases", type=int, default=int(SIZES["default"]["cases"]))
    parser.add_argument("--pool-size", type=int, default=8, help="event-store pool per process")
    args = parser.parse_args()
    configure_logging("console", level=30)
    if args.smoke:
        args.seconds, args.cases = SIZES["smoke"]["seconds"], int(SIZES["smoke"]["cases"])
    result = measure(args.seconds, args.cases, args.pool_size)
    print("== P1 ==")
    for key, value in result.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
