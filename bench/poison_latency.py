"""Other cases' apply latency with a poisoned case quarantined, against the same load without it.

Two runs in one process, on the same servers, each on its own schema and streams: the relay and N replicas of a
dashboard consumer as separate processes (``prosperity relay``, ``prosperity consume``), threads recording one
service per command on open Iceland cases at a paced rate (``bench/dashboard_latency.py``'s load and poller, reused).

* **clean**: the load alone;
* **poisoned**: the same load, and one more case into whose history a fact dated 0001-01-01 is written straight
  into the event store a second into the window (around the API), then a fact every 0.25 s on that case for the
  rest of it. The replicas run ``FragileDashboard`` (the dashboard with v1's ``astimezone`` defect), so that fact
  is poison: retried, quarantined, and the case's later versions parked.

Both runs use ``FragileDashboard`` (it behaves as the dashboard on every other fact). Reported per run: the
saved -> ``applied_at`` latency of the *other* cases' facts (p50/p95/p99), and the retries and quarantines the
replicas logged (a hot loop would show as retries); then the poisoned/clean p99 ratio against the goal (at most
2x), with a raw psycopg commit floor measured in the same run and the machine's load average.

    .venv/bin/python bench/poison_latency.py [--seconds 15] [--rate 150] [--replicas 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as ``python bench/poison_latency.py`` from anywhere
    sys.path.insert(0, str(ROOT))

import nats  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

import bench.dashboard_latency as lat  # noqa: E402
from contracts.events import EventEnvelopeV1  # noqa: E402
from domain.case_iceland import IcelandCase  # noqa: E402
from domain.values import Actor, Context, Role, ViewsMethod  # noqa: E402
from projections.base import ReadView, Statement  # noqa: E402
from projections.dashboard.calendar import ZONES  # noqa: E402
from projections.dashboard.projection import DashboardProjection  # noqa: E402
from services.casework.application import Casework  # noqa: E402
from services.infra.postgres_env import PgTarget, drop_schema, ensure_schema  # noqa: E402
from services.log import configure_logging  # noqa: E402
from services.relay.stream import RelaySettings  # noqa: E402

GOAL_RATIO = 2.0


class FragileDashboard(DashboardProjection):
    """The dashboard with v1's defect: a fact's local day by ``astimezone``, which overflows for 0001-01-01."""

    def apply(self, event: EventEnvelopeV1, view: ReadView) -> Sequence[Statement]:
        zone = ZONES.get(event.jurisdiction or "")
        if zone is not None:
            event.occurred_at.astimezone(zone)
        return super().apply(event, view)


class Poisoner(threading.Thread):
    """Writes the poison fact into one case's history around the API, then keeps adding facts to that case."""

    def __init__(self, app: Casework, case_id: Any, after: float, every: float) -> None:
        super().__init__(daemon=True)
        self.app, self.case_id, self.after, self.every = app, case_id, after, every
        self.stop = threading.Event()
        self.poison_version = 0
        self.later = 0

    def run(self) -> None:
        if self.stop.wait(self.after):
            return
        self.poison_version = self.app.get_case(self.case_id).version + 1
        fact_class: Any = vars(IcelandCase)["ChildViewsRecorded"]
        self.app.recorder.insert_events([self.app.mapper.to_stored_event(fact_class(
            originator_id=self.case_id, originator_version=self.poison_version,
            timestamp=fact_class.create_timestamp(), ctx=Context(Actor("person:script-1", Role.SYSTEM),
                                                                 datetime(1, 1, 1, tzinfo=UTC)),
            method=ViewsMethod.CONVERSATION, summary_doc_ref="doc:views-x"))])
        actor = Actor(lat.COORDINATOR, Role.COORDINATOR, lat.SCHOOL)
        while not self.stop.wait(self.every):
            case: IcelandCase = self.app.repository.get(self.case_id)
            case.record_service(Context(actor, datetime.now(UTC)), service_id=f"svc-p{self.later}",
                                provider_org_ref=lat.SCHOOL, service_level=1, service_type_code="study_support",
                                start_date=date(2024, 1, 22))
            self.app.save(case)
            self.later += 1


@dataclass
class Run:
    name: str
    stored_rate: float
    latencies: list[float]
    unobserved: int
    retries: int
    quarantines: int
    poisoned_case: str


