"""``prosperity up`` + ``prosperity demo`` end to end: the whole system as separate processes, through HTTP.

``up`` runs against the session's real PostgreSQL (``PROSPERITY_PG_DSN``, else the embedded server of the root
conftest) in its own schema, and its own embedded nats-server on a free port, from the generated configuration
(auth on, each service its own identity). The test drives it as a user would: waits for "prosperity is up",
kills its nats-server (reported, restarted, ``/ready`` not ready meanwhile, every service reconnects), runs the
demo, then checks the dashboard read model, the mail catcher, an audit trail, the supervision of a killed
service, and a clean stop on SIGINT.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
import pytest

from services.consumers.registry import load_projection
from services.consumers.store import ReadModelStore
from services.infra.embedded import free_port
from services.infra.postgres_env import drop_schema

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


class Output:
    """Collects a process's output lines in a thread, so the test can wait for a line without blocking."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)
            self._queue.put(line)

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if text in line:
                return line
        raise AssertionError(f"{text!r} not printed within {timeout}s; output:\n{''.join(self.lines)[-4000:]}")


def eventually(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.3)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def check_demo_people_only_in_the_vault(demo_output: str, state: dict[str, Any], data_dir: Path,
                                        env: dict[str, str]) -> None:
    from services.api.identity import mint_token
    from services.api.settings import ApiSettings
    from services.bus.settings import BusSettings
    from services.demo_people import identity

    case_id, parent = next(line.split()[-2:] for line in demo_output.splitlines() if "person:parent-" in line
                           and line.startswith("  "))
    token = mint_token(ApiSettings(), person_ref=parent, role="parent")
    mine = httpx.get(f"{state['api_url']}/v1/cases/{case_id}/people/{parent}", timeout=10,
                     headers={"Authorization": f"Bearer {token}", "X-Purpose": "own_case"})
    assert mine.status_code == 200 and mine.json()["name"] == identity(parent)["name"], mine.text
    admin_seed = next((data_dir / "nats").rglob("admin.nk"))
    scan_env = {**env, "PROSPERITY_NATS_URL": state["nats_url"], "PROSPERITY_NATS_SEED_FILE": str(admin_seed)}
    stream = BusSettings().namespace.stream

    def vault_scan(*needles: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.cli", "vault", "scan", *needles, "--stream", stream],
                              cwd=ROOT, env=scan_env, text=True, capture_output=True, timeout=120)

    scan = vault_scan("--demo", "--seed", "1", "--cases", "20")
    assert scan.returncode == 0 and "identifiers: 0 found" in scan.stderr, scan.stdout + scan.stderr
    assert int(scan.stderr.split("scanned ")[1].split()[0]) >= 4  # the event store's schema and the read models'
    control = vault_scan("--needle", parent)  # what events do hold (a reference) is found, on the stream too
    assert control.returncode == 1 and f"in stream {stream}" in control.stdout, control.stdout + control.stderr


@pytest.fixture
def isolated(pg_dsn: str) -> Iterator[dict[str, str]]:
    """Environment for one ``up``: its own schema on the session's PostgreSQL; cleaned after. No NATS settings:
    ``up`` runs its own nats-server with the generated accounts."""
    token = uuid.uuid4().hex[:10]
    env = {"PROSPERITY_PG_DSN": pg_dsn, "PROSPERITY_PG_SCHEMA": f"e2e_{token}"}
    yield env
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        schemas = [row[0] for row in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                                                  (f"e2e_{token}%",))]
    for schema in schemas:
        drop_schema(pg_dsn, schema)


def ready_status(api_url: str) -> int:
    try:
        return httpx.get(f"{api_url}/ready", timeout=1).status_code
    except httpx.HTTPError:
        return 0


