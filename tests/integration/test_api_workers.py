"""``prosperity api --workers 2``: two uvicorn worker processes (uvloop, httptools) on one store, each with its
own Casework; commands sent over real HTTP to both are all recorded once, commuting ones on one case included
(writes of the two workers meet only in PostgreSQL: collisions are retried with jittered backoff)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from services.casework.application import Casework
from services.infra.postgres_env import PgTarget
from tests.integration.test_api_commands import CM, Api, auth
from tests.integration.test_api_concurrency import api, case_at_team_stage, invitation

__all__ = ["api"]  # the fixture

ROOT = Path(__file__).resolve().parents[2]
INVITATIONS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def workers(pid: int) -> list[int]:
    """The uvicorn worker processes under ``pid`` (multiprocessing's resource tracker is a child too)."""
    found = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [p for p in found if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]


def start(pg_schema: PgTarget, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PROSPERITY_PG_DSN": pg_schema.dsn, "PROSPERITY_PG_SCHEMA": pg_schema.schema,
           "PROSPERITY_PG_POOL_SIZE": "2", "PROSPERITY_ENV": "development", "PROSPERITY_LOG_FORMAT": "json"}
    env.pop("PROSPERITY_NATS_URL", None)
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "services.cli", "api", "--port", str(port), "--workers", "2"],
                                cwd=ROOT, env=env, stdout=out, stderr=out)


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    until = time.monotonic() + 60
    while time.monotonic() < until:
        assert process.poll() is None, log.read_text()[-2000:]
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200 and len(workers(process.pid)) == 2:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the API did not start: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def running_api(pg_schema: PgTarget, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """``prosperity api --workers 2`` started and ready; stopped with SIGTERM at the end."""
    port = free_port()
    log = tmp_path / "api.log"
    process = start(pg_schema, port, log)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, log)
        yield process, f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(timeout=20)


async def invite_all(base: str, case_id: object) -> list[httpx.Response]:
    # a new connection per request, so the kernel spreads them over both workers' accepts
    async def one(i: int) -> httpx.Response:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            body = invitation(case_id, i).model_dump(mode="json", exclude={"case_id"})  # type: ignore[arg-type]
            return await http.post(f"/v1/cases/{case_id}/support-team/general-service-invitations", json=body,
                                   headers=auth(CM))

    return list(await asyncio.gather(*(one(i) for i in range(INVITATIONS))))


def test_two_workers_record_every_commuting_command_once(api: Api, pg_schema: PgTarget, tmp_path: Path) -> None:
    case_id, version = case_at_team_stage(api)
    with running_api(pg_schema, tmp_path) as (_, base, _):
        responses = asyncio.run(invite_all(base, case_id))
        exposition = httpx.get(f"{base}/metrics", timeout=5).text  # whichever worker answers: both workers' sum

    refused = [r.text for r in responses if r.status_code != 200]
    assert not refused, refused
    assert sorted(r.json()["version"] for r in responses) == list(range(version + 1, version + INVITATIONS + 1))
    fresh = Casework(pg_schema.eventsourcing_env())
    try:
        invited = [e.member.person_ref for e in fresh.events.get(case_id, gt=version)]  # type: ignore[attr-defined]
    finally:
        fresh.close()
    assert sorted(invited) == sorted(f"person:helper-{i}" for i in range(INVITATIONS))
    route = "/v1/cases/{case_id}/support-team/general-service-invitations"
    counted = [float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines()
               if line.startswith("prosperity_http_requests_total{") and f'route="{route}"' in line]
    assert sum(counted) == INVITATIONS, exposition[-3000:]


def _established(pid: int, port: int) -> int:
    """Connections to ``port`` the process ``pid`` holds open (its socket fds found in /proc/net/tcp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].rsplit(":", 1)[1] == f"{port:04X}" and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


def test_keep_alive_connections_opened_together_are_spread_over_the_workers(pg_schema: PgTarget,
                                                                             tmp_path: Path) -> None:
    """services.api.workers: each worker listens on its own SO_REUSEPORT socket, so 32 connections opened at once
    do not all stay with the worker that woke first (with one shared socket, 30 of 32 did)."""
    with running_api(pg_schema, tmp_path) as (process, base, log):
        port = int(base.rsplit(":", 1)[1])
        connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
        try:
            for connection in connections:
                connection.sendall(b"GET /health HTTP/1.1\r\nHost: api\r\n\r\n")
            for connection in connections:
                assert connection.recv(4096).startswith(b"HTTP/1.1 200")
            shares = [_established(pid, port) for pid in workers(process.pid)]
        finally:
            for connection in connections:
                connection.close()
    assert sum(shares) == 32 and min(shares) >= 6, shares  # binomial(32, 1/2) below 6: about 1 in 100,000
    assert process.returncode == 0, log.read_text()[-2000:]


def test_a_worker_that_dies_is_replaced(pg_schema: PgTarget, tmp_path: Path) -> None:
    with running_api(pg_schema, tmp_path) as (process, base, log):
        before = workers(process.pid)
        os.kill(before[0], signal.SIGKILL)
        until = time.monotonic() + 60
        while time.monotonic() < until:
            now = workers(process.pid)
            if len(now) == 2 and before[0] not in now:
                break
            time.sleep(0.2)
        wait_ready(base, process, log)
        assert before[0] not in workers(process.pid) and before[1] in workers(process.pid)
        assert '"api.worker_died"' in log.read_text()
