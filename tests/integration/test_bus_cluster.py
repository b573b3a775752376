"""A three-node JetStream cluster from deploy/'s configuration: ``prosperity nats-config`` with
``deploy/nats/agencies.toml`` and ``--cluster``, as ``deploy/README.md`` runs it, only on loopback ports here.

Three nats-server processes, the streams with three replicas, the same accounts: each agency still reads
exactly its own facts, a node with the wrong route password is not let in, and the stream leader killed while
the relay's identity publishes loses no acknowledged fact and stores none twice (the relay retries with the
same ``Nats-Msg-Id``; the duplicate window survives the failover)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest

from services.bus.generate import GeneratedBus, generate
from services.bus.natsconf import ClusterOptions, ServerOptions
from services.bus.plan import ADMIN, AGENCY_JS_API_PREFIX, RELAY
from services.bus.provision import StreamSettings, provision_as_admin
from services.bus.registry import load_registry
from services.bus.settings import BusSettings
from services.infra.embedded import LOCALHOST, EmbeddedNats, free_port
from tests.integration.bus_support import fetch_all

DEPLOY_REGISTRY = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "agencies.toml"
LOAD, KILL_AT = 1500, 500


class Cluster:
    def __init__(self, directory: Path) -> None:
        self.client_ports = [free_port() for _ in range(3)]
        self.routes = routes = tuple(f"{LOCALHOST}:{free_port()}" for _ in range(3))
        options = ServerOptions(listen=tuple(f"{LOCALHOST}:{port}" for port in self.client_ports), monitor=(),
                                store_dir=directory / "data", per_node_store=True,
                                cluster=ClusterOptions(routes=routes))
        self.generated: GeneratedBus = generate(directory / "config", registry=load_registry(DEPLOY_REGISTRY),
                                                server=options)
        self.nodes = [EmbeddedNats(directory / "data" / name, port, config_file=config)
                      for name, port, config in zip(options.node_names, self.client_ports, self.generated.configs,
                                                    strict=True)]

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def settings(self, identity: str) -> BusSettings:
        return BusSettings(nats_url=self.url, nats_seed_file=self.generated.seed_file(identity),
                           nats_inbox_prefix=self.generated.plan.identity(identity).inbox_prefix)

    async def connect(self, identity: str) -> Any:
        return await nats.connect(**self.settings(identity).connect_options(identity), connect_timeout=2,
                                  max_reconnect_attempts=-1, reconnect_time_wait=0.2)

    def node_named(self, server_name: str) -> EmbeddedNats:
        return self.nodes[int(server_name.removeprefix("n")) - 1]


@pytest.fixture
def cluster(scratch_dir: Path) -> Iterator[Cluster]:
    cluster = Cluster(scratch_dir / f"cluster-{free_port()}")
    try:
        for node in cluster.nodes:
            node.start()
        asyncio.run(provision_as_admin(cluster.settings(ADMIN), cluster.generated.plan,
                                       StreamSettings(stream_replicas=3), timeout=60))
        yield cluster
    finally:
        for node in cluster.nodes:
            node.stop()


REGISTRY_SUBJECTS = {  # deploy/nats/agencies.toml: who receives what
    "cases.v1.is.reykjavik.complaint_lodged": "gev-capital",
    "cases.v1.is.kopavogur.complaint_outcome_recorded": "gev-capital",
    "cases.v1.is.reykjavik.service_recorded": None,
    "cases.v1.is.akureyri.service_recorded": "akureyri-welfare",
    "directory.v1.is.akureyri.institution_registered": "akureyri-welfare",
    "cases.v1.no.bodo.complaint_received": "statsforvalteren-nordland",
    "cases.v1.no.bergen.complaint_received": None,
}


async def publish_each_once(cluster: Cluster, tag: str) -> None:
    relay = await cluster.connect(RELAY)
    try:
        for subject in REGISTRY_SUBJECTS:
            await relay.jetstream().publish(subject, b"{}", headers={"Nats-Msg-Id": f"{tag}:{subject}"})
    finally:
        await relay.close()


async def agencies_receive_their_own(cluster: Cluster) -> None:
    for agency_id in ("gev-capital", "akureyri-welfare", "statsforvalteren-nordland"):
        durable = f"agency-{agency_id}"
        reader = await cluster.connect(durable)
        try:
            received = await fetch_all(reader.jetstream(prefix=AGENCY_JS_API_PREFIX, timeout=5), durable, "CASES")
        finally:
            await reader.close()
        assert [m.subject for m in received] == [s for s, who in REGISTRY_SUBJECTS.items() if who == agency_id]


async def test_three_nodes_from_deploys_configuration_keep_agencies_apart_and_lose_nothing_when_the_leader_dies(
        cluster: Cluster) -> None:
    await publish_each_once(cluster, "before")
    await agencies_receive_their_own(cluster)

    admin = await cluster.connect(ADMIN)
    relay = await cluster.connect(RELAY)
    try:
        info = await admin.jetstream().stream_info("CASES")
        assert info.config.num_replicas == 3 and len(info.cluster.replicas) == 2
        leader = cluster.node_named(info.cluster.leader)
        acked: set[str] = set()
        retries = 0
        for n in range(LOAD):
            if n == KILL_AT:
                leader.kill()
            msg_id = f"load:{n}"
            while True:  # as the relay does: the same Nats-Msg-Id until a PubAck
                try:
                    await relay.jetstream().publish("cases.v1.is.reykjavik.service_recorded", b"{}",
                                                    headers={"Nats-Msg-Id": msg_id}, timeout=2)
                    acked.add(msg_id)
                    break
                except (TimeoutError, nats.errors.Error):
                    retries += 1
                    await asyncio.sleep(0.1)
        stored = await read_load(admin)
        assert set(stored) == acked and len(stored) == LOAD, f"{LOAD - len(set(stored))} lost, {retries} retries"
        assert len(stored) == len(set(stored)), "a fact was stored twice"
        new_leader = (await admin.jetstream().stream_info("CASES")).cluster.leader
        assert new_leader != info.cluster.leader
    finally:
        await relay.close()
        await admin.close()

    # With one node down, the accounts still hold: each agency reads only its own new facts (once each of their
    # replicated consumers has a leader again: until then a pull is answered 503, which an agency retries).
    await publish_each_once(cluster, "after")
    await consumers_led_without(cluster, info.cluster.leader)
    await agencies_receive_their_own(cluster)


async def consumers_led_without(cluster: Cluster, dead: str, timeout: float = 30.0) -> None:
    """Wait until every agency's durable is led by a live node (the election after a node's death)."""
    admin = await cluster.connect(ADMIN)
    try:
        deadline = time.monotonic() + timeout
        for agency_id in ("gev-capital", "akureyri-welfare", "statsforvalteren-nordland"):
            while True:
                with contextlib.suppress(nats.errors.Error, TimeoutError):
                    led = (await admin.jetstream().consumer_info("CASES", f"agency-{agency_id}")).cluster
                    if led is not None and led.leader not in (None, dead):
                        break
                assert time.monotonic() < deadline, f"agency-{agency_id} has no leader after {timeout}s"
                await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def read_load(admin: Any) -> list[str]:
    """The ``Nats-Msg-Id`` of every load message in the stream, in order (an ordered consumer, as admin)."""
    ids: list[str] = []
    deadline = time.monotonic() + 30
    while True:  # right after the leader's node died the cluster may still be electing: creating a consumer waits
        try:
            subscription = await admin.jetstream().subscribe("cases.v1.is.reykjavik.service_recorded",
                                                             stream="CASES", ordered_consumer=True)
            break
        except nats.errors.TimeoutError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
    with contextlib.suppress(nats.errors.TimeoutError):
        while len(ids) < LOAD + 1 and time.monotonic() < deadline:
            message = await subscription.next_msg(timeout=2)
            if message.headers and message.headers.get("Nats-Msg-Id", "").startswith("load:"):
                ids.append(message.headers["Nats-Msg-Id"])
    await subscription.unsubscribe()
    return ids


async def test_a_node_with_the_wrong_route_password_is_not_let_into_the_cluster(
        cluster: Cluster, tmp_path: Path) -> None:
    """A configuration generated elsewhere (its own route password) that dials two of the cluster's nodes."""
    port, route = free_port(), f"{LOCALHOST}:{free_port()}"
    options = ServerOptions(listen=(f"{LOCALHOST}:{port}",), monitor=(), store_dir=tmp_path / "data",
                            cluster=ClusterOptions(routes=(route, *cluster.routes[:2])))
    generated = generate(tmp_path / "config", registry=load_registry(DEPLOY_REGISTRY), server=options)
    with EmbeddedNats(tmp_path / "data", port, config_file=generated.configs[0]) as intruder:
        deadline = time.monotonic() + 10
        while "Authorization Violation" not in intruder.log_path.read_text() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert "Authorization Violation" in intruder.log_path.read_text()
    admin = await cluster.connect(ADMIN)
    try:
        info = await admin.jetstream().stream_info("CASES")
        assert len(info.cluster.replicas) == 2  # still the same three nodes
    finally:
        await admin.close()