def kill_nats_and_watch_ready(state: dict[str, Any], output: Output) -> list[int]:
    """SIGKILL `up`'s nats-server; return the /ready statuses seen until it is back and ready."""
    os.kill(state["nats_pid"], signal.SIGKILL)
    statuses: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        statuses.append(ready_status(state["api_url"]))
        if 503 in statuses and statuses[-1] == 200:
            break
        time.sleep(0.1)
    output.wait_for(f"nats-server (pid {state['nats_pid']}) exited with code -9", timeout=5)
    output.wait_for("nats-server restarted", timeout=15)
    return statuses


MOVING = {
    "api": ("prosperity_http_requests_total", {}),
    "relay": ("prosperity_relay_published_total", {}),
    "consume-dashboard": ("prosperity_consumer_facts_total", {"outcome": "applied"}),
    "consume-audit": ("prosperity_consumer_facts_total", {"outcome": "applied"}),
    "consume-notifications": ("prosperity_consumer_facts_total", {"outcome": "applied"}),
    "notifier": ("prosperity_notifier_outbox", {"status": "sent"}),
    "clock": ("prosperity_clock_passes_total", {}),
}
"""Per service, a metric that must grow while the demo runs (summed over its label sets matching the labels)."""


def total(exposition: str, name: str, labels: dict[str, str]) -> float:
    found = 0.0
    for line in exposition.splitlines():
        if (line.startswith(name + "{") or line.startswith(name + " ")) and all(
                f'{k}="{v}"' in line for k, v in labels.items()):
            found += float(line.rsplit(" ", 1)[1])
    return found


def scrape_every_service(state: dict[str, Any]) -> dict[str, float]:
    urls = {"api": state["api_url"], **state["ops"]}
    figures = {}
    for service, (name, labels) in MOVING.items():
        exposition = httpx.get(f"{urls[service]}/metrics", timeout=5).text
        figures[service] = total(exposition, name, labels)
    return figures


def moved(before: dict[str, float], now: dict[str, float]) -> dict[str, float] | None:
    grown = {service: now[service] for service in MOVING if now[service] > before[service]}
    return grown if len(grown) == len(MOVING) else None


