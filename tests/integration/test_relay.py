"""The relay against real PostgreSQL and real NATS JetStream: every stored fact reaches the stream exactly
once, in order, as a valid contract without personal data, across restarts, crashes, a second relay and a
NATS outage.

Each test has its own schema (``pg_schema``) and its own nats-server with the generated accounts (``js_stream``);
the relay connects as its own identity (it may publish the facts and nothing else) under the test's subject
prefix (``RelaySettings.subject_prefix``). The stream is read back message by message (``get_msg``, as
``admin``) in stream order.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

import jsonschema  # type: ignore[import-untyped]
import pytest
from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import Tracking
from pydantic import SecretStr

from contracts import commands as c
from contracts.mapping import PUBLISHED_TOPICS, MunicipalityTracker
from domain.values import Actor, Role
from services.casework.application import Casework, CommandMeta
from services.infra.embedded import free_port
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from services.relay import postgres as relay_postgres
from services.relay.relay import Relay
from services.relay.stream import RelaySettings
from services.settings import StoreSettings, with_event_cipher
from services.walkthrough import ensure_institution, iceland_lifecycle, norway_lifecycle
from tests.actors import acting

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = PROJECT_ROOT / "contracts" / "schemas"


# ---- helpers ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamMessage:
    seq: int
    subject: str
    headers: dict[str, str]
    payload: bytes

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.payload)
        return body

    @property
    def msg_id(self) -> str:
        return self.headers["Nats-Msg-Id"]


def settings_for(target: JsTarget, **overrides: Any) -> RelaySettings:
    values: dict[str, Any] = {"nats_url": target.url, "nats_seed_file": target.seed_file("relay"),
                              "stream_name": target.stream,
                              "subject_prefix": target.subject_prefix, "relay_poll_interval": 0.2,
                              "relay_max_backoff": 0.5, "relay_ack_timeout": 3.0, "relay_connect_timeout": 3.0}
    return RelaySettings(**(values | overrides))


@contextmanager
def casework(target: PgTarget) -> Iterator[Casework]:
    app = Casework(env=target.eventsourcing_env())
    try:
        yield app
    finally:
        app.close()


@asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[asyncio.Task[None]]:
    """The relay as a task; stopped (or, if already cancelled by the test, awaited) on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield task
    finally:
        stop.set()
        with suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)


async def wait_until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


def caught_up(relay: Relay) -> Callable[[], bool]:
    return lambda: relay.status().lag == 0 and relay.status().position > 0


async def stream_messages(target: JsTarget) -> list[StreamMessage]:
    """Every message of the stream in stream order (read as ``admin``)."""
    client = await target.connect("admin")
    try:
        js = client.jetstream()
        info = await js.stream_info(target.stream)
        messages = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            raw = await js.get_msg(target.stream, seq)
            messages.append(StreamMessage(seq, raw.subject or "", dict(raw.headers or {}), raw.data or b""))
        return messages
    finally:
        await client.close()


def assert_exactly_once_in_order(messages: list[StreamMessage], app: Casework) -> None:
    """One message per stored notification, ``Nats-Msg-Id = Casework:<id>``, in notification order (so in
    case-version order per case), each matching the stored event it was published from.

    Notification ids can have gaps (a refused command's rolled-back insert still used its sequence values),
    so the expectation is the stored log itself, not ``range(1, max_id + 1)``.
    """
    max_id = app.recorder.max_notification_id() or 0
    assert max_id > 0
    stored = {n.id: n for n in app.recorder.select_notifications(start=1, limit=max_id, topics=PUBLISHED_TOPICS)}
    assert [m.msg_id for m in messages] == [f"Casework:{notification_id}" for notification_id in stored]
    last_version: dict[str, int] = {}
    for message in messages:
        body = message.body
        notification = stored[body["notification_id"]]
        assert message.msg_id == f"Casework:{notification.id}"
        assert (UUID(body["case_id"]), body["case_version"]) == (notification.originator_id,
                                                                   notification.originator_version)
        assert body["case_version"] == last_version.get(body["case_id"], 0) + 1
        last_version[body["case_id"]] = body["case_version"]


@cache
def contract_schema(event_type: str) -> dict[str, Any]:
    path = SCHEMAS / f"{event_type}.v1.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def assert_valid_contracts(messages: list[StreamMessage], prefix: str) -> None:
    for message in messages:
        body = message.body
        jsonschema.validate(body, contract_schema(body["event_type"]))
        assert message.subject.startswith(f"{prefix}.")
        assert message.subject.endswith(f".{body['event_type']}")


