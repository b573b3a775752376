"""How close the relay comes to what the NATS client itself can publish, measured in one run.

1. raw: nats-py ``js.publish_async`` of N messages of a contract's size (``Nats-Msg-Id`` set, 4000 in flight);
2. mapping alone: read, decode and map the N stored events as the relay does (from the stored state), and
   through the domain's events and the validated contract models, without publishing;
3. relay: N events stored beforehand (``app.save`` of many new cases per transaction), then the relay from
   position 0 until all N are acknowledged and recorded: read, decode, map to contracts, publish, record.

The ratio relay/raw is the relay's efficiency (goal >= 0.7). Each rate comes with the CPU time this process
spent per message (all its threads): on a shared machine the wall-clock rates move with the neighbours' load,
the CPU cost per message much less. Servers: ``PROSPERITY_PG_DSN`` /
``PROSPERITY_NATS_URL`` when set, otherwise embedded ones under a temporary directory.

    .venv/bin/python -m bench.relay_throughput [--n 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import nats

from contracts.mapping import MunicipalityTracker, repository_lookup, to_published
from domain.case_iceland import IcelandCase
from domain.values import Actor, Context, LifeStage, Role
from services.bus.provision import StreamSettings, declare_stream
from services.casework.application import Casework, CommandMeta
from services.infra.embedded import EmbeddedNats, EmbeddedPostgres
from services.infra.postgres_env import PgTarget, drop_schema, ensure_schema
from services.log import configure_logging
from services.relay.relay import Relay
from services.relay.stream import RelaySettings
from services.walkthrough import ensure_institution

SCHOOL, COORDINATOR, MUNICIPALITY = "org:school-bench-1", "person:coord-bench-1", "muni:reykjavik"
STORE_BATCH = 100
"""Aggregates per transaction. 500 deadlocked psycopg's pipeline (client and server both blocked writing) inside
eventsourcing's insert_events on the embedded PostgreSQL 18; 100 is what tech-notes §6 measured."""