def test_up_runs_the_system_the_demo_fills_it_and_ctrl_c_stops_it(isolated: dict[str, str], tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PROSPERITY_NATS")}
    env = {**inherited, **isolated, "PROSPERITY_LOG_FORMAT": "json"}
    schema = isolated["PROSPERITY_PG_SCHEMA"]
    up = subprocess.Popen([sys.executable, "-m", "services.cli", "up", "--data-dir", str(data_dir), "--api-port",
                           str(free_port()), "--smtp-port", "0", "--nats-port", str(free_port())], cwd=ROOT, env=env,
                          text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = Output(up)
    try:
        output.wait_for("prosperity is up", timeout=60)
        output.wait_for("next: `prosperity demo`", timeout=10)
        state: dict[str, Any] = json.loads((data_dir / "up.json").read_text())
        assert set(state["services"]) == {"api", "relay", "consume-dashboard", "consume-audit",
                                          "consume-notifications", "notifier", "clock"}
        assert "case_manager " in "".join(output.lines)  # a dev token per role is printed
        assert state["nats_url"] != os.environ.get("PROSPERITY_NATS_URL") and state["nats_pid"]

        # Its nats-server dies: reported, reaped, restarted on the same configuration; /ready says not ready
        # meanwhile; the relay and the consumers reconnect (the demo's facts below reach the read models).
        statuses = kill_nats_and_watch_ready(state, output)
        assert 503 in statuses and statuses[-1] == 200, statuses
        assert not _alive(state["nats_pid"]), "the killed nats-server was reaped, not left as a zombie"
        state = json.loads((data_dir / "up.json").read_text())
        assert _alive(state["nats_pid"])

        before = scrape_every_service(state)
        demo = subprocess.run([sys.executable, "-m", "services.cli", "demo", "--cases", "20", "--seed", "1",
                               "--data-dir", str(data_dir)], cwd=ROOT, env=env, text=True, capture_output=True,
                              timeout=120)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "20 cases recorded" in demo.stdout

        dashboard = ReadModelStore(isolated["PROSPERITY_PG_DSN"], load_projection("dashboard"), base_schema=schema)
        audit = ReadModelStore(isolated["PROSPERITY_PG_DSN"], load_projection("audit"), base_schema=schema)
        try:
            def cases_on_dashboard() -> int | None:
                with dashboard.reading() as cur:
                    row = cur.execute("SELECT count(*) FROM dash_case").fetchone()
                return row[0] if row and row[0] == 20 else None

            eventually(cases_on_dashboard, 30, "the 20 demo cases reaching the dashboard read model")
            with dashboard.reading() as cur:
                jurisdictions = {r[0] for r in cur.execute("SELECT DISTINCT jurisdiction FROM dash_case").fetchall()}
            assert jurisdictions == {"IS", "NO"}

            def longest_trail() -> list[tuple[int, str]] | None:
                with audit.reading() as cur:
                    row = cur.execute("SELECT case_id FROM audit_trail GROUP BY case_id "
                                      "ORDER BY count(*) DESC LIMIT 1").fetchone()
                    if row is None:
                        return None
                    trail = cur.execute("SELECT case_version, event_type FROM audit_trail WHERE case_id = %s "
                                        "ORDER BY case_version", (row[0],)).fetchall()
                return [(r[0], r[1]) for r in trail] if len(trail) >= 8 else None

            trail = eventually(longest_trail, 30, "an audit trail with the facts of a long case")
            assert [version for version, _ in trail] == list(range(1, len(trail) + 1))
        finally:
            dashboard.close()
            audit.close()

        summary = subprocess.run([sys.executable, "-m", "services.cli", "dashboard", "--data-dir", str(data_dir)],
                                 cwd=ROOT, env=env, text=True, capture_output=True, timeout=60)
        assert summary.returncode == 0, summary.stderr
        for heading in ("Services by level", "Iceland funnel", "Norway funnel", "Timeliness", "Complaints by stage"):
            assert heading in summary.stdout
        assert "muni:" in summary.stdout

        mails = eventually(lambda: sorted((data_dir / "mail").glob("*.eml")), 60, "a notification in the mail dir")
        # Every service's /metrics moved under the demo's load (the names the dashboard and the alerts use).
        after = eventually(lambda: moved(before, scrape_every_service(state)), 30, "every service's metrics moving")
        assert set(after) == set(MOVING), after
        assert b"demo.prosperity.invalid" in mails[0].read_bytes()  # resolved from the vault at send time

        # The demo's families are in the vault (a parent reads their own), and nowhere else: the event store,
        # every read model and the stream hold none of their names, ID numbers, addresses or phone numbers.
        check_demo_people_only_in_the_vault(demo.stdout, state, data_dir, env)

        # A service dies: `up` reports it, the others (the API) keep answering, and it is started again.
        victim = state["services"]["consume-dashboard"]
        os.kill(victim, signal.SIGKILL)
        output.wait_for("service consume-dashboard", timeout=10)
        assert httpx.get(f"{state['api_url']}/health", timeout=5).status_code == 200
        output.wait_for("consume-dashboard restarted", timeout=15)
        final = json.loads((data_dir / "up.json").read_text())
        pids = [*final["services"].values(), final["nats_pid"]]
        assert victim not in pids

        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=30) == 0
        output.wait_for("prosperity stopped", timeout=5)
        assert not [pid for pid in pids if _alive(pid)]
        assert not (data_dir / "up.json").exists()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
            # `up` was killed before it could stop its services (they run in their own sessions): stop them here.
            state_file = data_dir / "up.json"
            last = json.loads(state_file.read_text()) if state_file.exists() else {"services": {}}
            for pid in [*last["services"].values(), last.get("nats_pid")]:
                if pid and _alive(pid):
                    os.kill(pid, signal.SIGKILL)
