"""The subscriber kit for external agencies (``examples/``, ``docs/subscribing.md``) against real PostgreSQL
and NATS JetStream.

Casework records the walkthrough lifecycles plus a case that moves from Reykjavík to Kópavogur; the relay
publishes them into the per-test stream (under its subject prefix); then each example consumes with a
bounded run, connected as an agency of the test's registry (its own NATS account and nkey seed, bound to the
durable prosperity created with the registry's filter). Each must see exactly the events of its filter, see
nothing new when run again (its durable consumer resumed), and report an invalid payload on a matching
subject without stopping.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from contracts import commands as c
from contracts.subjects import event_type_filter, municipality_filter, subject_for, subject_matches
from domain.values import Actor, Role
from examples import agency_faststream, agency_nats_py
from services.bus.registry import Agency, AgencyRegistry
from services.casework.application import Casework, CommandMeta
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from services.relay.relay import Relay
from services.relay.stream import RelaySettings
from services.walkthrough import iceland_lifecycle, norway_lifecycle
from tests.integration.test_relay import StreamMessage, caught_up, stream_messages, wait_until

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "contracts" / "schemas"
NATS_PY_EXAMPLE = ROOT / "examples" / "agency_nats_py.py"
SCHOOL, COORDINATOR = "org:school-rvk-1", "person:coord-is-1"   # set up by iceland_lifecycle
COMPLAINTS = Agency(id="kit-complaints", jurisdiction="IS", municipalities=("muni:reykjavik",),
                    event_types=("complaint_lodged",))
REYKJAVIK = Agency(id="kit-reykjavik", jurisdiction="IS", municipalities=("muni:reykjavik",))


@pytest.fixture
def js_stream(bus_factory: Any) -> JsTarget:
    """This module's bus has two agencies: Reykjavík's complaints, and everything about Reykjavík."""
    target: JsTarget = bus_factory(registry=AgencyRegistry(agency=(COMPLAINTS, REYKJAVIK)))
    return target


# ---- publishing the cases ---------------------------------------------------------------------------------
def record_cases(app: Casework) -> UUID:
    """The two walkthrough lifecycles (Reykjavík, Bodø) and a Reykjavík case that moves to Kópavogur with a
    complaint before and after the move; returns the moving case's id."""
    iceland_lifecycle(app, child="person:child-kit-1")
    norway_lifecycle(app, child="person:child-kit-2")
    meta = CommandMeta(Actor(COORDINATOR, Role.COORDINATOR, SCHOOL), datetime(2024, 5, 2, 9, tzinfo=UTC))
    case_id = app.register_contact(c.RegisterContact(
        child_ref="person:child-kit-3", parent_refs=("person:parent-kit-3",), birth_date=date(2008, 4, 4),
        municipality_ref="muni:reykjavik", coordinator_ref=COORDINATOR, coordinator_org_ref=SCHOOL,
        life_stage="secondary", conflict_of_interest_declared_none=True), meta).case_id
    for complaint_id, move_to in (("gev-kit-rvk", "muni:kopavogur"), ("gev-kit-kop", None)):
        app.record_complaint(c.RecordComplaint(
            case_id=case_id, complaint_id=complaint_id, complainant_ref="person:parent-kit-3",
            complainant_capacity="user", subject="service_quality"), meta)
        if move_to:
            app.change_domicile(c.ChangeDomicile(case_id=case_id, to_municipality_ref=move_to), meta)
    return case_id


async def publish_cases(pg: PgTarget, target: JsTarget) -> list[StreamMessage]:
    """Record the cases, run the relay until it has published them all, and return the stream."""
    app = Casework(env=pg.eventsourcing_env())
    try:
        await asyncio.to_thread(record_cases, app)
        settings = RelaySettings(nats_url=target.url, nats_seed_file=target.seed_file("relay"),
                                 stream_name=target.stream, subject_prefix=target.subject_prefix,
                                 relay_poll_interval=0.2, relay_max_backoff=0.5, relay_connect_timeout=3.0)
        relay = Relay(app, pg.eventsourcing_env(), settings)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            await wait_until(caught_up(relay), what="the relay to publish the cases")
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)
            relay.close()
    finally:
        app.close()
    return await stream_messages(target)


