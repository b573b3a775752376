"""Save → dashboard-row latency at a sustained rate, with the relay and 2 dashboard replicas as real processes.

Measured in one run, on one machine, against the same servers:

1. raw floors: psycopg insert-and-commit latency (one row of a contract's size per transaction), and nats-py
   JetStream publish → consume round trip (publish of a contract-sized message, paced at the target rate, to
   a push consumer's callback);
2. the system: ``prosperity relay`` and N x ``prosperity consume dashboard`` as separate processes, on an
   isolated schema and streams (declared with ``declare_streams`` under a subject prefix, deleted afterwards).
   Open Iceland cases are stored beforehand; then threads record one service on them at a paced rate
   (``IcelandCase.record_service`` on the case held in memory, then ``Casework.save``: one fact, one
   transaction each; ``--reload`` goes through ``Casework.record_service``, which reloads the case first).
   The commit time of each fact (``time.time()`` after ``save`` returns) is kept by (case id, version); a
   poller reads the generation's ``consumer_positions`` (``applied_at`` = ``now()`` in the consumer's
   transaction, the same machine clock) every ``--poll`` seconds.

Latency is reported two ways: ``applied_at - saved`` (the consumer's transaction *start*: a lower bound) and
``first seen by the poller - saved`` (an upper bound: at most one poll interval late). An ordered push consumer
on the stream notes when each fact arrived in JetStream, which splits the latency into the relay's part and the
replicas' part.

If the target rate is not sustained (stored rate < 95 % of the target, or a backlog of more than one second of
events at the end of the window), the run steps down to 80 % and then 60 % of the rate the system managed, and
reports the highest rate that held; if p99 is still above 25 ms there, it tries 50 % and 35 % (shorter windows).
Servers: ``PROSPERITY_PG_DSN`` / ``PROSPERITY_NATS_URL`` when set, otherwise embedded ones under a temporary
directory.

    .venv/bin/python bench/dashboard_latency.py [--seconds 20] [--rate 1000] [--replicas 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as ``python bench/dashboard_latency.py`` from anywhere
    sys.path.insert(0, str(ROOT))

import nats  # noqa: E402
import psycopg  # noqa: E402
from nats.js.api import DeliverPolicy  # noqa: E402
from psycopg import sql  # noqa: E402

from contracts import commands as c  # noqa: E402
from contracts.mapping import MunicipalityTracker, repository_lookup  # noqa: E402
from domain.case_iceland import IcelandCase  # noqa: E402
from domain.values import Actor, Context, FamilyMember, LifeStage, OfferResponse, Role  # noqa: E402
from services.bus.provision import StreamSettings, declare_streams  # noqa: E402
from services.casework.application import Casework, CommandMeta  # noqa: E402
from services.infra.embedded import EmbeddedNats, EmbeddedPostgres  # noqa: E402
from services.infra.postgres_env import PgTarget, drop_schema, ensure_schema  # noqa: E402
from services.log import configure_logging  # noqa: E402
from services.relay.stream import RelaySettings  # noqa: E402
from services.walkthrough import ensure_institution  # noqa: E402

SCHOOL, COORDINATOR, MUNICIPALITY = "org:school-lat-1", "person:coord-lat-1", "muni:reykjavik"
STORE_BATCH = 100
GOAL_P99_MS = 25.0
GOAL_RATE = 1000.0
SERVICE_IDS = itertools.count(1)
"""Service ids are unique per case across phases (``svc-0`` is the opening level-3 one)."""


# ---- helpers -------------------------------------------------------------------------------------------------
def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of ``values`` (nearest rank on the sorted list)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary_ms(values: Sequence[float]) -> str:
    if not values:
        return "no samples"
    ms = [v * 1000 for v in values]
    return (f"p50 {pct(ms, 50):7.1f}  p95 {pct(ms, 95):7.1f}  p99 {pct(ms, 99):7.1f}  max {max(ms):7.1f} ms"
            f"  (n={len(ms)})")


@contextmanager
def servers(workdir: Path) -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        dsn = os.environ.get("PROSPERITY_PG_DSN") or stack.enter_context(EmbeddedPostgres(workdir / "pg")).dsn
        url = os.environ.get("PROSPERITY_NATS_URL") or stack.enter_context(EmbeddedNats(workdir / "nats")).url
        yield dsn, url


async def server_versions(dsn: str, url: str) -> tuple[str, str]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    client = await nats.connect(url)
    try:
        version = client.connected_server_version
        nats_version = f"{version.major}.{version.minor}.{version.patch}"
    finally:
        await client.close()
    return (row[0] if row else "?"), nats_version


# ---- raw floors ------------------------------------------------------------------------------------------------
def raw_pg_commit(dsn: str, schema: str, n: int, size: int) -> list[float]:
    """Seconds of ``INSERT`` + ``COMMIT`` of one row of ``size`` bytes, one transaction each."""
    latencies = []
    with psycopg.connect(dsn) as conn:
        table = sql.Identifier(schema, "raw_commit")
        conn.execute(sql.SQL("CREATE TABLE {} (id bigserial PRIMARY KEY, body text NOT NULL)").format(table))
        conn.commit()
        insert = sql.SQL("INSERT INTO {} (body) VALUES (%s)").format(table)
        body = "x" * size
        for _ in range(n):
            started = time.perf_counter()
            conn.execute(insert, (body,))
            conn.commit()
            latencies.append(time.perf_counter() - started)
    return latencies


async def raw_nats_round_trip(url: str, n: int, rate: float, size: int) -> list[float]:
    """Seconds from ``js.publish`` (paced at ``rate``/s) to the push consumer's callback, per message."""
    client = await nats.connect(url)
    token = uuid.uuid4().hex[:8]
    stream, prefix = f"BENCHRAWRT_{token}", f"benchrawrt{token}"
    sent: dict[int, float] = {}
    received: dict[int, float] = {}
    done = asyncio.Event()
    try:
        js = client.jetstream()
        await js.add_stream(name=stream, subjects=[f"{prefix}.>"])

        async def on_message(msg: Any) -> None:
            received[int(msg.headers["i"])] = time.perf_counter()
            await msg.ack()
            if len(received) >= n:
                done.set()

        sub = await js.subscribe(f"{prefix}.>", stream=stream, cb=on_message, manual_ack=True)
        payload = b"x" * size
        started = time.perf_counter()
        for i in range(n):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[i] = time.perf_counter()
            await js.publish(f"{prefix}.event", payload, headers={"Nats-Msg-Id": f"{token}:{i}", "i": str(i)})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=10)
        await sub.unsubscribe()
        await js.delete_stream(stream)
    finally:
        await client.close()
    return [received[i] - sent[i] for i in sent if i in received]


