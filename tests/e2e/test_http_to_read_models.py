"""End to end: both lifecycles over HTTP, then the facts on NATS JetStream and their effects in every read
model, with the relay and the three consumers running as real processes, each as its own restricted identity
on a nats-server running the generated configuration."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from contracts.mapping import PUBLISHED_TOPICS
from projections.audit.projection import AuditProjection
from projections.audit.queries import case_trail
from projections.dashboard.oversight import complaints_by_stage
from projections.dashboard.projection import DashboardProjection
from services.api.app import create_app
from services.casework.application import Casework
from services.consumers.store import ReadModelStore
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from tests.integration.test_api_commands import (  # the API fixture and both lifecycles, as the API tests drive them
    ICELAND_REST,
    ICELAND_TO_TEAM,
    NORWAY_STEPS,
    SETTINGS,
    Api,
    Clock,
    open_iceland_case,
    open_norway_case,
    run_steps,
)

ROOT = Path(__file__).resolve().parents[2]
READ_MODELS = ("dashboard", "audit", "notifications")


@pytest.fixture
def http(pg_schema: PgTarget) -> Iterator[Api]:
    """The HTTP API in-process (TestClient) on the test's event store, with the episode's clock."""
    clock = Clock()
    app = Casework(pg_schema.eventsourcing_env(), clock=clock)
    try:
        with TestClient(create_app(app, SETTINGS)) as client:
            yield Api(client, app, clock)
    finally:
        app.close()


@pytest.fixture
def processes(pg_schema: PgTarget, js_stream: JsTarget) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {**os.environ, "PROSPERITY_PG_DSN": pg_schema.dsn, "PROSPERITY_PG_SCHEMA": pg_schema.schema,
           "PROSPERITY_RELAY_POLL_INTERVAL": "0.2", "PROSPERITY_LOG_FORMAT": "json"}
    commands = [("relay", ["relay"]), *((name, ["consume", name]) for name in READ_MODELS)]
    started = [subprocess.Popen([sys.executable, "-m", "services.cli", *command], cwd=ROOT,
                                env=env | js_stream.env(identity), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for identity, command in commands]
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def applied_versions(dsn: str, schema: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        try:
            rows = conn.execute(sql.SQL("SELECT case_id::text, case_version FROM {}.consumer_positions")
                                .format(sql.Identifier(schema))).fetchall()
        except psycopg.errors.UndefinedTable:
            return {}
    return dict(rows)


def wait_until_applied(pg_schema: PgTarget, expected: dict[str, int], processes: list[subprocess.Popen[bytes]],
                       timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        behind = [name for name in READ_MODELS
                  if applied_versions(pg_schema.dsn, f"{pg_schema.schema}__{name}_g1") != expected]
        if not behind:
            return
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"{process.args!r} exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.25)
    raise AssertionError(f"read models {behind} did not catch up within {timeout}s")


async def stream_messages(js_stream: JsTarget) -> list[Any]:
    client = await js_stream.connect("admin")
    try:
        js = client.jetstream()
        subscription = await js.subscribe(js_stream.subject(">"), stream=js_stream.stream, ordered_consumer=True)
        info = await js.stream_info(js_stream.stream)
        messages = [await subscription.next_msg(timeout=5) for _ in range(info.state.messages)]
        await subscription.unsubscribe()
        return messages
    finally:
        await client.close()


async def test_lifecycles_over_http_reach_nats_and_every_read_model(
        http: Api, pg_schema: PgTarget, js_stream: JsTarget, processes: list[subprocess.Popen[bytes]]) -> None:
    api = http
    iceland = open_iceland_case(api)
    iceland_version = run_steps(api, iceland, ICELAND_TO_TEAM + ICELAND_REST, 1)
    norway = open_norway_case(api)
    norway_version = run_steps(api, norway, NORWAY_STEPS, 1)

    stored = api.app.recorder.select_notifications(start=None, limit=10_000, topics=PUBLISHED_TOPICS)
    expected = {str(aggregate): version for aggregate, version in
                {n.originator_id: n.originator_version for n in stored}.items()}
    await asyncio.to_thread(wait_until_applied, pg_schema, expected, processes)

    # On NATS: every stored fact once, with the Nats-Msg-Id of its notification, under its contract's subject.
    messages = await stream_messages(js_stream)
    facts = [m for m in messages if ".v1." in m.subject]
    assert sorted(m.headers["Nats-Msg-Id"] for m in facts) == sorted(f"Casework:{n.id}" for n in stored)
    iceland_facts = [json.loads(m.data) for m in facts if json.loads(m.data)["case_id"] == str(iceland)]
    assert [f["case_version"] for f in iceland_facts] == list(range(1, iceland_version + 1))
    assert all(m.subject.startswith(f"{js_stream.subject_prefix}.cases.v1.is.reykjavik.")
               for m in facts if json.loads(m.data)["case_id"] == str(iceland))

    # In the read models: the audit trail of each case in order, the complaints on the dashboard, the notices.
    audit = ReadModelStore(pg_schema.dsn, AuditProjection(), base_schema=pg_schema.schema)
    dashboard = ReadModelStore(pg_schema.dsn, DashboardProjection(), base_schema=pg_schema.schema)
    try:
        with audit.reading() as cur:
            assert [row.case_version for row in case_trail(cur, iceland)] == list(range(1, iceland_version + 1))
            assert [row.case_version for row in case_trail(cur, norway)] == list(range(1, norway_version + 1))
        with dashboard.reading() as cur:
            stages = complaints_by_stage(cur, as_of=api.clock.now.date())
        assert stages, "the dashboard shows the complaints of both lifecycles"
    finally:
        audit.close()
        dashboard.close()
    with psycopg.connect(pg_schema.dsn) as conn:
        kinds = {row[0] for row in conn.execute(sql.SQL("SELECT kind FROM {}.outbox").format(
            sql.Identifier(f"{pg_schema.schema}__notifications_g1"))).fetchall()}
    assert kinds, "the notification outbox holds the notices of both lifecycles"