def matching(messages: list[StreamMessage], filter_subject: str) -> list[StreamMessage]:
    return [m for m in messages if subject_matches(filter_subject, m.subject)]


async def publish_raw(target: JsTarget, subject: str, payloads: list[tuple[bytes, str]]) -> None:
    """Publish payloads with the given ``Nats-Msg-Id`` each, as a relay gone wrong would (no other identity may
    publish facts at all)."""
    client = await target.connect("relay")
    try:
        js = client.jetstream()
        for payload, msg_id in payloads:
            await js.publish(subject, payload, stream=target.stream, headers={"Nats-Msg-Id": msg_id})
    finally:
        await client.close()


async def consumer_state(target: JsTarget, durable: str) -> tuple[int, int]:
    """(num_pending, num_ack_pending) of a durable consumer: (0, 0) when it has consumed everything."""
    client = await target.connect("admin")
    try:
        info = await client.jetstream().consumer_info(target.stream, durable)
        return info.num_pending, info.num_ack_pending
    finally:
        await client.close()


def invalid_payloads(valid: dict[str, Any]) -> list[tuple[bytes, str]]:
    """Not JSON; and a complaint without its complainant and with a bad version (a contract violation)."""
    broken = {key: value for key, value in valid.items() if key != "complainant_ref"} | {"case_version": 0}
    return [(b"{not json", "test:invalid-1"), (json.dumps(broken).encode(), "test:invalid-2")]


def fields(line: str) -> dict[str, str]:
    """``OK seq=3 subject=... event_id=...`` → {"status": "OK", "seq": "3", ...}; ``error=`` is the rest."""
    line, _, error = line.partition(" error=")
    status, *rest = line.split()
    return {"status": status} | dict(part.split("=", 1) for part in rest if "=" in part) | (
        {"error": error} if error else {})


# ---- the filters -----------------------------------------------------------------------------------------
def test_the_literal_filters_in_the_examples_are_what_the_contract_helpers_build() -> None:
    assert subject_for("complaint_lodged", "IS", "muni:reykjavik") == agency_nats_py.DEFAULT_FILTER
    assert agency_faststream.DEFAULT_FILTER == agency_nats_py.DEFAULT_FILTER
    build = agency_nats_py.case_filter
    assert build("IS", "muni:reykjavik", "complaint_lodged") == agency_nats_py.DEFAULT_FILTER
    assert build("IS", "muni:reykjavik") == municipality_filter("IS", "muni:reykjavik")
    assert build("NO", "muni:oslo.bydel 1") == municipality_filter("NO", "muni:oslo.bydel 1")
    assert build("NO", "muni:oslo.bydel 1") == "cases.v1.no.oslo_bydel_1.>"
    assert build(event_type="complaint_lodged") == event_type_filter("complaint_lodged")
    assert build("NO", event_type="complaint_received") == event_type_filter("complaint_received", "NO")
    addresses = [address for address, _ in agency_faststream.channels()]
    assert event_type_filter("complaint_lodged") in addresses
    assert len(addresses) == len(list(SCHEMAS.glob("*.v1.json")))


def test_the_schemas_ignore_unknown_fields_unless_strict() -> None:
    """v1 only ever adds optional fields: the default (tolerant) reader keeps accepting newer payloads."""
    payload = {"event_id": f"{UUID(int=1)}:1", "notification_id": 1, "case_id": str(UUID(int=1)),
               "case_version": 1, "event_type": "case_closed", "schema_version": "v1",
               "occurred_at": "2024-01-01T00:00:00Z", "recorded_at": "2024-01-01T00:00:00Z", "jurisdiction": "IS",
               "municipality_ref": "muni:reykjavik", "actor_person_ref": "person:a", "actor_role": "coordinator",
               "actor_org_ref": None, "correlation_id": "", "causation_id": "", "legal_basis": "Act 86/2021",
               "rule_id": None, "closure_reason": "goals_met"}
    tolerant, strict = agency_nats_py.Schemas(SCHEMAS), agency_nats_py.Schemas(SCHEMAS, strict=True)
    assert tolerant.errors(payload) == strict.errors(payload) == []
    newer = payload | {"added_in_a_later_v1": "x"}
    assert tolerant.errors(newer) == []
    assert strict.errors(newer) != []
    assert tolerant.errors(payload | {"case_version": "1"}) != []