# ---- the system's processes ------------------------------------------------------------------------------------
@dataclass
class Processes:
    logs: Path
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    last_memory: dict[str, dict[str, float]] = field(default_factory=dict)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env={**os.environ, **env},
                                stdout=log, stderr=subprocess.STDOUT)
        self.procs.append((name, proc))

    def check(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")

    def memory(self) -> dict[str, dict[str, float]]:
        """Each process's resident and peak resident memory (MiB, ``/proc``): the relay's and the replicas' P6."""
        found = {}
        for name, proc in self.procs:
            with contextlib.suppress(OSError):
                status = dict(line.split(":", 1) for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                              if ":" in line)
                found[name] = {key: round(int(status[field].split()[0]) / 1024, 1)
                               for key, field in (("rss_mib", "VmRSS"), ("peak_rss_mib", "VmHWM"))}
        return found

    def cpu_seconds(self) -> dict[str, float]:
        """Each process's CPU time so far (user + system, ``/proc/<pid>/stat``): what it costs per fact is steadier
        than a tail latency on a shared machine."""
        ticks = os.sysconf("SC_CLK_TCK")
        found = {}
        for name, proc in self.procs:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                found[name] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15)
        return found

    def stop(self) -> None:
        self.last_memory = self.memory()
        if keep := os.environ.get("BENCH_KEEP_LOGS"):
            for name, _ in self.procs:
                Path(keep).mkdir(parents=True, exist_ok=True)
                (Path(keep) / f"{name}.log").write_bytes((self.logs / f"{name}.log").read_bytes())
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ---- the load --------------------------------------------------------------------------------------------------
def open_cases(app: Casework, count: int) -> list[IcelandCase]:
    """``count`` Iceland cases with a written request and a level-3 service (so later level-1 services are one
    fact each), saved STORE_BATCH per transaction."""
    actor = Actor(COORDINATOR, Role.COORDINATOR, SCHOOL)
    lead = Actor("person:lead-bench-1", Role.MUNICIPALITY_LEAD, "org:town-hall-bench", MUNICIPALITY)
    ensure_institution(app, SCHOOL, "secondary_school", MUNICIPALITY, "IS", COORDINATOR, CommandMeta(lead))
    school = app.get_institution(SCHOOL)
    ctx = Context(actor, datetime.now(UTC), "bench-latency")
    cases: list[IcelandCase] = []
    run = f"{uuid.uuid4().hex[:6]}x"  # never six digits in a row: with "-1234" that is an ID number's shape (PRIV-1)
    for first in range(0, count, STORE_BATCH):
        batch = []
        for i in range(first, min(first + STORE_BATCH, count)):
            parent = f"person:parent-lat-{run}-{i}"
            case = IcelandCase.register_contact(
                ctx, child_ref=f"person:child-lat-{run}-{i}", parent_refs=(parent,), birth_date=date(2009, 3, 1),
                municipality_ref=MUNICIPALITY, coordinator_ref=COORDINATOR, coordinator_institution=school,
                life_stage=LifeStage("secondary"), conflict_of_interest_declared_none=True,
                settings=app.legal_settings)
            case.record_contact_with_family(ctx, offered_to=(FamilyMember.PARENT,), contact_refs=(parent,),
                                            response=OfferResponse.ACCEPTED)
            case.record_integration_request(ctx, request_id="request-1", requested_by_refs=(parent,),
                                            requester_roles=(FamilyMember.PARENT,), written=True,
                                            form_doc_ref="doc:request-1", settings=app.legal_settings)
            case.record_service(ctx, service_id="svc-0", provider_org_ref=SCHOOL, service_level=3,
                                service_type_code="family_support", start_date=date(2024, 1, 22))
            batch.append(case)
        app.save(*batch)
        cases += batch
    return cases