def logged(logs: Path, event: str) -> int:
    """How many times the replicas logged ``event`` (their JSON logs)."""
    return sum(path.read_text(errors="replace").count(f'"event": "{event}"') for path in logs.glob("dashboard-*.log"))


def measure(app: Casework, cases: list[IcelandCase], poller: lat.Poller, procs: lat.Processes,
            args: argparse.Namespace) -> tuple[float, list[float], int]:
    """The paced load on ``cases``; the saved -> applied_at latency of each of its facts (once every one is
    applied, or 30 s after the window) and how many could not be observed individually."""
    load = lat.Load(app, cases, args.threads, reload=False)
    started, ended = load.run(args.rate, args.seconds)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(key not in poller.applied_at for key in load.saved):
        procs.check()
        time.sleep(0.2)
    time.sleep(2 * args.poll + 0.5)
    latencies = [poller.applied_at[key] - saved for key, saved in load.saved.items() if key in poller.applied_at]
    if load.errors:
        raise RuntimeError(f"the load failed: {load.errors[:3]}")
    return len(load.saved) / (ended - started), latencies, len(load.saved) - len(latencies)


async def _delete_streams(url: str, settings: RelaySettings) -> None:
    client = await nats.connect(url)
    try:
        for name in (settings.stream_name, settings.deadletter_stream_name):
            with contextlib.suppress(Exception):
                await client.jetstream().delete_stream(name)
    finally:
        await client.close()


def one_run(name: str, dsn: str, url: str, args: argparse.Namespace, workdir: Path, poisoned: bool) -> Run:
    token = uuid.uuid4().hex[:8]
    target = PgTarget(dsn, f"bench_poison_{token}")
    read_base = f"{target.schema}__rm"
    settings = RelaySettings(nats_url=url, stream_name=f"BENCHPOISON_{token}", subject_prefix=f"benchpoison{token}",
                             deadletter_stream_name=f"BENCHPOISON_{token}_DL")
    ensure_schema(dsn, target.schema)
    procs = lat.Processes(workdir / name)
    procs.logs.mkdir(parents=True, exist_ok=True)
    app = Casework(env=target.eventsourcing_env(pool_size=args.threads, max_overflow=4))
    poisoner: Poisoner | None = None
    try:
        cases = lat.open_cases(app, args.cases + 1)
        victim, load_cases = cases[0], cases[1:]
        asyncio.run(lat._declare(settings))
        common = {"PROSPERITY_PG_DSN": dsn, "PROSPERITY_NATS_URL": url, "PROSPERITY_LOG_FORMAT": "json",
                  "PROSPERITY_STREAM_NAME": settings.stream_name, "PROSPERITY_SUBJECT_PREFIX": settings.subject_prefix,
                  "PROSPERITY_DEADLETTER_STREAM_NAME": settings.deadletter_stream_name}
        procs.start("relay", ["relay"], {**common, "PROSPERITY_PG_SCHEMA": target.schema,
                                         "PROSPERITY_RELAY_LAG_LOG_INTERVAL": "3600"})
        for k in range(args.replicas):
            procs.start(f"dashboard-{k + 1}", ["consume", "bench.poison_latency:FragileDashboard"],
                        {**common, "PROSPERITY_PG_SCHEMA": read_base, "PROSPERITY_CONSUMER_NAME": "dashboard"})
        poller = lat.Poller(dsn, f"{read_base}__dashboard_g1", args.poll)
        poller.start()
        if not lat.wait_applied(poller, app, procs, f"{name}: warm-up", 120):
            raise RuntimeError("the system did not apply the opened cases within 120 s")
        if poisoned:
            poisoner = Poisoner(app, victim.id, after=1.0, every=0.25)
            poisoner.start()
        print(f"{name}: {args.rate:,.0f} facts/s for {args.seconds:.0f}s on {len(load_cases)} cases ...", flush=True)
        stored_rate, latencies, unobserved = measure(app, load_cases, poller, procs, args)
        poller.stop.set()
        poller.join()
        held = ""
        if poisoner is not None:
            poisoner.stop.set()
            poisoner.join()
            schema = sql.Identifier(f"{read_base}__dashboard_g1")
            with psycopg.connect(dsn) as conn:
                row = conn.execute(sql.SQL(
                    "SELECT p.case_version, p.quarantined_version, (SELECT count(*) FROM {}.consumer_parked k"
                    " WHERE k.case_id = p.case_id) FROM {}.consumer_positions p WHERE p.case_id = %s").format(
                    schema, schema), (victim.id,)).fetchone()
            held = (f"poisoned case: applied to v{row[0]}, quarantined at v{row[1]} (the poison is v"
                    f"{poisoner.poison_version}), {row[2]} later versions parked ({poisoner.later} written)"
                    if row else "poisoned case: not seen")
        return Run(name, stored_rate, latencies, unobserved, logged(procs.logs, "consumer.retry"),
                   logged(procs.logs, "consumer.quarantined"), held)
    finally:
        if poisoner is not None:
            poisoner.stop.set()
        procs.stop()
        app.close()
        asyncio.run(_delete_streams(url, settings))
        for k in (1, 2, 3):
            drop_schema(dsn, f"{read_base}__dashboard_g{k}")
        drop_schema(dsn, read_base)
        drop_schema(dsn, target.schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=15, help="length of each measured window")
    parser.add_argument("--rate", type=float, default=150, help="facts stored per second on the other cases")
    parser.add_argument("--cases", type=int, default=600, help="open cases the load cycles over")
    parser.add_argument("--threads", type=int, default=4, help="threads saving facts")
    parser.add_argument("--replicas", type=int, default=2, help="dashboard consumer processes")
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between looks at consumer_positions")
    parser.add_argument("--raw-n", type=int, default=1000, help="samples of the raw commit floor")
    parser.add_argument("--rounds", type=int, default=2, help="clean/poisoned pairs, interleaved")
    args = parser.parse_args()
    configure_logging("console", level=30)
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"poison latency: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, lat.servers(Path(tmp)) as (dsn, url):
        pg_version, nats_version = asyncio.run(lat.server_versions(dsn, url))
        print(f"PostgreSQL {pg_version}, NATS {nats_version}")
        floor_schema = f"bench_floor_{uuid.uuid4().hex[:8]}"
        ensure_schema(dsn, floor_schema)
        try:
            raw = lat.raw_pg_commit(dsn, floor_schema, args.raw_n, 900)
        finally:
            drop_schema(dsn, floor_schema)
        runs = []
        for round_ in range(1, args.rounds + 1):  # interleaved, and in turns first, so that a disturbance on the
            order = (False, True) if round_ % 2 else (True, False)  # machine (or a warm-up) hits both alike
            pair = {poisoned: one_run(f"{'poisoned' if poisoned else 'clean'}-{round_}", dsn, url, args, Path(tmp),
                                      poisoned=poisoned) for poisoned in order}
            runs += [pair[False], pair[True]]
    report(args, raw, runs)