# ---- a. every fact, once, in order, as a valid contract ---------------------------------------------------
async def test_every_stored_fact_reaches_the_stream_once_in_case_version_order(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    with casework(pg_schema) as app:
        await asyncio.to_thread(iceland_lifecycle, app)          # stored before the relay starts
        relay = Relay(app, pg_schema.eventsourcing_env(), settings_for(js_stream))
        try:
            async with running(relay):
                await wait_until(caught_up(relay), what="the Iceland backlog")
                await asyncio.to_thread(norway_lifecycle, app)   # stored while it runs: woken by NOTIFY
                await wait_until(caught_up(relay), what="the Norway lifecycle")
            messages = await stream_messages(js_stream)
            assert_exactly_once_in_order(messages, app)
            assert_valid_contracts(messages, js_stream.subject_prefix)
            assert {m.body["event_type"] for m in messages} >= {"contact_registered", "support_team_concluded",
                                                                 "institution_registered"}
            assert relay.status().lag == 0
        finally:
            relay.close()


async def test_with_the_event_cipher_on_the_relay_publishes_the_facts_as_the_validated_mapping_would(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    """The relay maps from the stored state (contracts.stored_mapping): through the store's cipher too, and
    byte for byte what the domain's events through the validated v1 models give."""
    settings = StoreSettings(pg_dsn=pg_schema.dsn, pg_schema=pg_schema.schema,
                             event_cipher_key=SecretStr(AESCipher.create_key(32)))
    env = with_event_cipher(pg_schema.eventsourcing_env(), settings)
    app = Casework(env=env)
    try:
        await asyncio.to_thread(iceland_lifecycle, app)
        relay = Relay(app, env, settings_for(js_stream))
        try:
            async with running(relay):
                await wait_until(caught_up(relay), what="the Iceland lifecycle")
        finally:
            relay.close()
        messages = await stream_messages(js_stream)
        assert_exactly_once_in_order(messages, app)
        tracker = MunicipalityTracker()
        expected = [tracker.to_published(app.mapper.to_domain_event(n), n.id, app.name) for n in
                    app.recorder.select_notifications(start=None, limit=10**6, topics=PUBLISHED_TOPICS)]
        assert [m.payload for m in messages] == [e.payload for e in expected]
        assert [m.subject for m in messages] == [f"{js_stream.subject_prefix}.{e.subject}" for e in expected]
    finally:
        app.close()


# ---- b. restart, including a crash between publishing and recording the position -------------------------
async def test_a_restarted_relay_resumes_and_a_republished_batch_is_dropped_as_duplicate(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    env = pg_schema.eventsourcing_env()
    with casework(pg_schema) as app:
        await asyncio.to_thread(iceland_lifecycle, app)
        first = Relay(app, env, settings_for(js_stream))
        try:
            async with running(first):
                await wait_until(caught_up(first), what="first run")
        finally:
            first.close()
        published_first = first.published
        # A crash after the PubAcks but before the position was recorded: the position is behind the stream.
        with pg_schema.connect() as conn:
            conn.execute("UPDATE natsrelay_tracking SET notification_id = 5")
        await asyncio.to_thread(norway_lifecycle, app)
        second = Relay(app, env, settings_for(js_stream))
        try:
            assert second.status().position == 5
            async with running(second):
                await wait_until(caught_up(second), what="second run")
            after_five = app.recorder.select_notifications(start=5, limit=10**9, inclusive_of_start=False,
                                                           topics=PUBLISHED_TOPICS)
            assert second.published == len(after_five)        # republished from 6, not from the start
            up_to_five = app.recorder.select_notifications(start=None, limit=10**9, stop=5, topics=PUBLISHED_TOPICS)
            assert second.duplicates == published_first - len(up_to_five)  # ... and JetStream dropped the repeats
            messages = await stream_messages(js_stream)
            assert published_first > 5
            assert_exactly_once_in_order(messages, app)
        finally:
            second.close()


# ---- a relay that starts mid-log, and one that never hears a NOTIFY ----------------------------------------
async def test_a_relay_starting_mid_log_publishes_each_fact_under_the_municipality_it_had_then(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    """The opening fact (which places the case in Reykjavík) lies before the relay's position; the family
    moves to Kópavogur later. Facts before the move stay Reykjavík's, the move and after are Kópavogur's."""
    coordinator = Actor("person:coord-mid-1", Role.COORDINATOR, "org:school-mid-1")
    meta = CommandMeta(coordinator, datetime(2024, 3, 1, 9, tzinfo=UTC))
    with casework(pg_schema) as app:
        ensure_institution(app, "org:school-mid-1", "secondary_school", "muni:reykjavik", "IS",
                           coordinator.person_ref, CommandMeta(acting("person:lead-rvk", Role.MUNICIPALITY_LEAD),
                                                               meta.occurred_at))
        case_id = app.register_contact(c.RegisterContact(
            child_ref="person:child-mid-1", parent_refs=("person:parent-mid-1",), birth_date=date(2008, 1, 1),
            municipality_ref="muni:reykjavik", coordinator_ref=coordinator.person_ref,
            coordinator_org_ref="org:school-mid-1", life_stage="secondary", conflict_of_interest_declared_none=True),
            meta).case_id
        opened_at = app.recorder.max_notification_id() or 0
        app.sign_information_sharing_request(c.SignInformationSharingRequest(
            case_id=case_id, request_id="share-mid-1", signatory_refs=("person:parent-mid-1",),
            source_provider_org_refs=("org:health-mid-1",), target_refs=(coordinator.person_ref,),
            form_doc_ref="doc:share-mid-1"), meta)
        app.change_domicile(c.ChangeDomicile(case_id=case_id, to_municipality_ref="muni:kopavogur"), meta)
        app.record_contact_with_family(c.RecordContactWithFamily(
            case_id=case_id, offered_to=("parent",), contact_refs=("person:parent-mid-1",), response="accepted"),
            meta)
        relay = Relay(app, pg_schema.eventsourcing_env(), settings_for(js_stream))
        try:
            relay.tracking.insert_tracking(Tracking(app.name, opened_at))
            async with running(relay):
                await wait_until(caught_up(relay), what="the facts after the position")
        finally:
            relay.close()
    published = [(m.body["event_type"], m.subject.split(".")[4]) for m in await stream_messages(js_stream)]
    assert published == [("information_sharing_request_signed", "reykjavik"), ("domicile_changed", "kopavogur"),
                         ("integration_offered", "kopavogur")]


async def test_without_any_notify_the_relay_still_publishes_by_polling(
        pg_schema: PgTarget, js_stream: JsTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    async def listen_to_nothing(connection: object, channel: str) -> None:
        """As if every NOTIFY were lost (tech-notes §5.1a)."""

    monkeypatch.setattr(relay_postgres, "listen", listen_to_nothing)
    with casework(pg_schema) as app:
        relay = Relay(app, pg_schema.eventsourcing_env(), settings_for(js_stream, relay_poll_interval=0.5))
        try:
            async with running(relay):
                await wait_until(lambda: relay.is_leader, what="leadership")
                await asyncio.sleep(0.2)                      # idle: waiting for a NOTIFY that never comes
                await asyncio.to_thread(norway_lifecycle, app)
                await wait_until(caught_up(relay), timeout=5, what="the poll to find the new facts")
        finally:
            relay.close()
        assert_exactly_once_in_order(await stream_messages(js_stream), app)


# ---- c. two relays: one leads, the other takes over ------------------------------------------------------
async def test_only_the_leader_publishes_and_the_standby_takes_over_when_it_dies(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    env = pg_schema.eventsourcing_env()
    with casework(pg_schema) as app:
        one, two = Relay(app, env, settings_for(js_stream)), Relay(app, env, settings_for(js_stream))
        try:
            async with running(one) as one_task, running(two) as two_task:
                await wait_until(lambda: one.is_leader or two.is_leader, what="a leader")
                await asyncio.sleep(0.5)                      # the other has tried the lock by now
                leader, standby, leader_task = (one, two, one_task) if one.is_leader else (two, one, two_task)
                assert not standby.is_leader
                await asyncio.to_thread(iceland_lifecycle, app)
                await wait_until(caught_up(leader), what="the leader")
                assert leader.published == len(app.recorder.select_notifications(
                    start=None, limit=10**9, topics=PUBLISHED_TOPICS))
                assert standby.published == 0

                leader_task.cancel()                          # its sessions close, so its lock is released
                await wait_until(lambda: standby.is_leader, timeout=10, what="the standby to take over")
                await asyncio.to_thread(norway_lifecycle, app)
                await wait_until(caught_up(standby), what="the new leader")
                assert standby.published > 0
            assert_exactly_once_in_order(await stream_messages(js_stream), app)
        finally:
            one.close()
            two.close()


# ---- d. the relay process killed at random points while commands keep coming -------------------------------
def relay_process_env(pg: PgTarget, target: JsTarget) -> dict[str, str]:
    return os.environ | target.env("relay") | {
        "PROSPERITY_PG_DSN": pg.dsn, "PROSPERITY_PG_SCHEMA": pg.schema, "PROSPERITY_PG_POOL_SIZE": "2",
        "PROSPERITY_RELAY_POLL_INTERVAL": "0.2",
        "PROSPERITY_RELAY_BATCH_SIZE": "20", "PROSPERITY_RELAY_CONNECT_TIMEOUT": "15",  # a loaded CI host is slow
        "PROSPERITY_LOG_FORMAT": "json",
    }


def start_relay_process(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "services.cli", "relay"], cwd=PROJECT_ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)


class CommandLoad:
    """A thread that keeps running whole lifecycles (new children) until stopped."""

    def __init__(self, app: Casework) -> None:
        self.app, self.cases = app, 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                lifecycle = iceland_lifecycle if self.cases % 2 == 0 else norway_lifecycle
                lifecycle(self.app, child=f"person:child-load-{self.cases}")
                self.cases += 1
        except BaseException as error:  # surfaced by stop()
            self.error = error

    def __enter__(self) -> CommandLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if self.error is not None:
            raise AssertionError(f"a command failed under load: {self.error!r}") from self.error


async def test_relay_killed_at_random_points_still_publishes_every_fact_exactly_once(
        pg_schema: PgTarget, js_stream: JsTarget, tmp_path: Path) -> None:
    env, log_path, rng = relay_process_env(pg_schema, js_stream), tmp_path / "relay.log", random.Random(7)
    with casework(pg_schema) as app:
        observer = Relay(app, pg_schema.eventsourcing_env(), settings_for(js_stream))
        try:
            with CommandLoad(app) as load:
                for _ in range(10):
                    process = start_relay_process(env, log_path)
                    await asyncio.sleep(rng.uniform(1.0, 2.5))    # start-up is ~1 s: kills land mid-stream
                    process.send_signal(signal.SIGKILL)
                    process.wait()
            assert load.cases >= 2
            process = start_relay_process(env, log_path)
            try:
                await wait_until(caught_up(observer), timeout=30, what="the backlog after the last crash")
            finally:
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=15) == 0, log_path.read_text()[-3000:]
            messages = await stream_messages(js_stream)
            assert_exactly_once_in_order(messages, app)
        finally:
            observer.close()


async def test_a_standby_relay_process_takes_over_when_the_leader_process_is_killed(
        pg_schema: PgTarget, js_stream: JsTarget, tmp_path: Path) -> None:
    env = relay_process_env(pg_schema, js_stream)
    logs = [tmp_path / "relay-a.log", tmp_path / "relay-b.log"]
    with casework(pg_schema) as app:
        observer = Relay(app, pg_schema.eventsourcing_env(), settings_for(js_stream))
        processes = [start_relay_process(env, log) for log in logs]
        try:
            await asyncio.to_thread(iceland_lifecycle, app)
            await wait_until(caught_up(observer), what="the first leader")
            leading = [i for i, log in enumerate(logs) if "relay.leading" in log.read_text()]
            assert len(leading) == 1, "exactly one process leads"
            leader, standby = leading[0], 1 - leading[0]
            try:
                await wait_until(lambda: "relay.standby" in logs[standby].read_text(), timeout=60,
                                 what="the other to stand by")
            except AssertionError as error:
                raise AssertionError(f"{error}; standby exit code {processes[standby].poll()}, its log:\n"
                                     f"{logs[standby].read_text()[-3000:]}") from None
            assert "relay.leading" not in logs[standby].read_text()

            processes[leader].send_signal(signal.SIGKILL)
            processes[leader].wait()
            await asyncio.to_thread(norway_lifecycle, app)
            await wait_until(caught_up(observer), timeout=60, what="the standby to take over and publish")
            assert "relay.leading" in logs[standby].read_text()
            assert_exactly_once_in_order(await stream_messages(js_stream), app)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=15)
            observer.close()


# ---- e. NATS stopped under load ------------------------------------------------------------------------------
async def test_commands_succeed_while_nats_is_down_and_the_backlog_drains_after(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    server = js_stream.bus.server                            # same configuration, port and store when restarted
    with casework(pg_schema) as app:
        relay = Relay(app, pg_schema.eventsourcing_env(), settings_for(js_stream))
        try:
            async with running(relay):
                await asyncio.to_thread(iceland_lifecycle, app, "person:child-before-outage")
                await wait_until(caught_up(relay), what="publication before the outage")
                server.stop()
                position = relay.status().position
                await asyncio.to_thread(norway_lifecycle, app, "person:child-during-outage")
                await asyncio.to_thread(iceland_lifecycle, app, "person:child-during-outage-2")
                await asyncio.sleep(1.5)                      # the relay retries meanwhile
                assert relay.status().position == position
                assert relay.status().lag > 0
                server.start()
                await wait_until(caught_up(relay), timeout=30, what="the backlog after NATS came back")
            assert_exactly_once_in_order(await stream_messages(js_stream), app)
        finally:
            relay.close()


# ---- f. no personal data leaves the system ----------------------------------------------------------------
VAULT: dict[str, dict[str, str]] = {
    # pseudonym -> identity; the identity exists only here, as it would only in the vault service.
    "person:child-pii-is": {"name": "Guðrún Sigríður Jónsdóttir", "kennitala": "1509082340",
                            "email": "gudrun.jonsdottir@example.is", "phone": "+354 891 2345"},
    "person:child-pii-no": {"name": "Ola Nordmann Hansen", "fodselsnummer": "02051612345",
                            "email": "ola.hansen@example.no", "phone": "+47 912 34 567"},
    "person:parent-is-1": {"name": "Anna Björk Pétursdóttir", "kennitala": "0101754329",
                           "email": "anna.bjork@example.is", "phone": "+354 661 0000"},
    "person:parent-no-1": {"name": "Kari Nordmann", "fodselsnummer": "17037512345",
                           "email": "kari.nordmann@example.no", "phone": "+47 400 00 000"},
}
PII_PATTERNS = {
    "e-mail": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    "kennitala": re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)"),
    "fødselsnummer": re.compile(r"(?<!\d)\d{11}(?!\d)"),
    "phone": re.compile(r"\+\d{1,3}[ \d]{7,}"),
}
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def test_no_published_message_carries_names_id_numbers_emails_or_phone_numbers(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    with casework(pg_schema) as app:
        await asyncio.to_thread(iceland_lifecycle, app, "person:child-pii-is")
        await asyncio.to_thread(norway_lifecycle, app, "person:child-pii-no")
        relay = Relay(app, pg_schema.eventsourcing_env(), settings_for(js_stream))
        try:
            async with running(relay):
                await wait_until(caught_up(relay), what="publication")
        finally:
            relay.close()
        messages = await stream_messages(js_stream)
    assert len(messages) > 30
    identities = [value for person in VAULT.values() for value in person.values()]
    identities += [part for person in VAULT.values() for part in person["name"].split()]
    for message in messages:
        text = message.payload.decode() + json.dumps(message.headers) + message.subject
        for value in identities:
            assert value.lower() not in text.lower(), f"{value!r} published in {message.msg_id}"
        scrubbed = UUID_PATTERN.sub("<uuid>", text)
        for kind, pattern in PII_PATTERNS.items():
            assert not pattern.search(scrubbed), f"{kind} {pattern.search(scrubbed)} in {message.msg_id}"
        assert "birth_date" not in message.body


# ---- the command line -----------------------------------------------------------------------------------
async def test_relay_status_prints_position_max_notification_id_and_lag(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    with casework(pg_schema) as app:
        await asyncio.to_thread(iceland_lifecycle, app)
        max_id = app.recorder.max_notification_id()
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "services.cli", "relay", "--status"], cwd=PROJECT_ROOT,
        env=relay_process_env(pg_schema, js_stream), capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split() == ["position", "0", "max_notification_id", str(max_id),
                                              "lag", str(max_id)]


async def test_relay_fails_clearly_without_a_nats_server(pg_schema: PgTarget, js_stream: JsTarget) -> None:
    env = relay_process_env(pg_schema, js_stream) | {"PROSPERITY_NATS_URL": f"nats://127.0.0.1:{free_port()}",
                                                     "PROSPERITY_RELAY_CONNECT_TIMEOUT": "3"}
    result = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "services.cli", "relay"],
                                     cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=60)
    assert result.returncode == 1
    assert "PROSPERITY_NATS_URL" in result.stderr.decode()