def progress(label: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    end = "\n" if done >= total else ""
    print(f"\r  {label}: {done:>7}/{total} ({rate:,.0f}/s)", end=end, flush=True)


@contextmanager
def servers(workdir: Path) -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        dsn = os.environ.get("PROSPERITY_PG_DSN") or stack.enter_context(EmbeddedPostgres(workdir / "pg")).dsn
        url = os.environ.get("PROSPERITY_NATS_URL") or stack.enter_context(EmbeddedNats(workdir / "nats")).url
        yield dsn, url


@dataclass(frozen=True)
class Rate:
    per_second: float
    cpu_us: float
    """CPU time of this process (all threads) per message, in microseconds."""

    def __str__(self) -> str:
        return f"{self.per_second:,.0f}/s, {self.cpu_us:.0f} µs CPU each"


async def raw_publish_rate(url: str, n: int, payload_size: int) -> Rate:
    client = await nats.connect(url)
    try:
        js = client.jetstream(publish_async_max_pending=4000)
        stream, prefix = f"BENCHRAW_{uuid.uuid4().hex[:8]}", f"benchraw{uuid.uuid4().hex[:8]}"
        await js.add_stream(name=stream, subjects=[f"{prefix}.>"], duplicate_window=600)
        payload = b"x" * payload_size
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            await js.publish_async(f"{prefix}.event", payload, headers={"Nats-Msg-Id": f"raw:{i}"})
            if i % 2000 == 0:
                progress("raw publish", i, n, started)
        await js.publish_async_completed()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        progress("raw publish", n, n, started)
        await js.delete_stream(stream)
        return Rate(n / elapsed, cpu / n * 1e6)
    finally:
        await client.close()


def store_cases(app: Casework, n: int) -> None:
    """N new Iceland cases, one ``contact_registered`` fact each, saved STORE_BATCH per transaction."""
    ctx = Context(Actor(COORDINATOR, Role.COORDINATOR, SCHOOL), datetime(2024, 1, 8, 9, tzinfo=UTC), "bench")
    lead = CommandMeta(Actor("person:lead-bench-1", Role.MUNICIPALITY_LEAD, "org:town-hall-bench", MUNICIPALITY),
                       ctx.occurred_at, ctx.correlation_id)
    ensure_institution(app, SCHOOL, "secondary_school", MUNICIPALITY, "IS", COORDINATOR, lead)
    school = app.get_institution(SCHOOL)
    started = time.perf_counter()
    for first in range(0, n, STORE_BATCH):
        cases = [IcelandCase.register_contact(
            ctx, child_ref=f"person:child-bench-{i}", parent_refs=(f"person:parent-bench-{i}",),
            birth_date=date(2007, 3, 1), municipality_ref=MUNICIPALITY, coordinator_ref=COORDINATOR,
            coordinator_institution=school, life_stage=LifeStage("secondary"), conflict_of_interest_declared_none=True,
            settings=app.legal_settings) for i in range(first, min(first + STORE_BATCH, n))]
        app.save(*cases)
        progress("storing", first + len(cases), n, started)


def payload_size(app: Casework) -> int:
    """Bytes of one published ``contact_registered`` contract, so the raw run publishes the same size."""
    last = app.recorder.max_notification_id() or 0
    sample = app.recorder.select_notifications(start=last, limit=1)[0]
    return len(to_published(app.mapper.to_domain_event(sample), sample.id, app.name, MUNICIPALITY).payload)


def mapping_rate(app: Casework, env: dict[str, str]) -> tuple[Rate, Rate]:
    """Read + decode + map every stored event, without NATS: the ceiling the relay's one process can reach. Twice:
    as the relay maps (``Relay._read_and_map``: from the stored state, contracts.stored_mapping) and through the
    domain's events and the validated v1 models (``MunicipalityTracker.to_published``), for comparison."""
    relay = Relay(app, env, RelaySettings())
    try:
        started, cpu, position, count = time.perf_counter(), time.process_time(), 0, 0
        while mapped := relay._read_and_map(position):
            position, count = mapped[-1][0], count + len(mapped)
        as_relay = Rate(count / (time.perf_counter() - started), (time.process_time() - cpu) / count * 1e6)
    finally:
        relay.close()
    tracker = MunicipalityTracker(lookup=repository_lookup(app.repository))
    started, cpu, position, count = time.perf_counter(), time.process_time(), 0, 0
    while notifications := app.recorder.select_notifications(start=position, limit=500, inclusive_of_start=False):
        for notification in notifications:
            tracker.to_published(app.mapper.to_domain_event(notification), notification.id, app.name)
        position, count = notifications[-1].id, count + len(notifications)
    validated = Rate(count / (time.perf_counter() - started), (time.process_time() - cpu) / count * 1e6)
    return as_relay, validated


async def relay_rate(app: Casework, env: dict[str, str], url: str) -> tuple[int, Rate]:
    """Events per second from the relay taking the lead to the whole log acknowledged and recorded."""
    token = uuid.uuid4().hex[:8]
    settings = RelaySettings(nats_url=url, stream_name=f"BENCHRELAY_{token}", subject_prefix=f"benchrelay{token}",
                             relay_lag_log_interval=3600)
    client = await nats.connect(url)
    await declare_stream(client.jetstream(), StreamSettings().stream_config(settings.namespace))  # as nats-provision
    await client.close()
    relay = Relay(app, env, settings)
    total = app.recorder.max_notification_id() or 0
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        while not relay.is_leader:
            await asyncio.sleep(0.001)
        started, cpu = time.perf_counter(), time.process_time()
        while relay.published < total:
            await asyncio.sleep(0.005)
            if task.done():
                task.result()
            progress("relay", relay.published, total, started)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        progress("relay", total, total, started)
    finally:
        stop.set()
        await task
        client = await nats.connect(url)
        await client.jetstream().delete_stream(settings.stream_name)
        await client.close()
        relay.close()
    return total, Rate(total / elapsed, cpu / total * 1e6)


BENCH_ID = "P2"

SIZES = {"smoke": 300, "default": 20_000, "large": 100_000}
"""Events per measurement for each size of ``bench.run``."""


async def measure(n: int) -> dict[str, object]:
    """P2 with its floor in the same run: the figures ``bench.run`` records."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, servers(Path(tmp)) as (dsn, url):
        target = PgTarget(dsn, f"bench_{uuid.uuid4().hex[:8]}")
        ensure_schema(dsn, target.schema)
        try:
            env = target.eventsourcing_env()
            app = Casework(env=env)
            try:
                store_cases(app, n)
                size = payload_size(app)
                raw = await raw_publish_rate(url, n, size)
                mapping, validated = mapping_rate(app, env)
                relayed, relay = await relay_rate(app, env, url)
            finally:
                app.close()
        finally:
            drop_schema(dsn, target.schema)
    return {"id": "P2", "what": "relay events/s", "events": relayed, "payload_bytes": size,
            "value": round(relay.per_second, 1), "unit": "events/s", "cpu_us_per_event": round(relay.cpu_us, 1),
            "floor": round(raw.per_second, 1), "floor_what": "nats-py js.publish_async, same size",
            "floor_cpu_us": round(raw.cpu_us, 1), "mapping_only_per_second": round(mapping.per_second, 1),
            "mapping_only_cpu_us": round(mapping.cpu_us, 1),
            "validated_mapping_per_second": round(validated.per_second, 1),
            "validated_mapping_cpu_us": round(validated.cpu_us, 1),
            "ratio": round(relay.per_second / raw.per_second, 3), "goal": ">= 0.7"}


def run(size: str) -> dict[str, object]:
    """``bench.run``'s entry point."""
    return asyncio.run(measure(SIZES[size]))


async def main_async(n: int) -> None:
    print(f"relay throughput: N={n}, {platform.platform()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    result = await measure(n)
    print(f"raw js.publish_async ({result['payload_bytes']} B payload): {result['floor']:,.0f}/s, "
          f"{result['floor_cpu_us']} µs CPU each")
    print(f"relay ({result['events']} events: store -> contract -> JetStream, position per batch): "
          f"{result['value']:,.0f}/s, {result['cpu_us_per_event']} µs CPU each")
    print(f"of which reading + decoding + mapping alone, as the relay maps (no NATS): "
          f"{result['mapping_only_per_second']:,.0f}/s, {result['mapping_only_cpu_us']} µs CPU each; through the "
          f"domain's events and the validated models: {result['validated_mapping_per_second']:,.0f}/s, "
          f"{result['validated_mapping_cpu_us']} µs")
    print(f"ratio relay/raw: {result['ratio']:.2f} (goal >= 0.7); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=20_000, help="messages in each measurement")
    parser.add_argument("--smoke", action="store_true", help=f"{SIZES['smoke']} messages (what CI runs)")
    args = parser.parse_args()
    configure_logging("console", level=30)
    asyncio.run(main_async(SIZES["smoke"] if args.smoke else args.n))


if __name__ == "__main__":
    main()
