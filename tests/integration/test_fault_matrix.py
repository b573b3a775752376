"""The fault matrix (issue 14, marker ``faults``): the whole pipeline, as processes, under a command load, while
processes are SIGKILLed at random points, NATS restarts or stays away, a node of a 3-node cluster dies, and 100
commands reach one case at once. After each: stored = published once = applied once in every read model, no
acknowledged command lost, and a summary line (``FAULTS <scenario>: ...``, shown with ``-s``).

Bounded in time: the whole matrix runs in about four minutes on a loaded 2-core machine; the NATS outage lasts
``PROSPERITY_FAULTS_OUTAGE_SECONDS`` (8 s by default, 60 s in the issue's full run). PostgreSQL is restarted on
an embedded server the test owns (the shared one must not be restarted).
"""

from __future__ import annotations

import asyncio
import random
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from contracts import commands as c
from contracts.subjects import STREAM_NAME
from services.bus.plan import ADMIN, ConsumerSpec
from services.bus.provision import StreamSettings, provision_as_admin
from services.casework.application import Casework
from services.infra.embedded import EmbeddedPostgres, free_port
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget, ensure_schema
from tests.integration.fault_support import OUTAGE_SECONDS, READ_MODELS, Load, Pipeline, settle_and_check
from tests.integration.test_bus_cluster import Cluster

pytestmark = [pytest.mark.faults]

KILLS_EACH = 10


async def test_the_relay_and_each_consumer_sigkilled_ten_times_at_random_points_lose_and_repeat_nothing(
        pg_schema: PgTarget, js_stream: JsTarget, tmp_path: Path) -> None:
    rng = random.Random(14)
    pipeline = Pipeline(pg_schema, js_stream, tmp_path, f"{pg_schema.schema}__rm")
    app = Casework(env=pg_schema.eventsourcing_env())
    try:
        pipeline.start_all()
        with Load(app, "kill") as load:
            for _ in range(KILLS_EACH):
                victims = ["relay", *READ_MODELS]
                rng.shuffle(victims)
                for victim in victims:  # each process dies once per round, at a random point of its work
                    await asyncio.sleep(rng.uniform(0.1, 0.6))
                    pipeline.kill(victim)
                    pipeline.start(victim)
                await asyncio.sleep(rng.uniform(0.5, 1.5))  # start-up takes about a second: some die mid-start
        await asyncio.to_thread(settle_and_check, "sigkill", sum(pipeline.kills.values()), pipeline, app, load)
        assert all(pipeline.kills[name] >= KILLS_EACH for name in ("relay", *READ_MODELS))
    finally:
        pipeline.stop()
        app.close()


async def test_a_nats_restart_and_an_outage_under_load_lose_and_repeat_nothing(
        pg_schema: PgTarget, js_stream: JsTarget, tmp_path: Path) -> None:
    server = js_stream.bus.server  # same configuration, port and store when started again
    pipeline = Pipeline(pg_schema, js_stream, tmp_path, f"{pg_schema.schema}__rm")
    app = Casework(env=pg_schema.eventsourcing_env())
    try:
        pipeline.start_all()
        with Load(app, "nats") as load:
            await asyncio.sleep(2.0)
            server.stop()  # a restart: down and straight back
            server.start()
            await asyncio.sleep(2.0)
            server.stop()  # an outage: commands go on (the store is the outbox), publication waits
            await asyncio.sleep(OUTAGE_SECONDS)
            server.start()
            await asyncio.sleep(2.0)
        await asyncio.to_thread(settle_and_check, f"nats restart + {OUTAGE_SECONDS:g}s outage", 2, pipeline, app,
                                load)
    finally:
        pipeline.stop()
        app.close()


async def test_a_postgresql_restart_under_load_loses_and_repeats_nothing(
        js_stream: JsTarget, scratch_dir: Path, tmp_path: Path) -> None:
    """On a PostgreSQL server of the test's own (embedded): the shared server must not be restarted."""
    server = EmbeddedPostgres(scratch_dir / f"pg-faults-{uuid.uuid4().hex[:6]}").start()
    dsn = server.dsn
    target = PgTarget(dsn, "faults")
    ensure_schema(dsn, target.schema)
    pipeline = Pipeline(target, js_stream, tmp_path, "faults__rm")
    app = Casework(env=target.eventsourcing_env())
    try:
        pipeline.start_all()
        with Load(app, "pg", tolerate=True) as load:
            await asyncio.sleep(3.0)
            server.stop()  # every session cut: the API's, the relay's (its leader lock too), the replicas'
            await asyncio.sleep(2.0)
            server.start()
            assert server.dsn == dsn
            before = len(load.acknowledged)
            await asyncio.sleep(6.0)
            assert len(load.acknowledged) > before, "no command succeeded after PostgreSQL came back"
        await asyncio.to_thread(settle_and_check, "postgresql restart", 1, pipeline, app, load)
    finally:
        pipeline.stop()
        app.close()
        server.stop()


class ClusterTarget:
    """The 3-node cluster of ``test_bus_cluster`` (deploy/'s configuration, streams with 3 replicas) as the
    pipeline's bus: the default namespace (stream ``CASES``, no subject prefix), the plan's durables."""

    def __init__(self, nodes: Cluster) -> None:
        self.cluster, self.stream = nodes, STREAM_NAME

    def env(self, identity: str) -> dict[str, str]:
        return {"PROSPERITY_NATS_URL": self.cluster.url,
                "PROSPERITY_NATS_SEED_FILE": str(self.cluster.generated.seed_file(identity))}

    def consumer_env(self, name: str) -> dict[str, str]:
        return self.env(name) | {"PROSPERITY_CONSUMER_NAME": name}

    async def connect(self, identity: str = "admin") -> Any:
        return await self.cluster.connect(identity)