def contract_size(app: Casework) -> int:
    """Bytes of the last stored fact's published contract (a ``service_recorded``-like size)."""
    last = app.recorder.max_notification_id() or 0
    sample = app.recorder.select_notifications(start=last, limit=1)[0]
    tracker = MunicipalityTracker(lookup=repository_lookup(app.repository))
    return len(tracker.to_published(app.mapper.to_domain_event(sample), sample.id, app.name).payload)


class Load:
    """Threads that record one service per command on their own cases, paced to ``rate`` facts per second."""

    def __init__(self, app: Casework, cases: list[IcelandCase], threads: int, *, reload: bool) -> None:
        self.app, self.cases, self.threads, self.reload = app, cases, threads, reload
        self.saved: dict[tuple[str, int], float] = {}
        self.save_seconds: list[float] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._actor = Actor(COORDINATOR, Role.COORDINATOR, SCHOOL)

    def run(self, rate: float, seconds: float) -> tuple[float, float]:
        """Store facts at ``rate``/s for ``seconds``; return (start, end) in ``time.time()``."""
        slots = itertools.count()
        started_perf, started = time.perf_counter(), time.time()
        deadline = started_perf + seconds

        def worker(mine: list[IcelandCase]) -> None:
            for index in itertools.cycle(range(len(mine))):
                with self._lock:
                    due = started_perf + next(slots) / rate
                if due >= deadline or time.perf_counter() >= deadline:  # behind schedule: the window still ends
                    return
                if (delay := due - time.perf_counter()) > 0:
                    time.sleep(delay)
                try:
                    mine[index] = self._one(mine[index])
                except Exception as error:  # reported, never silently dropped
                    self.errors.append(repr(error))
                    if len(self.errors) > 20:
                        return

        workers = [threading.Thread(target=worker, args=(self.cases[k::self.threads],), daemon=True)
                   for k in range(self.threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        return started, time.time()

    def _one(self, case: IcelandCase) -> IcelandCase:
        service = f"svc-{next(SERVICE_IDS)}"
        began = time.perf_counter()
        if self.reload:
            result = self.app.record_service(c.RecordService(
                case_id=case.id, service_id=service, provider_org_ref=SCHOOL, service_level=1,
                service_type_code="study_support", start_date=date(2024, 1, 22)), CommandMeta(self._actor))
            saved_at, key = time.time(), (str(result.case_id), result.version)
        else:
            ctx = Context(self._actor, datetime.now(UTC), "bench-latency")
            case.record_service(ctx, service_id=service, provider_org_ref=SCHOOL, service_level=1,
                                service_type_code="study_support", start_date=date(2024, 1, 22))
            self.app.save(case)
            saved_at, key = time.time(), (str(case.id), case.version)
        self.save_seconds.append(time.perf_counter() - began)
        self.saved[key] = saved_at
        return case


class Poller(threading.Thread):
    """Reads ``consumer_positions`` every ``interval`` s: when each (case, version) was applied and first seen."""

    def __init__(self, dsn: str, schema: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.dsn, self.interval = dsn, interval
        self.table = sql.Identifier(schema, "consumer_positions")
        self.applied_at: dict[tuple[str, int], float] = {}
        self.seen_at: dict[tuple[str, int], float] = {}
        self.applied_total = 0
        self.stop = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                watermark = 0.0
                query = sql.SQL("SELECT case_id::text, case_version, extract(epoch FROM applied_at)::float8 FROM {}"
                                " WHERE applied_at > to_timestamp(%s)").format(self.table)
                total = sql.SQL("SELECT coalesce(sum(case_version), 0)::bigint FROM {}").format(self.table)
                last_total = 0.0
                while not self.stop.wait(self.interval):
                    seen = time.time()
                    try:
                        rows = conn.execute(query, (watermark - 0.5,)).fetchall()
                    except psycopg.errors.UndefinedTable:
                        continue  # the replicas have not created their generation yet
                    for case_id, version, applied in rows:
                        key = (case_id, version)
                        if key not in self.applied_at:
                            self.applied_at[key], self.seen_at[key] = applied, seen
                        watermark = max(watermark, applied)
                    if seen - last_total >= 0.25:
                        row = conn.execute(total).fetchone()
                        self.applied_total, last_total = int(row[0]) if row else 0, seen
        except BaseException as error:
            self.failure = error

    def total_now(self) -> int:
        with psycopg.connect(self.dsn) as conn:
            try:
                row = conn.execute(sql.SQL("SELECT coalesce(sum(case_version), 0)::bigint FROM {}")
                                   .format(self.table)).fetchone()
            except psycopg.errors.UndefinedTable:
                return 0
        return int(row[0]) if row else 0


class StreamTap(threading.Thread):
    """An ordered push consumer on the stream: when each (case, version) reached JetStream from the relay, so
    the latency splits into saved -> in the stream (relay) and in the stream -> applied (replicas)."""

    def __init__(self, url: str, settings: RelaySettings) -> None:
        super().__init__(daemon=True)
        self.url, self.settings = url, settings
        self.arrived: dict[tuple[str, int], float] = {}
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        asyncio.run(self._tap())

    async def _tap(self) -> None:
        client = await nats.connect(self.url)
        try:
            async def on_message(msg: Any) -> None:
                now = time.time()
                event = json.loads(msg.data)
                self.arrived.setdefault((event["case_id"], int(event["case_version"])), now)

            await client.jetstream().subscribe(self.settings.subject("cases.v1.>"), stream=self.settings.stream_name,
                                               cb=on_message, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)
            self.ready.set()
            while not self.stop.is_set():
                await asyncio.sleep(0.1)
        finally:
            self.ready.set()
            await client.close()


def wait_applied(poller: Poller, app: Casework, procs: Processes, label: str, timeout: float) -> float:
    """Wait until every stored fact is applied (sum of case versions = facts stored), printing a line every
    2 s; return the rate at which the backlog was applied (0 if it was not, within ``timeout``)."""
    stored = app.recorder.max_notification_id() or 0
    started = last_line = time.monotonic()
    first = poller.total_now()
    moving: tuple[float, int] | None = None  # when the first new fact was seen applied (replicas start slowly)
    while time.monotonic() - started < timeout:
        procs.check()
        applied = poller.total_now()
        now = time.monotonic()
        if moving is None and applied > first:
            moving = (now, applied)
        rate = (applied - moving[1]) / max(now - moving[0], 1e-9) if moving else 0.0
        if applied >= stored or now - last_line >= 2:
            print(f"  {label}: {applied:>7}/{stored} applied ({rate:,.0f}/s)", flush=True)
            last_line = now
        if applied >= stored:
            return rate or 1.0
        time.sleep(0.1)
    print(f"  {label}: not caught up within {timeout:.0f}s")
    return 0.0


@dataclass
class Phase:
    target: float
    seconds: float
    stored: int
    applied: int
    backlog_at_end: int
    drain_seconds: float
    applied_latency: list[float]
    seen_latency: list[float]
    save_latency: list[float]
    relay_latency: list[float]
    consumer_latency: list[float]
    unobserved: int
    errors: list[str]
    cpu_us_per_fact: dict[str, float] = field(default_factory=dict)
    """CPU time each process of the system spent in the window, per fact stored in it."""

    @property
    def stored_rate(self) -> float:
        return self.stored / self.seconds

    @property
    def applied_rate(self) -> float:
        return self.applied / self.seconds

    @property
    def p99_ms(self) -> float:
        return pct(self.applied_latency, 99) * 1000 if self.applied_latency else float("inf")

    @property
    def sustained(self) -> bool:
        return (not self.errors and self.stored_rate >= 0.95 * self.target
                and self.backlog_at_end <= max(self.target, 50))


def run_phase(app: Casework, cases: list[IcelandCase], poller: Poller, tap: StreamTap, procs: Processes,
              rate: float, seconds: float, threads: int, reload: bool) -> Phase:
    load = Load(app, cases, threads, reload=reload)
    before = poller.total_now()
    stored_before = app.recorder.max_notification_id() or 0
    print(f"  target {rate:,.0f} facts/s for {seconds:.0f}s with {threads} threads on {len(cases)} cases")
    result: list[tuple[float, float]] = []
    runner = threading.Thread(target=lambda: result.append(load.run(rate, seconds)))
    runner.start()
    tick = time.time()
    last_stored, last_applied = len(load.saved), before
    cpu_before = procs.cpu_seconds()
    while runner.is_alive():
        runner.join(1.0)
        procs.check()
        now = time.time()
        stored, applied = len(load.saved), poller.applied_total
        print(f"    t={now - tick:5.1f}s stored {(stored - last_stored) / 1.0:6.0f}/s  applied "
              f"{max(0, applied - last_applied):6.0f}/s  backlog {stored_before + stored - applied:6d}", flush=True)
        last_stored, last_applied = stored, applied
    started, ended = result[0]
    window = ended - started
    cpu_after, stored_n = procs.cpu_seconds(), max(len(load.saved), 1)
    cpu = {name: round((cpu_after[name] - cpu_before[name]) / stored_n * 1e6, 1)
           for name in cpu_after if name in cpu_before}
    applied_end = poller.total_now()
    stored_end = app.recorder.max_notification_id() or 0
    backlog = stored_end - applied_end
    drain_started = time.monotonic()
    wait_applied(poller, app, procs, "draining", 30)
    drain = time.monotonic() - drain_started
    time.sleep(2 * poller.interval + 0.6)  # the poller's last look
    applied_lat, seen_lat, relay_lat, consumer_lat = [], [], [], []
    for key, saved_at in load.saved.items():
        if key in poller.applied_at:
            applied_lat.append(poller.applied_at[key] - saved_at)
            seen_lat.append(poller.seen_at[key] - saved_at)
            if key in tap.arrived:
                relay_lat.append(tap.arrived[key] - saved_at)
                consumer_lat.append(poller.applied_at[key] - tap.arrived[key])
    return Phase(rate, window, len(load.saved), applied_end - before, backlog, drain, applied_lat, seen_lat,
                 load.save_seconds, relay_lat, consumer_lat, len(load.saved) - len(applied_lat), load.errors, cpu)


def print_phase(phase: Phase) -> None:
    print(f"  target {phase.target:,.0f}/s: stored {phase.stored_rate:,.0f} facts/s, applied "
          f"{phase.applied_rate:,.0f} facts/s during the window; backlog at its end {phase.backlog_at_end}, "
          f"drained in {phase.drain_seconds:.1f}s -> {'SUSTAINED' if phase.sustained else 'NOT sustained'}")
    print(f"    command + Casework.save (client)      {summary_ms(phase.save_latency)}")
    print(f"    saved -> applied_at (txn start)       {summary_ms(phase.applied_latency)}")
    print(f"    saved -> first seen (poller, <=poll)  {summary_ms(phase.seen_latency)}")
    print(f"      of which saved -> in JetStream      {summary_ms(phase.relay_latency)}")
    print(f"      and JetStream -> applied_at         {summary_ms(phase.consumer_latency)}")
    if phase.cpu_us_per_fact:
        costs = ", ".join(f"{name} {us:.0f} µs" for name, us in phase.cpu_us_per_fact.items())
        print(f"    CPU per fact stored: {costs}")
    if phase.unobserved:
        print(f"    ({phase.unobserved} facts not observed individually: their case moved on between two polls)")
    if phase.errors:
        print(f"    errors: {phase.errors[:3]}")


# ---- main ------------------------------------------------------------------------------------------------------
def main_run(args: argparse.Namespace) -> dict[str, object]:
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"dashboard latency: {platform.platform()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, servers(Path(tmp)) as (dsn, url):
        pg_version, nats_version = asyncio.run(server_versions(dsn, url))
        print(f"PostgreSQL {pg_version}, NATS {nats_version} "
              f"({'given' if os.environ.get('PROSPERITY_PG_DSN') else 'embedded'} servers)")
        token = uuid.uuid4().hex[:8]
        target = PgTarget(dsn, f"bench_lat_{token}")
        read_base = f"{target.schema}__rm"
        settings = RelaySettings(nats_url=url, stream_name=f"BENCHLAT_{token}", subject_prefix=f"benchlat{token}",
                                 deadletter_stream_name=f"BENCHLATDL_{token}")
        ensure_schema(dsn, target.schema)
        procs = Processes(Path(tmp))
        app = Casework(env=target.eventsourcing_env(pool_size=args.threads, max_overflow=4))
        try:
            print(f"storing {args.cases} open cases ...")
            cases = open_cases(app, args.cases)
            size = contract_size(app)

            print(f"raw floor 1: psycopg INSERT ({size} B) + COMMIT, {args.raw_n} transactions ...")
            raw_pg = raw_pg_commit(dsn, target.schema, args.raw_n, size)
            print(f"raw floor 2: nats-py js.publish -> push consumer, {args.raw_n} messages of {size} B "
                  f"at {args.rate:,.0f}/s ...")
            raw_nats = asyncio.run(raw_nats_round_trip(url, args.raw_n, args.rate, size))

            asyncio.run(_declare(settings))
            common = {"PROSPERITY_PG_DSN": dsn, "PROSPERITY_NATS_URL": url, "PROSPERITY_LOG_FORMAT": "json",
                      "PROSPERITY_STREAM_NAME": settings.stream_name,
                      "PROSPERITY_SUBJECT_PREFIX": settings.subject_prefix,
                      "PROSPERITY_DEADLETTER_STREAM_NAME": settings.deadletter_stream_name}
            procs.start("relay", ["relay"], {**common, "PROSPERITY_PG_SCHEMA": target.schema,
                                             "PROSPERITY_RELAY_LAG_LOG_INTERVAL": "3600"})
            replica_env = {**common, "PROSPERITY_PG_SCHEMA": read_base}
            if args.batch_size:
                replica_env["PROSPERITY_BATCH_SIZE"] = str(args.batch_size)
            for k in range(args.replicas):
                procs.start(f"dashboard-{k + 1}", ["consume", "dashboard"], replica_env)
            print(f"started the relay and {args.replicas} dashboard replicas (pull batch "
                  f"{args.batch_size or 'default 50'}); waiting for the backlog of opened cases ...")
            poller = Poller(dsn, f"{read_base}__dashboard_g1", args.poll)
            poller.start()
            tap = StreamTap(url, settings)
            tap.start()
            tap.ready.wait(10)
            catch_up = wait_applied(poller, app, procs, "warm-up (relay + replicas catching up)", 120)
            if not catch_up:
                raise RuntimeError("the system did not apply the opened cases within 120 s")

            if args.rates:  # rising rates, until one does not hold
                phases = []
                for rate in args.rates:
                    phases.append(run_phase(app, cases, poller, tap, procs, rate, args.seconds, args.threads,
                                            args.reload))
                    print_phase(phases[-1])
                    if not phases[-1].sustained:
                        break
            else:
                phases = [run_phase(app, cases, poller, tap, procs, args.rate, args.seconds, args.threads,
                                    args.reload)]
                print_phase(phases[-1])
            for fraction in () if args.rates else (0.8, 0.6):
                if phases[-1].sustained:
                    break
                capacity = min(phases[0].applied_rate, phases[0].stored_rate)
                rate = max(10.0, fraction * capacity)
                print(f"not sustained: stepping down to {fraction:.0%} of the {capacity:,.0f}/s managed")
                phases.append(run_phase(app, cases, poller, tap, procs, rate, args.seconds, args.threads, args.reload))
                print_phase(phases[-1])
            for fraction in () if args.rates else (0.5, 0.35):  # then, shorter, where the latency goal holds
                if any(p.sustained and p.p99_ms <= GOAL_P99_MS for p in phases):
                    break
                capacity = min(phases[0].applied_rate, phases[0].stored_rate)
                rate = max(10.0, fraction * capacity)
                print(f"p99 above {GOAL_P99_MS:.0f} ms: trying {fraction:.0%} of the {capacity:,.0f}/s managed")
                phases.append(run_phase(app, cases, poller, tap, procs, rate, max(10.0, args.seconds / 2),
                                        args.threads, args.reload))
                print_phase(phases[-1])
            poller.stop.set()
            poller.join()
            tap.stop.set()
            tap.join()
            if poller.failure:
                raise poller.failure
        finally:
            procs.stop()
            app.close()
            asyncio.run(_delete_stream(url, settings.stream_name))
            asyncio.run(_delete_stream(url, settings.deadletter_stream_name))
            drop_schema(dsn, target.schema)
    return {**report(args, raw_pg, raw_nats, phases, catch_up), "process_memory": procs.last_memory}


async def _declare(settings: RelaySettings) -> None:
    client = await nats.connect(settings.nats_url)
    try:
        await declare_streams(client.jetstream(), settings.namespace, StreamSettings())
    finally:
        await client.close()


async def _delete_stream(url: str, stream: str) -> None:
    client = await nats.connect(url)
    try:
        with contextlib.suppress(Exception):
            await client.jetstream().delete_stream(stream)
    finally:
        await client.close()


def report(args: argparse.Namespace, raw_pg: list[float], raw_nats: list[float], phases: list[Phase],
           catch_up: float) -> dict[str, object]:
    print("\n== results ==")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine load average at the end (1/5/15 min): {load} (other work on the machine shares its {os.cpu_count()}"
          " CPUs)")
    print(f"backlog catch-up of relay + {args.replicas} replicas (warm-up, {args.cases * 5} facts): "
          f"{catch_up:,.0f} facts/s")
    print(f"raw psycopg INSERT+COMMIT                 {summary_ms(raw_pg)}")
    print(f"raw JetStream publish -> consume          {summary_ms(raw_nats)}")
    floor50 = pct(raw_pg, 50) * 2 + pct(raw_nats, 50)
    floor99 = pct(raw_pg, 99) * 2 + pct(raw_nats, 99)
    print(f"raw pipeline floor (commit + round trip + commit): p50 {floor50 * 1000:.1f} ms, "
          f"p99 {floor99 * 1000:.1f} ms")
    held = [p for p in phases if p.sustained]
    best = max(held, key=lambda p: p.stored_rate) if held else phases[-1]
    for phase in phases:
        print_phase(phase)
    lat = best.applied_latency or [float("nan")]
    p50, p99 = pct(lat, 50), pct(lat, 99)
    print(f"system/floor: p50 {p50 / floor50:.1f}x, p99 {p99 / floor99:.1f}x "
          f"(saved -> applied_at at {best.stored_rate:,.0f} facts/s)")
    rate_ok = best.sustained and best.target >= GOAL_RATE
    print(f"goal: p99 <= {GOAL_P99_MS:.0f} ms at {GOAL_RATE:,.0f} events/s with {args.replicas} replicas: "
          f"{'MET' if rate_ok and p99 * 1000 <= GOAL_P99_MS else 'NOT MET'} "
          f"({'rate held' if rate_ok else 'rate not held'}; highest sustained "
          f"{best.stored_rate if best.sustained else 0:,.0f} facts/s, p99 {p99 * 1000:.1f} ms there)")
    within = [p for p in held if p.p99_ms <= GOAL_P99_MS]
    if within:
        fastest = max(within, key=lambda p: p.stored_rate)
        print(f"highest rate measured with p99 <= {GOAL_P99_MS:.0f} ms: {fastest.stored_rate:,.0f} facts/s "
              f"(p50 {pct(fastest.applied_latency, 50) * 1000:.1f} ms, p99 {fastest.p99_ms:.1f} ms)")
    else:
        print(f"no measured rate had p99 <= {GOAL_P99_MS:.0f} ms")
    return {"id": "P3", "what": f"save -> dashboard row, {args.replicas} replicas (p99 at the highest sustained rate)",
            "value": round(p99 * 1000, 2), "unit": "ms p99", "floor": round(floor99 * 1000, 2),
            "floor_what": "raw INSERT+COMMIT x2 + JetStream publish->consume, p99",
            "ratio": round(floor99 / p99, 3) if p99 else None, "goal": "1,000/s at p99 <= 25 ms",
            "highest_sustained_per_second": round(best.stored_rate, 1) if best.sustained else 0,
            "highest_within_goal_per_second": round(max((p.stored_rate for p in within), default=0.0), 1),
            "catch_up_per_second": round(catch_up, 1),
            "phases": [{"target": p.target, "stored_per_second": round(p.stored_rate, 1),
                        "applied_per_second": round(p.applied_rate, 1), "sustained": p.sustained,
                        "p50_ms": round(pct(p.applied_latency, 50) * 1000, 2) if p.applied_latency else None,
                        "p99_ms": round(p.p99_ms, 2) if p.applied_latency else None,
                        "cpu_us_per_fact": p.cpu_us_per_fact} for p in phases]}


BENCH_ID = "P3"

SIZES: dict[str, dict[str, object]] = {
    "smoke": {"rates": [20.0], "seconds": 2.0, "cases": 20, "raw_n": 50},
    "default": {"rates": [200.0, 500.0, 1000.0], "seconds": 10.0, "cases": 1500, "raw_n": 1000},
    "large": {"rates": [200.0, 500.0, 1000.0, 1500.0], "seconds": 20.0, "cases": 1500, "raw_n": 2000},
}


def run(size: str) -> dict[str, object]:
    """``bench.run``'s entry point: P3 at rising rates."""
    args = parser().parse_args([])
    for key, value in SIZES[size].items():
        setattr(args, key, value)
    args.rate = max(args.rates)
    return main_run(args)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20, help="length of each measured window")
    parser.add_argument("--rate", type=float, default=1000, help="target facts stored per second")
    parser.add_argument("--events", type=int, default=None, help="facts in the window (sets --seconds)")
    parser.add_argument("--cases", type=int, default=1500, help="open cases the load cycles over")
    # 16: each thread waits for its save's commit (group commit, ~9 ms at 1,000/s on 2 cores), so 8 threads could
    # offer at most ~900 facts/s, and the 1,000/s step failed for want of load, not of the system.
    parser.add_argument("--threads", type=int, default=16, help="threads saving facts")
    parser.add_argument("--replicas", type=int, default=2, help="dashboard consumer processes")
    parser.add_argument("--batch-size", type=int, default=0, help="replicas' pull batch (0: their default)")
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between looks at consumer_positions")
    parser.add_argument("--raw-n", type=int, default=2000, help="samples of each raw floor")
    parser.add_argument("--reload", action="store_true", help="use Casework.record_service (reloads the case)")
    parser.add_argument("--rates", type=lambda text: [float(r) for r in text.split(",")], default=None,
                        help="rising target rates, comma-separated (each for --seconds; stops at the first not held)")
    parser.add_argument("--smoke", action="store_true", help="a tiny run (what CI runs)")
    return parser


def main() -> None:
    args = parser().parse_args()
    if args.smoke:
        for key, value in SIZES["smoke"].items():
            setattr(args, key, value)
    if args.events:
        args.seconds = args.events / args.rate
    configure_logging("console", level=30)
    main_run(args)


if __name__ == "__main__":
    main()
