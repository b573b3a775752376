"""The whole system against a three-node NATS cluster started from deploy/'s configuration, processes on loopback.

The cluster is what ``prosperity nats-config --cluster`` generates with ``deploy/nats/agencies.toml`` (the class of
tests/integration/test_bus_cluster.py), provisioned with the stream replicas deploy/'s ConfigMap sets; every
process runs as its own ``prosperity`` subprocess with the settings deploy/ gives it (every node's URL, its own
identity, its ops port): the API, the relay (two: leader and standby), the three read-model consumers and the
notifier. A population is recorded through the HTTP API; every fact reaches every read model (relay lag 0, each
durable with nothing pending, as their ``/ready`` report). Then the stream's leader node is killed and a second
population recorded: the system carries on, on the two nodes left."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]
from aiosmtpd.controller import Controller

from services.bus.plan import ADMIN
from services.bus.provision import StreamSettings, provision_as_admin
from services.demo import generate
from services.infra.embedded import free_port
from services.infra.postgres_env import PgTarget
from tests.integration.notifier_support import Inbox
from tests.integration.test_bus_cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
CONFIG_MAP = ROOT / "deploy" / "k8s" / "base" / "config.yaml"
PROCESSES = {"relay": ["relay"], "relay-standby": ["relay"], "consume-dashboard": ["consume", "dashboard"],
             "consume-audit": ["consume", "audit"], "consume-notifications": ["consume", "notifications"],
             "notifier": ["notifier"]}


def deployed(name: str) -> str:
    value: str = yaml.safe_load(CONFIG_MAP.read_text())["data"][name]
    return value


@pytest.fixture
def cluster(scratch_dir: Path) -> Iterator[Cluster]:
    cluster = Cluster(scratch_dir / f"system-cluster-{free_port()}")
    try:
        for node in cluster.nodes:
            node.start()
        replicas = int(deployed("PROSPERITY_STREAM_REPLICAS"))
        asyncio.run(provision_as_admin(cluster.settings(ADMIN), cluster.generated.plan,
                                       StreamSettings(stream_replicas=replicas), timeout=60))
        yield cluster
    finally:
        for node in cluster.nodes:
            node.stop()


@contextmanager
def started(name: str, argv: list[str], env: dict[str, str], logs: Path) -> Iterator[subprocess.Popen[bytes]]:
    with (logs / f"{name}.log").open("ab") as out:
        child = subprocess.Popen([sys.executable, "-m", "services.cli", *argv], cwd=ROOT, env=env,
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        yield child
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()


def ready(url: str) -> dict[str, Any] | None:
    try:
        response = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None
    body: dict[str, Any] = response.json()
    return body if response.status_code == 200 else None


def wait(condition: Any, what: str, children: dict[str, subprocess.Popen[bytes]], logs: Path,
         timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, child in children.items():
            assert child.poll() is None, f"{name} exited: {(logs / f'{name}.log').read_text()[-3000:]}"
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout}s: {what}")


def caught_up(ops: dict[str, str]) -> bool:
    """Everything stored is published (the leader's lag 0) and applied by every read model (nothing pending)."""
    answers = {name: ready(f"{url}/ready") for name, url in ops.items()}
    if any(answer is None for answer in answers.values()):
        return False
    relays = [answers[name]["checks"]["relay"] for name in ("relay", "relay-standby")]  # type: ignore[index]
    if sorted(relay["role"] for relay in relays) != ["leader", "standby"]:
        return False
    leader = next(relay for relay in relays if relay["role"] == "leader")
    consumers = [answers[name]["checks"]["consumer"] for name in ops if name.startswith("consume-")]  # type: ignore[index]
    return bool(leader["lag"] == 0 and leader["position"] > 0 and
                all(c["pending"] == 0 and c["ack_pending"] == 0 for c in consumers))


def test_the_whole_system_runs_on_a_three_node_cluster_and_survives_losing_the_stream_leader(
        cluster: Cluster, pg_schema: PgTarget, tmp_path: Path) -> None:
    smtp_port, api_port = free_port(), free_port()
    catcher = Controller(Inbox(), hostname="127.0.0.1", port=smtp_port)
    catcher.start()
    base = os.environ | {
        "PROSPERITY_PG_DSN": pg_schema.dsn, "PROSPERITY_PG_SCHEMA": pg_schema.schema, "PROSPERITY_PG_POOL_SIZE": "2",
        "PROSPERITY_NATS_URL": cluster.url, "PROSPERITY_LOG_FORMAT": deployed("PROSPERITY_LOG_FORMAT"),
        "PROSPERITY_STREAM_REPLICAS": deployed("PROSPERITY_STREAM_REPLICAS"), "PROSPERITY_ENV": "development",
        "PROSPERITY_NOTIFIER_SMTP_HOST": "127.0.0.1", "PROSPERITY_NOTIFIER_SMTP_PORT": str(smtp_port),
        "PROSPERITY_RELAY_POLL_INTERVAL": "0.2"}
    ops = {name: f"http://127.0.0.1:{free_port()}" for name in PROCESSES}
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        with ExitStack() as stack:
            api_env = base | cluster_identity(cluster, "api") | {"PROSPERITY_API_PORT": str(api_port)}
            children["api"] = stack.enter_context(started("api", ["api"], api_env, tmp_path))
            for name, argv in PROCESSES.items():
                identity = {"relay-standby": "relay"}.get(name, name.removeprefix("consume-"))
                env = base | (cluster_identity(cluster, identity) if name != "notifier" else {}) | {
                    "PROSPERITY_OPS_PORT": ops[name].rsplit(":", 1)[1]}
                children[name] = stack.enter_context(started(name, argv, env, tmp_path))
            api = f"http://127.0.0.1:{api_port}"
            wait(lambda: ready(f"{api}/ready") is not None, "the API ready", children, tmp_path)
            wait(lambda: all(ready(f"{url}/ready") for url in ops.values()), "every process ready", children,
                 tmp_path)

            counts = generate(api, cases=6, seed=15, dsn=pg_schema.dsn, schema=pg_schema.schema, samples={},
                              progress=lambda *_: None)
            assert counts["cases"] == 6
            wait(lambda: caught_up(ops), "every fact in every read model", children, tmp_path)

            leader = asyncio.run(stream_leader(cluster))
            cluster.node_named(leader).kill()
            counts = generate(api, cases=4, seed=16, dsn=pg_schema.dsn, schema=pg_schema.schema, samples={},
                              progress=lambda *_: None)
            assert counts["cases"] == 4
            wait(lambda: caught_up(ops), "every fact in every read model with the leader node gone", children,
                 tmp_path)
            assert asyncio.run(stream_leader(cluster)) != leader
            assert asyncio.run(dead_letters(cluster)) == 0
    finally:
        catcher.stop()


def cluster_identity(cluster: Cluster, identity: str) -> dict[str, str]:
    settings = cluster.settings(identity)
    return {"PROSPERITY_NATS_SEED_FILE": str(settings.nats_seed_file),
            "PROSPERITY_NATS_INBOX_PREFIX": str(settings.nats_inbox_prefix)}


async def stream_leader(cluster: Cluster) -> str:
    admin = await cluster.connect(ADMIN)
    try:
        leader: str = (await admin.jetstream().stream_info("CASES")).cluster.leader
        return leader
    finally:
        await admin.close()


async def dead_letters(cluster: Cluster) -> int:
    admin = await cluster.connect(ADMIN)
    try:
        count: int = (await admin.jetstream().stream_info("DEADLETTERS")).state.messages
        return count
    finally:
        await admin.close()