# ---- a. plain nats-py, as a process ---------------------------------------------------------------------
def run_nats_py_example(target: JsTarget, durable: str, filter_subject: str, tmp_path: Path) -> list[str]:
    command = [sys.executable, str(NATS_PY_EXAMPLE), "--nats-url", target.url, "--stream", target.stream,
               "--seed-file", str(target.seed_file(durable)), "--durable", durable, "--filter", filter_subject,
               "--schema-dir", str(SCHEMAS), "--seen-file", str(tmp_path / "seen.txt"),
               "--dead-letter-file", str(tmp_path / "dead.jsonl"), "--idle-exit", "0.8", "--run-for", "20"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("done ok="), result.stderr
    return result.stdout.splitlines()


async def test_the_nats_py_example_consumes_its_filter_resumes_and_survives_invalid_payloads(
        pg_schema: PgTarget, js_stream: JsTarget, tmp_path: Path) -> None:
    messages = await publish_cases(pg_schema, js_stream)
    wanted = js_stream.subject(agency_nats_py.DEFAULT_FILTER)     # <prefix>.cases.v1.is.reykjavik.complaint_lodged
    expected = matching(messages, wanted)
    # Exactly Reykjavík's two complaints; the moved case's second complaint is Kópavogur's.
    assert sorted(m.body["complaint_id"] for m in expected) == ["gev-1", "gev-kit-rvk"]
    complaints = matching(messages, js_stream.subject(event_type_filter("complaint_lodged")))
    assert len(complaints) == 3 and complaints[-1].subject.split(".")[-2] == "kopavogur"

    durable = COMPLAINTS.durable
    first = [fields(line) for line in await asyncio.to_thread(run_nats_py_example, js_stream, durable, wanted,
                                                              tmp_path)]
    assert [f["status"] for f in first] == ["OK", "OK"]
    assert [(f["event_id"], f["msg_id"], int(f["seq"])) for f in first] == [
        (m.body["event_id"], m.headers["Nats-Msg-Id"], m.seq) for m in expected]
    assert {f["subject"] for f in first} == {wanted}
    assert await consumer_state(js_stream, durable) == (0, 0)

    assert await asyncio.to_thread(run_nats_py_example, js_stream, durable, wanted, tmp_path) == []  # resumed

    # Two invalid payloads on the filter's subject, then a republished copy of a fact already processed
    # (a new Nats-Msg-Id, as after JetStream's duplicate window): reported, set aside, and the run goes on.
    copy = (expected[0].payload, "test:republished-1")
    await publish_raw(js_stream, wanted, [*invalid_payloads(expected[0].body), copy])
    third = [fields(line) for line in await asyncio.to_thread(run_nats_py_example, js_stream, durable, wanted,
                                                              tmp_path)]
    assert [f["status"] for f in third] == ["INVALID", "INVALID", "DUPLICATE"]
    assert "not JSON" in third[0]["error"]
    assert third[2]["event_id"] == expected[0].body["event_id"]
    dead = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert [record["headers"]["Nats-Msg-Id"] for record in dead] == ["test:invalid-1", "test:invalid-2"]
    assert "complainant_ref" in dead[1]["reason"]
    assert await consumer_state(js_stream, durable) == (0, 0)        # terminated, not waiting for redelivery
    assert await asyncio.to_thread(run_nats_py_example, js_stream, durable, wanted, tmp_path) == []


async def test_the_nats_py_example_refuses_to_run_when_its_durable_has_another_filter(
        js_stream: JsTarget, tmp_path: Path) -> None:
    """The filter is prosperity's (the agency registry's): an agency expecting another one is told so."""
    wanted = js_stream.subject(agency_nats_py.DEFAULT_FILTER)
    assert await asyncio.to_thread(run_nats_py_example, js_stream, COMPLAINTS.durable, wanted, tmp_path) == []
    other = js_stream.subject(municipality_filter("IS", "muni:reykjavik"))
    with pytest.raises(AssertionError, match="is set in prosperity's agency registry"):
        await asyncio.to_thread(run_nats_py_example, js_stream, COMPLAINTS.durable, other, tmp_path)


# ---- b. faststream with the contracts, in process ---------------------------------------------------------
@asynccontextmanager
async def unchanged_stream(target: JsTarget) -> AsyncIterator[None]:
    """The consumer must not reconfigure the stream (it binds with ``declare=False``)."""
    client = await target.connect("admin")
    try:
        before = (await client.jetstream().stream_info(target.stream)).config
        yield
        assert (await client.jetstream().stream_info(target.stream)).config == before
    finally:
        await client.close()


async def run_faststream_example(target: JsTarget, durable: str, filter_subject: str) -> list[dict[str, str]]:
    lines: list[str] = []
    settings = agency_faststream.Settings(nats_url=target.url, stream=target.stream, durable=durable,
                                          filter_subject=filter_subject, seed_file=str(target.seed_file(durable)))
    await agency_faststream.run_bounded(settings, idle_exit=0.8, run_for=20, out=lines.append)
    return [fields(line) for line in lines]


async def test_the_faststream_example_consumes_a_municipality_in_case_version_order_and_resumes(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    messages = await publish_cases(pg_schema, js_stream)
    wanted = js_stream.subject(municipality_filter("IS", "muni:reykjavik"))     # <prefix>.cases.v1.is.reykjavik.>
    expected = matching(messages, wanted)
    assert {m.subject.split(".")[-2] for m in expected} == {"reykjavik"}
    durable = REYKJAVIK.durable

    async with unchanged_stream(js_stream):
        first = await run_faststream_example(js_stream, durable, wanted)
    assert {f["status"] for f in first} == {"OK"}
    assert [f["event_id"] for f in first] == [m.body["event_id"] for m in expected]
    versions: dict[str, list[int]] = {}
    for f in first:
        versions.setdefault(f["event_id"].split(":")[0], []).append(int(f["case_version"]))
    assert len(versions) == 2
    for case_versions in versions.values():                           # each case from 1, no gaps, in order
        assert case_versions == list(range(1, len(case_versions) + 1))
    assert [f for f in first if f["event_type"] == "complaint_lodged"][-1]["complaint"] == "gev-kit-rvk"
    assert not any(f["event_type"] == "domicile_changed" for f in first)   # published under Kópavogur
    assert await consumer_state(js_stream, durable) == (0, 0)

    assert await run_faststream_example(js_stream, durable, wanted) == []   # resumed

    # Two invalid payloads, then a fact from a newer v1 publisher with an added field: rejected twice, then
    # parsed into the installed contract model with the new field ignored, and the run goes on.
    complaint = next(m for m in expected if m.body["event_type"] == "complaint_lodged")
    newer = complaint.body | {"added_later_in_v1": "x"}
    await publish_raw(js_stream, complaint.subject,
                      [*invalid_payloads(complaint.body), (json.dumps(newer).encode(), "test:newer-1")])
    third = await run_faststream_example(js_stream, durable, wanted)
    assert [f["status"] for f in third] == ["INVALID", "INVALID", "OK"]
    assert (third[2]["event_id"], third[2]["ignored"]) == (complaint.body["event_id"], "added_later_in_v1")
    assert await consumer_state(js_stream, durable) == (0, 0)          # rejected = terminated, not redelivered
    assert await run_faststream_example(js_stream, durable, wanted) == []


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_the_example_stops_on_a_signal_while_the_server_is_unreachable(signum: str) -> None:
    """It retried the connection forever and ignored both signals (black-box probe: only SIGKILL stopped it)."""
    import signal
    import socket
    import time

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "examples.agency_nats_py", "--nats-url",
                                f"nats://127.0.0.1:{port}", "--stream", "CASES", "--durable", "agency-x"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(2.0)  # retrying by now
        assert process.poll() is None
        process.send_signal(getattr(signal, signum))
        _, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0 and b"done ok=0" in err and b"Traceback" not in err