@pytest.fixture
def three_nodes(scratch_dir: Path) -> Iterator[Cluster]:
    """As ``test_bus_cluster``'s fixture: three nats-server processes on loopback, provisioned, 3 replicas."""
    nodes = Cluster(scratch_dir / f"cluster-{free_port()}")
    try:
        for node in nodes.nodes:
            node.start()
        asyncio.run(provision_as_admin(nodes.settings(ADMIN), nodes.generated.plan, StreamSettings(stream_replicas=3),
                                       timeout=60))
        yield nodes
    finally:
        for node in nodes.nodes:
            node.stop()


async def test_a_three_node_cluster_losing_the_stream_leader_under_load_loses_and_repeats_nothing(
        pg_schema: PgTarget, three_nodes: Cluster, tmp_path: Path) -> None:
    cluster = three_nodes
    target = ClusterTarget(cluster)
    pipeline = Pipeline(pg_schema, target, tmp_path, f"{pg_schema.schema}__rm",
                        ack_wait=f"{ConsumerSpec(name='dashboard').ack_wait_seconds:g}")
    app = Casework(env=pg_schema.eventsourcing_env())
    try:
        pipeline.start_all()
        with Load(app, "cluster") as load:
            await asyncio.sleep(3.0)
            admin = await target.connect()
            try:
                info = await admin.jetstream().stream_info(STREAM_NAME)
            finally:
                await admin.close()
            assert info.config.num_replicas == 3
            cluster.node_named(info.cluster.leader).kill()
            await asyncio.sleep(6.0)
        await asyncio.to_thread(settle_and_check, "3-node cluster, stream leader killed", 1, pipeline, app, load)
    finally:
        pipeline.stop()
        app.close()


# ---- 100 commands on one case at once (through the HTTP API, as issue-14w's 50-invitation test) ----------------
CONCURRENT = 100


from tests.integration.test_api_commands import api  # noqa: E402  (the command tests' API fixture)

__all__ = ["api"]


def _hundred_at_once(api: Any, *, same_person: bool) -> dict[str, Any]:
    """100 invitations to one case's support team from 100 threads released together: of 100 different people
    (they commute) or all of the same person (only one can be first). Returns what succeeded, what was refused
    (status and body the caller got), and how many invitations the store holds."""
    from tests.integration.test_api_commands import CM, ICELAND_TO_TEAM, open_iceland_case, run_steps

    case_id = open_iceland_case(api)
    version = run_steps(api, case_id, ICELAND_TO_TEAM, 1)
    day = ICELAND_TO_TEAM[-1][0] + 1
    gate = threading.Barrier(CONCURRENT)

    def invite(i: int) -> Any:
        person = 0 if same_person else i
        command = c.InviteGeneralServiceProvider(case_id=case_id, person_ref=f"person:helper-{person}",
                                                 org_ref=f"org:club-{person}",
                                                 necessity_justification_ref=f"doc:why-{person}")
        gate.wait(60)
        return api.post(command, CM, day)

    with ThreadPoolExecutor(CONCURRENT) as pool:
        responses = list(pool.map(invite, range(CONCURRENT)))
    fresh = Casework(api.app.env)  # another process's view: everything from the store
    try:
        stored: list[Any] = [e for e in fresh.events.get(case_id, gt=version)
                             if type(e).__name__ == "SupportTeamMemberInvited"]
    finally:
        fresh.close()
    refused = [(r.status_code, r.text[:200]) for r in responses if r.status_code != 200]
    return {"succeeded": CONCURRENT - len(refused), "refused": refused, "stored": len(stored),
            "people": sorted({e.member.person_ref for e in stored})}


def test_a_hundred_commuting_commands_on_one_case_all_succeed_once(api: Any) -> None:
    results = _hundred_at_once(api, same_person=False)
    lost = max(0, results["succeeded"] - results["stored"])
    print(f"\nFAULTS {CONCURRENT} commuting commands on one case: succeeded {results['succeeded']}, refused "
          f"{len(results['refused'])}, stored {results['stored']}, lost = {lost}, "
          f"duplicated = {results['stored'] - len(results['people'])}")
    assert results["refused"] == [], results["refused"][:3]
    assert results["people"] == sorted(f"person:helper-{i}" for i in range(CONCURRENT))
    assert results["stored"] == CONCURRENT


def test_a_hundred_conflicting_commands_on_one_case_store_exactly_one(api: Any) -> None:
    results = _hundred_at_once(api, same_person=True)
    print(f"\nFAULTS {CONCURRENT} conflicting commands on one case: succeeded {results['succeeded']}, refused "
          f"{len(results['refused'])} (statuses {sorted({s for s, _ in results['refused']})}), stored "
          f"{results['stored']}, lost = 0, duplicated = {results['stored'] - 1}")
    assert results["stored"] == 1 and results["people"] == ["person:helper-0"]
    assert results["succeeded"] == 1
    assert all(status in (409, 422) and body for status, body in results["refused"]), results["refused"][:3]
