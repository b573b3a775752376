"""Shared fixtures: real PostgreSQL and NATS JetStream, with per-test isolation.

Integration tests run against real servers, never fakes, found in this order:

1. ``PROSPERITY_PG_DSN`` / ``PROSPERITY_NATS_URL``: services already running (CI machines);
2. Docker, when a daemon answers: testcontainers ``postgres:16`` and ``nats:2.10 -js``;
3. the servers shipped as wheels (``services.infra.embedded``), under a temporary directory.

Servers are session-scoped (started once); each test gets its own PostgreSQL schema and its own
JetStream stream, so tests cannot see each other's data and need no cleanup ordering.
Servers start lazily: unit tests never pay for them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import nats.js.errors
import pytest

from contracts.subjects import deadletter_stream_for
from services.infra.embedded import EmbeddedNats, EmbeddedPostgres
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget, drop_schema, ensure_schema

PG_DSN_ENV = "PROSPERITY_PG_DSN"
NATS_URL_ENV = "PROSPERITY_NATS_URL"
TEST_KINDS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by its top-level folder, so ``-m unit`` etc. select by kind without decorators."""
    tests_root = Path(__file__).parent
    for item in items:
        parts = item.path.relative_to(tests_root).parts if item.path.is_relative_to(tests_root) else ()
        if len(parts) > 1 and parts[0] in TEST_KINDS:
            item.add_marker(getattr(pytest.mark, parts[0]))


def pytest_report_header(config: pytest.Config) -> str:
    """Say where the real servers come from, so a CI log shows what the integration tests ran against."""

    def source(env_var: str) -> str:
        if os.environ.get(env_var):
            return f"${env_var}"
        return "docker (testcontainers)" if docker_available() else "embedded (wheel)"

    return f"prosperity servers: postgres={source(PG_DSN_ENV)}, nats={source(NATS_URL_ENV)}"


@functools.cache
def docker_available() -> bool:
    """True when a Docker daemon answers a ping within a few seconds (checked once per session)."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no SDK, no socket, daemon down, permission denied: all mean "no Docker"
        return False


@pytest.fixture(scope="session")
def scratch_dir() -> Iterator[Path]:
    """A session temp dir with a short path: Unix-socket paths must stay under ~100 characters."""
    path = Path(tempfile.mkdtemp(prefix="prosperity-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_dsn(scratch_dir: Path) -> Iterator[str]:
    """DSN of a real PostgreSQL database for this test session."""
    if dsn := os.environ.get(PG_DSN_ENV):
        yield dsn
    elif docker_available():
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver=None) as container:
            yield str(container.get_connection_url())
    else:
        with EmbeddedPostgres(scratch_dir / "pg", database="test") as server:
            yield server.dsn


@pytest.fixture(scope="session")
def nats_url(scratch_dir: Path) -> Iterator[str]:
    """URL of a real NATS server with JetStream enabled for this test session."""
    if url := os.environ.get(NATS_URL_ENV):
        yield url
    elif docker_available():
        from testcontainers.community.nats import NatsContainer

        with NatsContainer("nats:2.10", jetstream=True) as container:
            yield str(container.nats_uri())
    else:
        with EmbeddedNats(scratch_dir / "nats") as server:
            yield server.url


@pytest.fixture
def pg_schema(pg_dsn: str) -> Iterator[PgTarget]:
    """A fresh schema ``t_<hex>`` in the session database, dropped with all its tables afterwards."""
    target = PgTarget(dsn=pg_dsn, schema=f"t_{uuid.uuid4().hex[:12]}")
    ensure_schema(target.dsn, target.schema)
    try:
        yield target
    finally:
        drop_schema(target.dsn, target.schema)


@pytest.fixture
async def js_stream(nats_url: str) -> AsyncIterator[JsTarget]:
    """A fresh JetStream stream ``T_<hex>`` capturing subjects ``t<hex>.>``, deleted afterwards."""
    token = uuid.uuid4().hex[:12]
    target = JsTarget(url=nats_url, stream=f"T_{token}", subject_prefix=f"t{token}")
    client = await nats.connect(nats_url)
    try:
        jetstream = client.jetstream()
        await jetstream.add_stream(name=target.stream, subjects=target.subjects)
        try:
            yield target
        finally:
            await jetstream.delete_stream(target.stream)
            with contextlib.suppress(nats.js.errors.NotFoundError):  # the relay declares its dead letters' stream
                await jetstream.delete_stream(deadletter_stream_for(target.stream))
    finally:
        await client.close()
