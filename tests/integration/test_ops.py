"""The ops port of every non-API process (services/ops.py), on the real processes against real PostgreSQL and a
real nats-server with the generated accounts: ``/ready`` reports what it checks, turns 503 when a dependency goes
away and back to 200 when it returns; ``/health`` follows the process's own loop or threads; ``/metrics`` is
prometheus-client's registry."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from services.infra.embedded import free_port
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from services.up import _prepare_read_models as prepare_read_models
from tests.integration.notifier_support import Inbox

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    with log.open("ab") as out:
        child = subprocess.Popen([sys.executable, "-m", "services.cli", *argv], cwd=ROOT, stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=out,
                                 env=os.environ | env | {"PROSPERITY_OPS_PORT": str(port),
                                                         "PROSPERITY_LOG_FORMAT": "json"})
    try:
        yield child, f"http://127.0.0.1:{port}"
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()


def until(url: str, accept: Callable[[httpx.Response], bool], child: subprocess.Popen[bytes], log: Path,
          timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``url`` until ``accept`` holds for its answer; the JSON body of that answer."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        assert child.poll() is None, f"process exited: {log.read_text()[-3000:]}"
        try:
            response = httpx.get(url, timeout=5.0)
        except httpx.HTTPError as error:
            last = repr(error)
        else:
            last = f"{response.status_code} {response.text[:500]}"
            if accept(response):
                body: dict[str, Any] = response.json() if response.headers.get("content-type", "").startswith(
                    "application/json") else {"text": response.text}
                return body
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered as expected; last: {last}")


def json_lines_only(log: Path) -> list[dict[str, Any]]:
    """Every line the process wrote is one JSON object (ours and the libraries' alike), with no colour codes."""
    text = log.read_text()
    assert "\x1b[" not in text
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def ok(response: httpx.Response) -> bool:
    return response.status_code == 200


def failing(response: httpx.Response) -> bool:
    return response.status_code == 503


def store_env(pg: PgTarget) -> dict[str, str]:
    return {"PROSPERITY_PG_DSN": pg.dsn, "PROSPERITY_PG_SCHEMA": pg.schema, "PROSPERITY_PG_POOL_SIZE": "2"}


def test_relays_report_leader_and_standby_with_lag_and_are_unready_without_nats(
        pg_schema: PgTarget, js_stream: JsTarget, tmp_path: Path) -> None:
    env = store_env(pg_schema) | js_stream.env("relay") | {"PROSPERITY_RELAY_POLL_INTERVAL": "0.2"}
    log = tmp_path / "relay.log"
    with process(["relay"], env, log) as (first, first_url):
        ready = until(f"{first_url}/ready", ok, first, log)
        assert ready["checks"]["relay"] == {"ok": True, "role": "leader", "position": 0, "lag": 0}
        assert ready["checks"]["nats"]["ok"] is True
        with process(["relay"], env, log) as (second, second_url):
            standby = until(f"{second_url}/ready", ok, second, log)
            assert standby["checks"]["relay"]["role"] == "standby"
        assert until(f"{first_url}/health", ok, first, log)["status"] == "ok"
        metrics = until(f"{first_url}/metrics", ok, first, log)["text"]
        assert "process_resident_memory_bytes" in metrics and "python_info" in metrics

        js_stream.bus.server.stop()
        down = until(f"{first_url}/ready", failing, first, log)
        assert down["status"] == "failing" and down["checks"]["nats"]["ok"] is False
        js_stream.bus.server.start()
        until(f"{first_url}/ready", ok, first, log)
    assert {"relay.leading", "relay.standby", "ops.not_ready"} <= {line["event"] for line in json_lines_only(log)}


def test_a_consumer_reports_its_pending_count_and_is_unready_without_nats(
        pg_schema: PgTarget, js_stream: JsTarget, tmp_path: Path) -> None:
    env = store_env(pg_schema) | js_stream.env("dashboard")
    log = tmp_path / "consumer.log"
    with process(["consume", "dashboard"], env, log) as (child, url):
        ready = until(f"{url}/ready", ok, child, log)
        assert ready["process"] == "consume-dashboard"
        assert ready["checks"]["consumer"] == {"ok": True, "durable": "dashboard", "pending": 0, "ack_pending": 0,
                                               "redelivered": 0}
        assert ready["checks"]["postgres"]["ok"] is True
        assert until(f"{url}/health", ok, child, log)["checks"]["loop"] == {"ok": True, "loop": "responds"}

        js_stream.bus.server.stop()
        down = until(f"{url}/ready", failing, child, log)
        assert down["checks"]["nats"]["ok"] is False and down["checks"]["consumer"]["ok"] is False
        assert until(f"{url}/health", ok, child, log)["status"] == "ok"  # alive: it waits for NATS, no restart
        js_stream.bus.server.start()
        until(f"{url}/ready", ok, child, log, timeout=90)
    lines = json_lines_only(log)
    assert {"consumer.started", "ops.serving"} <= {line["event"] for line in lines}
    assert any(line.get("logger", "").startswith(("nats", "faststream")) for line in lines), "no library's line"


def test_the_notifier_reports_its_workers_and_is_unready_without_its_smtp_relay(
        pg_schema: PgTarget, tmp_path: Path) -> None:
    log = tmp_path / "notifier.log"
    prepare_read_models(pg_schema.dsn, pg_schema.schema)  # as `up` does: the notifier reads their generations
    smtp_port = free_port()
    catcher = Controller(Inbox(), hostname="127.0.0.1", port=smtp_port)
    catcher.start()
    env = store_env(pg_schema) | {"PROSPERITY_NOTIFIER_SMTP_HOST": "127.0.0.1",
                                  "PROSPERITY_NOTIFIER_SMTP_PORT": str(smtp_port)}
    running = True
    try:
        with process(["notifier"], env, log) as (child, url):
            ready = until(f"{url}/ready", ok, child, log)
            assert ready["checks"]["smtp"] == {"ok": True, "host": "127.0.0.1", "port": smtp_port}
            health = until(f"{url}/health", ok, child, log)
            assert health["checks"]["workers"] == {"ok": True, "threads": 3, "dead": []}  # 2 workers, the scheduler
            catcher.stop()
            running = False
            down = until(f"{url}/ready", failing, child, log)
            assert down["checks"]["smtp"] == {"ok": False, "error": "ConnectionRefusedError"}
            assert down["checks"]["postgres"]["ok"] is True
    finally:
        if running:
            catcher.stop()


def test_the_api_serves_the_same_three_paths_on_its_own_port(pg_schema: PgTarget, tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    port = free_port()
    with process(["api"], store_env(pg_schema) | {"PROSPERITY_API_PORT": str(port)}, log) as (child, _ops):
        url = f"http://127.0.0.1:{port}"
        assert until(f"{url}/ready", ok, child, log) == {"status": "ready"}
        assert until(f"{url}/health", ok, child, log) == {"status": "ok"}
        metrics = until(f"{url}/metrics", ok, child, log)["text"]
        assert "process_resident_memory_bytes" in metrics
        schema = httpx.get(f"{url}/openapi.json", timeout=5).json()
        assert "/metrics" not in schema["paths"]  # an operations path, not part of the API's contract
