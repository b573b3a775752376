"""HTTP commands per second and latency against the same commands issued in-process, measured in one run.

1. setup: an isolated schema; N Iceland cases opened and taken to integration (level 1 active) through
   ``Casework`` directly, 32 threads;
2. in-process (the floor): 32 threads, each issuing ``Casework.record_service`` on its own cases (client k uses
   cases k, k+32, ...: no two clients touch one case, so no version conflicts) for ``--seconds``;
3. HTTP: ``prosperity api`` (uvicorn worker processes) as a subprocess on the same schema and a free port, and 32
   concurrent httpx async clients POSTing the same command to ``/v1/cases/{id}/services`` with a coordinator
   token, same case split, for ``--seconds``.

Both sides use an event-store pool of ``PROSPERITY_PG_POOL_SIZE`` (default 5, the server's default). Reported:
commands/s, p50/p95/p99 latency, the ratio HTTP/in-process (goal >= 0.5) and the HTTP p99 (goal <= 50 ms).
``PROSPERITY_PG_DSN`` selects the server (else an embedded PostgreSQL is started for the run).

``prosperity api`` runs with ``--workers 2`` (one per core here); after the load the workers' RSS is read from
``/proc`` (part of P6).

    .venv/bin/python -m bench.http_commands [--smoke] [--cases 640] [--seconds 15] [--clients 32] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import UUID

import httpx

from bench._http_load import Connection
from contracts import commands as c
from domain.values import Actor, Role
from services.api.identity import mint_token
from services.api.settings import ApiSettings
from services.casework.application import Casework, CommandMeta
from services.infra.postgres_env import PgTarget, drop_schema, ensure_schema
from services.log import configure_logging
from services.walkthrough import ensure_institution

SCHOOL, HEALTH, MUNICIPALITY = "org:school-bench-1", "org:health-bench-1", "muni:reykjavik"
COORD = Actor("person:coord-bench-1", Role.COORDINATOR, SCHOOL)
NURSE = Actor("person:nurse-bench-1", Role.SERVICE_PROVIDER_REP, HEALTH)


BENCH_ID = "P5"
"""What ``bench.run --only P5`` selects this benchmark by."""

def progress(label: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    end = "\n" if done >= total else ""
    print(f"\r  {label}: {done:>7}/{total} ({rate:,.0f}/s)", end=end, flush=True)


@dataclass(frozen=True)
class Result:
    commands: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def per_second(self) -> float:
        return self.commands / self.seconds

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]

    def __str__(self) -> str:
        p50, p95, p99 = (self.percentile(q) for q in (50, 95, 99))
        return (f"{self.per_second:,.0f} commands/s ({self.commands} in {self.seconds:.1f} s, {self.errors} errors);"
                f" p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms")


def open_case(app: Casework, i: int) -> UUID:
    """A new Iceland case, shared, contacted and with a written integration request (integration active)."""
    child, parent = f"person:child-bench-{i}", f"person:parent-bench-{i}"
    meta = CommandMeta(COORD)
    case_id = app.register_contact(c.RegisterContact(
        child_ref=child, parent_refs=(parent,), birth_date=date(2009, 3, 1), municipality_ref=MUNICIPALITY,
        coordinator_ref=COORD.person_ref, coordinator_org_ref=SCHOOL, life_stage="secondary",
        conflict_of_interest_declared_none=True, initiated_by="provider_guidance"), meta).case_id
    app.sign_information_sharing_request(c.SignInformationSharingRequest(
        case_id=case_id, request_id="share-1", signatory_refs=(parent,), source_provider_org_refs=(HEALTH,),
        target_refs=(COORD.person_ref,), form_doc_ref="doc:share-form-1"), meta)
    app.share_information_with_coordinator(c.ShareInformationWithCoordinator(
        case_id=case_id, request_id="share-1", source_provider_org_ref=HEALTH, recipient_ref=COORD.person_ref,
        summary_doc_ref="doc:health-summary-1"), CommandMeta(NURSE))
    app.record_contact_with_family(c.RecordContactWithFamily(
        case_id=case_id, offered_to=("parent", "child"), contact_refs=(parent, child), response="accepted"), meta)
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id="request-1", requested_by_refs=(parent, child), requester_roles=("parent", "child"),
        written=True, form_doc_ref="doc:request-form-1"), meta)
    return case_id


def setup_cases(app: Casework, n: int, clients: int) -> list[UUID]:
    meta = CommandMeta(Actor("person:lead-bench-1", Role.MUNICIPALITY_LEAD, "org:muni-bench-1", MUNICIPALITY))
    ensure_institution(app, SCHOOL, "secondary_school", MUNICIPALITY, "IS", COORD.person_ref, meta)
    started, done, lock = time.perf_counter(), [0], threading.Lock()

    def one(i: int) -> UUID:
        case_id = open_case(app, i)
        with lock:
            done[0] += 1
            if done[0] % 50 == 0 or done[0] == n:
                progress("opening cases", done[0], n, started)
        return case_id

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, range(n)))


def service(case_id: UUID, k: int) -> c.RecordService:
    return c.RecordService(case_id=case_id, service_id=f"svc-{k}", provider_org_ref=SCHOOL, service_level=1,
                           service_type_code="study_support", start_date=date(2024, 1, 22))


def body(command: c.RecordService) -> dict[str, object]:
    return command.model_dump(mode="json", exclude={"case_id"})


def shares(cases: list[UUID], clients: int) -> list[list[UUID]]:
    return [cases[k::clients] for k in range(clients)]


def in_process(app: Casework, cases: list[UUID], clients: int, seconds: float) -> Result:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    deadline = time.perf_counter() + seconds

    def client(k: int, own: list[UUID]) -> None:
        meta = CommandMeta(COORD)
        for n in itertools.count():
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            try:
                app.record_service(service(own[n % len(own)], 1_000_000 + n), meta)
            except Exception as error:  # counted; the run goes on
                errors[k] += 1
                if sum(errors) == 1:
                    print(f"  first in-process error: {error!r}")
                continue
            latencies[k].append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k, own)) for k, own in enumerate(shares(cases, clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = [x for xs in latencies for x in xs]
    return Result(len(flat), elapsed, flat, sum(errors))


async def over_http(base: str, tokens: list[str], cases: list[UUID], clients: int, seconds: float,
                    first_service: int = 2_000_000) -> Result:
    """``clients`` keep-alive connections (bench._http_load: httpx cost as much CPU as the API it measured)."""
    latencies: list[float] = []
    errors = [0]
    url = httpx.URL(base)
    host, port = url.host, url.port or 80
    deadline = time.perf_counter() + seconds

    async def client(own: list[UUID], token: str) -> None:
        connection = Connection(host, port)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            for n in itertools.count():
                if time.perf_counter() >= deadline:
                    return
                case_id = own[n % len(own)]
                started = time.perf_counter()
                command = service(case_id, first_service + n)
                answer = await connection.request("POST", f"/v1/cases/{case_id}/services", body(command), headers)
                if answer.status in (200, 201):
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    errors[0] += 1
                    if errors[0] == 1:
                        print(f"  first HTTP error: {answer.status} {answer.text[:300]}")
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(own, tokens[k]) for k, own in enumerate(shares(cases, clients))))
    elapsed = time.perf_counter() - started
    return Result(len(latencies), elapsed, latencies, errors[0])


@contextmanager
def postgres() -> Iterator[str]:
    """An embedded PostgreSQL for the run when ``PROSPERITY_PG_DSN`` is not set (its socket DSN reaches the API
    subprocess too)."""
    import tempfile

    from services.infra.embedded import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, EmbeddedPostgres(Path(tmp) / "pg") as pg:
        yield pg.dsn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_api(dsn: str, schema: str, port: int, pool_size: int, workers: int = 1) -> subprocess.Popen[bytes]:
    # A token per client (the rate limit's key), and a limit above what one client sends: the limits library's
    # moving window keeps one entry per request of the last minute, so one key at thousands per second costs
    # O(n) per request (measured: a single shared token with a 10M/minute limit cut HTTP throughput by 3x).
    env = {**os.environ, "PROSPERITY_PG_DSN": dsn, "PROSPERITY_PG_SCHEMA": schema,
           "PROSPERITY_PG_POOL_SIZE": str(pool_size), "PROSPERITY_API_PORT": str(port),
           "PROSPERITY_API_RATE_LIMIT": os.environ.get("BENCH_API_RATE_LIMIT", "60000/minute"),
           "PROSPERITY_LOG_FORMAT": "json",
           "PROSPERITY_API_THREADS": os.environ.get("PROSPERITY_API_THREADS", "")}
    return subprocess.Popen([sys.executable, "-m", "services.cli", "api", "--port", str(port), "--workers",
                             str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_workers(server: subprocess.Popen[bytes], workers: int, timeout: float = 90) -> None:
    """Until each of ``workers`` worker processes has imported the app (its RSS near the largest one's): on a loaded
    machine the first worker answers long before the last one is up."""
    until = time.perf_counter() + timeout
    while time.perf_counter() < until:
        found = api_processes(server.pid) if workers > 1 else [server.pid]
        sizes = [rss_mib(p) for p in found]
        if len(found) == workers and min(sizes) >= 0.8 * max(sizes):
            return
        time.sleep(0.5)
    raise RuntimeError("the API's workers did not all start in time")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (``/proc/<pid>/stat``), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of a process (``VmRSS``), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def api_processes(pid: int) -> list[int]:
    """The API's serving processes: its uvicorn workers, or the process itself when it serves alone."""
    children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    workers = [p for p in children if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
    return workers or [pid]


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    until = time.perf_counter() + timeout
    while time.perf_counter() < until:
        if server.poll() is not None:
            raise RuntimeError(f"prosperity api exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("prosperity api did not answer in time")


def step(measure: Callable[[], Result], label: str) -> Result:
    print(f"  {label} ...", flush=True)
    result = measure()
    print(f"  {label}: {result}", flush=True)
    return result


SIZES: dict[str, dict[str, float]] = {"smoke": {"cases": 64, "seconds": 2}, "default": {"cases": 640, "seconds": 15},
                                      "large": {"cases": 3200, "seconds": 30}}
WORKERS = 2


def measure(cases_n: int, seconds: float, clients: int = 32, pool_size: int = 5,
            workers: int = WORKERS) -> dict[str, object]:
    """P5 (HTTP commands/s against in-process, same run) and the API workers' RSS after the load."""
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    with ExitStack() as servers:
        dsn = os.environ.get("PROSPERITY_PG_DSN") or servers.enter_context(postgres())
        return _measure(dsn, cases_n, seconds, clients, pool_size, workers, load_at_start)


def _measure(dsn: str, cases_n: int, seconds: float, clients: int, pool_size: int, workers: int,
             load_at_start: list[float]) -> dict[str, object]:
    target = PgTarget(dsn, f"bench_{uuid.uuid4().hex[:8]}")
    ensure_schema(dsn, target.schema)
    try:
        app = Casework(env=target.eventsourcing_env(pool_size=pool_size, max_overflow=10))
        try:
            cases = setup_cases(app, cases_n, clients)
            local_cpu = time.process_time()
            local = step(lambda: in_process(app, cases, clients, seconds), "in-process record_service")
            local_cpu = time.process_time() - local_cpu
        finally:
            app.close()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_api(dsn, target.schema, port, pool_size, workers)
        try:
            wait_ready(base, server)
            wait_workers(server, workers)
            tokens = [mint_token(ApiSettings(), person_ref=COORD.person_ref, role=COORD.role,
                                 org_ref=COORD.org_ref, ttl_seconds=3600 + k) for k in range(clients)]
            # Warm-up, not measured: every worker's first requests (its caches, connections, pydantic's first
            # validations) on the same cases.
            step(lambda: asyncio.run(over_http(base, tokens, cases, clients, max(2.0, seconds / 3), 3_000_000)),
                 "HTTP warm-up")
            serving = api_processes(server.pid) if workers > 1 else [server.pid]
            api_cpu, client_cpu = sum(cpu_seconds(p) for p in serving), time.process_time()
            remote = step(lambda: asyncio.run(over_http(base, tokens, cases, clients, seconds)),
                          "HTTP POST /v1/cases/{id}/services")
            api_cpu = sum(cpu_seconds(p) for p in serving) - api_cpu
            client_cpu = time.process_time() - client_cpu
            rss = [round(rss_mib(p), 1) for p in api_processes(server.pid)]
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    finally:
        drop_schema(dsn, target.schema)
    return {"id": "P5", "what": f"HTTP commands/s, {clients} clients, {workers} API workers",
            "value": round(remote.per_second, 1), "unit": "commands/s",
            "p50_ms": round(remote.percentile(50), 1), "p99_ms": round(remote.percentile(99), 1),
            "errors": remote.errors, "floor": round(local.per_second, 1),
            "floor_what": f"in-process Casework.record_service, {clients} threads, same run",
            "floor_p99_ms": round(local.percentile(99), 1), "ratio": round(remote.per_second / local.per_second, 3),
            "goal": ">= 0.5 and p99 <= 50 ms", "api_worker_rss_mib": rss,
            "api_cpu_ms_per_command": round(api_cpu / max(remote.commands, 1) * 1000, 2),
            "http_client_cpu_ms_per_command": round(client_cpu / max(remote.commands, 1) * 1000, 2),
            "in_process_cpu_ms_per_command": round(local_cpu / max(local.commands, 1) * 1000, 2),
            "workers": workers, "cases": cases_n,
            "seconds": seconds, "pool_size": pool_size, "load_average_at_start": load_at_start,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}


def run(size: str) -> dict[str, object]:
    """``bench.run``'s entry point."""
    chosen = SIZES[size]
    return measure(int(chosen["cases"]), chosen["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="a few seconds (what CI runs)")
    parser.add_argument("--cases", type=int, default=640, help="Iceland cases opened (split over the clients)")
    parser.add_argument("--seconds", type=float, default=15, help="duration of each measurement")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (threads / async clients)")
    parser.add_argument("--workers", type=int, default=WORKERS, help="API worker processes")
    args = parser.parse_args()
    if args.smoke:
        args.cases, args.seconds = int(SIZES["smoke"]["cases"]), SIZES["smoke"]["seconds"]
    pool_size = int(os.environ.get("PROSPERITY_PG_POOL_SIZE", "5"))
    configure_logging("console", level=30)
    print(f"HTTP commands: {args.cases} cases, {args.clients} clients, {args.seconds:.0f} s each, event-store pool "
          f"{pool_size}, {args.workers} API workers; {platform.platform()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    result = measure(args.cases, args.seconds, args.clients, pool_size, args.workers)
    print("== P5 ==")
    for key, value in result.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