def report(args: argparse.Namespace, raw: list[float], runs: list[Run]) -> None:
    print("\n== results ==")
    print(f"machine load average at the end (1/5/15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"raw psycopg INSERT+COMMIT floor            {lat.summary_ms(raw)}")
    for run in runs:
        print(f"{run.name}: stored {run.stored_rate:,.0f} facts/s on the other cases, {args.replicas} replicas; "
              f"retries logged {run.retries}, quarantines logged {run.quarantines}")
        print(f"    other cases: saved -> applied_at      {lat.summary_ms(run.latencies)}"
              + (f"  ({run.unobserved} not observed individually)" if run.unobserved else ""))
        if run.poisoned_case:
            print(f"    {run.poisoned_case}")
    for clean_run, poisoned_run in zip(runs[::2], runs[1::2], strict=True):
        clean, poisoned = (lat.pct(run.latencies, 99) * 1000 for run in (clean_run, poisoned_run))
        print(f"{clean_run.name} / {poisoned_run.name}: other cases' p99 clean {clean:.1f} ms, poisoned "
              f"{poisoned:.1f} ms: {poisoned / clean:.2f}x")
    clean, poisoned = (lat.pct([v for run in runs if run.name.startswith(kind) for v in run.latencies], 99) * 1000
                       for kind in ("clean", "poisoned"))
    ratio = poisoned / clean if clean else float("inf")
    print(f"all rounds: other cases' p99 clean {clean:.1f} ms, poisoned {poisoned:.1f} ms: {ratio:.2f}x (clean p99 "
          f"is {clean / (lat.pct(raw, 99) * 1000):.1f}x the raw commit p99) -> goal <= {GOAL_RATIO:.0f}x "
          f"{'MET' if ratio <= GOAL_RATIO else 'NOT MET'}")


if __name__ == "__main__":
    main()
