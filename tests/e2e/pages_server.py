"""The pages' browser tests' world: one schema on the real PostgreSQL, seeded through the HTTP API (in process,
on the scenario's clock), its read models built, then served by a real ``prosperity api`` (uvicorn) on a free
port, and Debian's chromium driven by Playwright (``executable_path``: never ``playwright install``, see
``/work/shared/tech-notes-browser.md``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import UUID

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from services.api.app import create_app
from services.casework.application import Casework
from services.infra.embedded import free_port
from services.infra.postgres_env import PgTarget, drop_schema, ensure_schema
from tests.integration.test_api_commands import (
    ICELAND_TO_TEAM,
    NORWAY_STEPS,
    SETTINGS,
    Api,
    Clock,
    open_iceland_case,
    open_norway_case,
    run_steps,
)
from tests.integration.test_api_queries import build_read_models

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screens"
NORWAY_TO_PLAN = 6
"""NORWAY_STEPS[:6]: assessed, granted (decision-1, with its complaint deadline), consent, appointed, instructed,
individual plan."""


@dataclass(frozen=True)
class World:
    base_url: str
    target: PgTarget
    team_case: UUID
    """Iceland, support team established, request in force (the coordinator records a service here)."""
    contact_case: UUID
    """Iceland, first contact only: no request yet, so recording a service is refused (IS-G0)."""
    norway_case: UUID
    """Norway, barnekoordinator appointed and individual plan adopted; decision-1 granted."""
    pending_case: UUID
    """Norway, a request without a written decision (a supervisor's §5 question lists it)."""


def seed(target: PgTarget) -> tuple[UUID, UUID, UUID, UUID]:
    """Three cases through the HTTP API, then both read models rebuilt from the store."""
    from contracts import commands as c
    from tests.integration.test_api_commands import COORD, SCHOOL, STAFF

    app = Casework(target.eventsourcing_env(), clock=Clock())
    try:
        with TestClient(create_app(app, SETTINGS)) as client:
            api = Api(client, app, app.clock)  # type: ignore[arg-type]
            team = open_iceland_case(api)
            run_steps(api, team, ICELAND_TO_TEAM, 1)
            contact = UUID(api.ok(c.RegisterContact(
                child_ref="person:child-is-7", parent_refs=("person:parent-is-7",), birth_date=None,
                municipality_ref="muni:reykjavik", coordinator_ref=COORD.person_ref, coordinator_org_ref=SCHOOL,
                life_stage="secondary", conflict_of_interest_declared_none=True), COORD, day=3)["case_id"])
            norway = open_norway_case(api)
            run_steps(api, norway, NORWAY_STEPS[:NORWAY_TO_PLAN], 1)
            pending = UUID(api.ok(c.RequestBarnekoordinator(
                child_ref="person:child-no-8", parent_refs=("person:parent-no-8",), birth_date=date(2015, 4, 1),
                municipality_ref="muni:bodo", request_id="request-8", channel="written",
                requested_by_ref="person:parent-no-8", family_status="child_under_18"), STAFF, day=60)["case_id"])
            build_read_models(api, target)
    finally:
        app.close()
    return team, contact, norway, pending


def _wait(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base_url + "/ready", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the API did not start (exit {process.poll()}): {log.read_text()[-2000:]}")
        time.sleep(0.1)


def serve(pg_dsn: str, scratch: Path) -> Iterator[World]:
    """The world for a module: seeded schema, a uvicorn ``prosperity api`` on it; stopped and dropped after."""
    target = PgTarget(dsn=pg_dsn, schema=f"t_{uuid.uuid4().hex[:12]}")
    ensure_schema(target.dsn, target.schema)
    try:
        team, contact, norway, pending = seed(target)
        port = free_port()
        env = {**os.environ, "PROSPERITY_PG_DSN": target.dsn, "PROSPERITY_PG_SCHEMA": target.schema,
               "PROSPERITY_ENV": "development", "PROSPERITY_DATA_DIR": str(scratch), "PROSPERITY_LOG_FORMAT": "json"}
        env.pop("PROSPERITY_NATS_URL", None)
        log = scratch / f"api-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "services.cli", "api", "--host", "127.0.0.1",
                                        "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out)
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait(base_url, process, log)
            yield World(base_url, target, team, contact, norway, pending)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
    finally:
        drop_schema(target.dsn, target.schema)


def chromium_path() -> str:
    """Debian's chromium (``.ci/run`` installs it when missing); a missing browser fails the tests, visibly."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not found:
        raise RuntimeError("chromium is not installed: run .ci/run (it installs it), or apt-get install chromium")
    return found
