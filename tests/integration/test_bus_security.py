"""The bus admits only those it should (issue 10), against a real nats-server running the generated
configuration: an agency receives its municipality's facts and nothing else, every other thing it tries is
refused with the server's permission error, nothing anonymous gets in, and each of prosperity's own
identities can do its one job only."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import nats.errors
import nkeys  # type: ignore[import-untyped]
import pytest
from nats.js.api import ConsumerConfig, StreamConfig

from services.bus.keys import new_user_seed
from services.bus.plan import AGENCY_JS_API_PREFIX
from services.bus.registry import Agency, AgencyRegistry
from services.infra.nats_env import JsTarget
from tests.conftest import BusFactory
from tests.integration.bus_support import Client, client, fetch_all

REYKJAVIK = Agency(id="reykjavik-school", jurisdiction="IS", municipalities=("muni:reykjavik",))
KOPAVOGUR = Agency(id="kopavogur-gev", jurisdiction="IS", municipalities=("muni:kopavogur",),
                   event_types=("complaint_lodged",))
REGISTRY = AgencyRegistry(agency=(REYKJAVIK, KOPAVOGUR))
PUBLISHED = [  # (subject below the test's prefix, who may receive it)
    ("cases.v1.is.reykjavik.service_recorded", {REYKJAVIK.id}),
    ("cases.v1.is.reykjavik.complaint_lodged", {REYKJAVIK.id}),
    ("cases.v1.is.kopavogur.complaint_lodged", {KOPAVOGUR.id}),
    ("cases.v1.is.kopavogur.service_recorded", set()),          # not one of Kópavogur's event types
    ("cases.v1.is.akureyri.complaint_lodged", set()),           # another municipality
    ("cases.v1.no.reykjavik.complaint_received", set()),        # the same token under the other law
    ("directory.v1.is.reykjavik.institution_registered", set()),  # the directory was not granted
]


@pytest.fixture
def bus(bus_factory: BusFactory) -> JsTarget:
    return bus_factory(registry=REGISTRY)


async def publish_as_relay(bus: JsTarget, subjects: list[str], tag: str = "fact") -> None:
    relay = await bus.connect("relay")
    try:
        js = relay.jetstream()
        for n, subject in enumerate(subjects):
            await js.publish(bus.subject(subject), f'{{"n": {n}}}'.encode(), headers={"Nats-Msg-Id": f"{tag}-{n}"})
    finally:
        await relay.close()


async def stored_count(bus: JsTarget) -> int:
    admin = await bus.connect("admin")
    try:
        return int((await admin.jetstream().stream_info(bus.stream)).state.messages)
    finally:
        await admin.close()


# ---- what an agency receives ------------------------------------------------------------------------------
@pytest.mark.parametrize("agency", [REYKJAVIK, KOPAVOGUR], ids=lambda a: a.id)
async def test_an_agency_receives_its_municipalitys_facts_and_nothing_of_another_or_of_the_other_law(
        bus: JsTarget, agency: Agency) -> None:
    await publish_as_relay(bus, [subject for subject, _ in PUBLISHED])
    expected = [bus.subject(subject) for subject, receivers in PUBLISHED if agency.id in receivers]
    reader = await client(bus, agency.durable)
    try:
        received = await fetch_all(reader.js(agency=True), agency.durable, bus.stream)
        assert [m.subject for m in received] == expected
        assert await fetch_all(reader.js(agency=True), agency.durable, bus.stream) == []  # all acknowledged
        # The same code works with pull_subscribe(durable=…): CONSUMER.INFO crosses the import too.
        info = await reader.js(agency=True).consumer_info(bus.stream, agency.durable)
        assert (info.num_pending, info.num_ack_pending) == (0, 0)
        assert list(info.config.filter_subjects) == list(agency.filter_subjects(bus.subject_prefix))
    finally:
        await reader.close()
    assert reader.errors == []


# ---- what an agency may not do ----------------------------------------------------------------------------
AgencyAttempt = Callable[[Client, JsTarget], Awaitable[str]]


async def subscribe_to_everything(reader: Client, bus: JsTarget) -> str:
    return await reader.refused_subscription(">", lambda: publish_as_relay(bus, ["cases.v1.is.akureyri.x"]))


async def subscribe_to_another_municipality(reader: Client, bus: JsTarget) -> str:
    subject = bus.subject("cases.v1.is.kopavogur.>")
    return await reader.refused_subscription(subject, lambda: publish_as_relay(bus, ["cases.v1.is.kopavogur.x"]))


async def subscribe_to_other_clients_inboxes(reader: Client, bus: JsTarget) -> str:
    return await reader.refused_subscription("_INBOX_dashboard.>", lambda: asyncio.sleep(0))


async def publish_a_fact(reader: Client, bus: JsTarget) -> str:
    subject = bus.subject("cases.v1.is.reykjavik.contact_registered")
    return await reader.refused_request(lambda: reader.js().publish(subject, b"{}", headers={"Nats-Msg-Id": "f-1"}),
                                        subject)


async def create_a_consumer_without_its_filter(reader: Client, bus: JsTarget) -> str:
    config = ConsumerConfig(durable_name="everything", name="everything")
    return await reader.refused_request(lambda: reader.js(agency=True).add_consumer(bus.stream, config),
                                        f"prosperity.API.CONSUMER.CREATE.{bus.stream}.everything")


async def create_a_consumer_on_the_real_api(reader: Client, bus: JsTarget) -> str:
    config = ConsumerConfig(durable_name="everything", name="everything", filter_subject=bus.subject(">"))
    return await reader.refused_request(lambda: reader.js().add_consumer(bus.stream, config),
                                        f"$JS.API.CONSUMER.CREATE.{bus.stream}.everything")


async def pull_another_agencys_consumer(reader: Client, bus: JsTarget) -> str:
    async def pull() -> Any:
        subscription = await reader.js(agency=True).pull_subscribe_bind(KOPAVOGUR.durable, bus.stream)
        return await subscription.fetch(1, timeout=0.5)
    return await reader.refused_request(pull, f"prosperity.API.CONSUMER.MSG.NEXT.{bus.stream}.{KOPAVOGUR.durable}")


async def read_a_message_directly(reader: Client, bus: JsTarget) -> str:
    return await reader.refused_request(lambda: reader.js(agency=True).get_msg(bus.stream, 1),
                                        f"prosperity.API.STREAM.MSG.GET.{bus.stream}")


async def delete_the_stream(reader: Client, bus: JsTarget) -> str:
    return await reader.refused_request(lambda: reader.js(agency=True).delete_stream(bus.stream),
                                        f"prosperity.API.STREAM.DELETE.{bus.stream}")


async def purge_the_stream(reader: Client, bus: JsTarget) -> str:
    return await reader.refused_request(lambda: reader.js().purge_stream(bus.stream),
                                        f"$JS.API.STREAM.PURGE.{bus.stream}")


async def update_the_stream(reader: Client, bus: JsTarget) -> str:
    config = StreamConfig(name=bus.stream, subjects=[bus.subject(">")])
    return await reader.refused_request(lambda: reader.js(agency=True).update_stream(config),
                                        f"prosperity.API.STREAM.UPDATE.{bus.stream}")


async def create_a_stream(reader: Client, bus: JsTarget) -> str:
    config = StreamConfig(name="MINE", subjects=["mine.>"])
    return await reader.refused_request(lambda: reader.js().add_stream(config), "$JS.API.STREAM.CREATE.MINE")


@pytest.mark.parametrize("attempt", [
    subscribe_to_everything, subscribe_to_another_municipality, subscribe_to_other_clients_inboxes,
    publish_a_fact, create_a_consumer_without_its_filter, create_a_consumer_on_the_real_api,
    pull_another_agencys_consumer, read_a_message_directly, delete_the_stream, purge_the_stream,
    update_the_stream, create_a_stream,
], ids=lambda attempt: attempt.__name__)
async def test_an_agency_is_refused_everything_but_its_own_consumer(bus: JsTarget, attempt: AgencyAttempt) -> None:
    await publish_as_relay(bus, ["cases.v1.is.reykjavik.service_recorded"], tag="before")
    reader = await client(bus, REYKJAVIK.durable)
    try:
        error = await attempt(reader, bus)
        assert "permissions violation" in error
        # Refused, and nothing changed: the stream and the agency's own consumer are as they were.
        assert [m.subject for m in await fetch_all(reader.js(agency=True), REYKJAVIK.durable, bus.stream)] == [
            bus.subject("cases.v1.is.reykjavik.service_recorded")]
    finally:
        await reader.close()
    assert await stored_count(bus) >= 1


# ---- nobody else gets in -----------------------------------------------------------------------------------
async def test_a_connection_without_credentials_is_refused(bus: JsTarget) -> None:
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(bus.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)


async def test_a_key_the_configuration_does_not_know_is_refused(bus: JsTarget) -> None:
    stranger = new_user_seed()
    assert nkeys.from_seed(bytearray(stranger.encode())).public_key.decode() not in (
        identity.public_key for identity in bus.bus.generated.plan.identities)
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(bus.url, nkeys_seed_str=stranger, allow_reconnect=False, max_reconnect_attempts=0,
                           connect_timeout=2)


# ---- prosperity's own identities: each its one job ---------------------------------------------------------
async def test_a_consumer_identity_pulls_its_own_durable_only(bus: JsTarget) -> None:
    await publish_as_relay(bus, ["cases.v1.is.reykjavik.service_recorded"])
    dashboard = await client(bus, "dashboard")
    try:
        js = dashboard.js(agency=True)  # alone in its account, as an agency: the JetStream API through its imports
        assert len(await fetch_all(js, "dashboard", bus.stream, expected=1)) == 1
        await dashboard.refused_request(lambda: _pull_once(js, "audit", bus.stream),
                                        f"{AGENCY_JS_API_PREFIX}.CONSUMER.MSG.NEXT.{bus.stream}.audit")
        dead = bus.subject("deadletter.dashboard.service_recorded")
        ack = await js.publish(dead, b"{}", stream=bus.deadletter_stream)
        assert ack.stream == bus.deadletter_stream
        other = bus.subject("deadletter.audit.service_recorded")
        await dashboard.refused_request(lambda: js.publish(other, b"{}"), other)
        fact = bus.subject("cases.v1.is.reykjavik.service_recorded")
        await dashboard.refused_request(lambda: js.publish(fact, b"{}"), fact)
        await dashboard.refused_subscription("_INBOX.>", lambda: asyncio.sleep(0))
        await dashboard.refused_request(lambda: js.delete_stream(bus.stream),
                                        f"{AGENCY_JS_API_PREFIX}.STREAM.DELETE.{bus.stream}")
        await dashboard.refused_request(lambda: dashboard.js().stream_info(bus.stream),
                                        f"$JS.API.STREAM.INFO.{bus.stream}")
    finally:
        await dashboard.close()


async def test_no_reader_can_make_the_server_write_into_a_stream_by_a_reply_subject(bus: JsTarget) -> None:
    """Found by a black-box probe: permissions check a message's subject, never its reply subject, and JetStream
    answers a pull request (a "no messages" status) or an ack on the reply subject named. A read model in ``APP``
    named ``cases.v1.…`` or another read model's ``deadletter.…`` as the reply and the server stored an empty
    message there. Now every reader is alone in its account, and an import rewrites the reply subject."""
    stored = await stream_sizes(bus)
    fact, dead = bus.subject("cases.v1.is.akureyri.complaint_lodged"), bus.subject("deadletter.audit.forged")
    for name in ("dashboard", "audit", "notifications"):
        reader = await client(bus, name)
        try:
            for api in (AGENCY_JS_API_PREFIX, "$JS.API"):  # through its import, and as it pulled before
                pull = f"{api}.CONSUMER.MSG.NEXT.{bus.stream}.{name}"
                for reply in (fact, dead):
                    await reader.nc.publish(pull, b'{"batch": 1, "no_wait": true}', reply=reply)
                    await reader.nc.publish(pull, b'{"batch": 1, "expires": 100000000}', reply=reply)  # 0.1 s
            await reader.nc.flush()
        finally:
            await reader.close()
    await asyncio.sleep(0.5)
    assert await stream_sizes(bus) == stored


async def test_the_relay_cannot_make_the_server_write_its_pubacks_into_a_stream_by_a_reply_subject(
        bus: JsTarget) -> None:
    """The relay may publish facts, not dead letters: a fact published with a ``deadletter.…`` reply had its PubAck
    stored in ``DEADLETTERS`` while the relay was in ``APP``; in its own account the import rewrites the reply."""
    facts, dead_letters = await stream_sizes(bus)
    relay = await client(bus, "relay")
    try:
        for n, reply in enumerate((bus.subject("deadletter.audit.forged"), bus.subject("cases.v1.is.akureyri.x"))):
            await relay.nc.publish(bus.subject("cases.v1.is.reykjavik.service_recorded"), b"{}", reply=reply,
                                   headers={"Nats-Msg-Id": f"reply-{n}"})
        await relay.nc.flush()
    finally:
        await relay.close()
    await asyncio.sleep(0.5)
    assert await stream_sizes(bus) == (facts + 2, dead_letters)  # the two facts, and no PubAck stored anywhere


async def stream_sizes(bus: JsTarget) -> tuple[int, int]:
    admin = await client(bus, "admin")
    try:
        js = admin.js()
        return ((await js.stream_info(bus.stream)).state.messages,
                (await js.stream_info(bus.deadletter_stream)).state.messages)
    finally:
        await admin.close()


async def _pull_once(js: Any, durable: str, stream: str) -> Any:
    subscription = await js.pull_subscribe_bind(durable, stream)
    return await subscription.fetch(1, timeout=0.5)


async def test_the_relay_may_publish_facts_and_nothing_else(bus: JsTarget) -> None:
    relay = await client(bus, "relay")
    try:
        js = relay.js()
        ack = await js.publish(bus.subject("directory.v1.is.reykjavik.institution_registered"), b"{}")
        assert ack.stream == bus.stream
        await relay.refused_subscription(bus.subject("cases.v1.>"), lambda: asyncio.sleep(0))
        await relay.refused_request(lambda: _pull_once(js, "dashboard", bus.stream),
                                    f"$JS.API.CONSUMER.MSG.NEXT.{bus.stream}.dashboard")
        await relay.refused_request(lambda: js.stream_info(bus.stream), f"$JS.API.STREAM.INFO.{bus.stream}")
    finally:
        await relay.close()


async def test_the_api_identity_may_only_connect(bus: JsTarget) -> None:
    api = await client(bus, "api")
    try:
        assert api.nc.is_connected
        fact = bus.subject("cases.v1.is.reykjavik.service_recorded")
        await api.refused_request(lambda: api.js().publish(fact, b"{}"), fact)
        await api.refused_subscription(">", lambda: publish_as_relay(bus, ["cases.v1.is.reykjavik.y"]))
    finally:
        await api.close()


async def test_admin_administers_the_streams_but_cannot_publish_facts(bus: JsTarget) -> None:
    admin = await client(bus, "admin")
    try:
        js = admin.js()
        await js.add_stream(StreamConfig(name="SCRATCH", subjects=["scratch.>"]))
        await js.delete_stream("SCRATCH")
        fact = bus.subject("cases.v1.is.reykjavik.service_recorded")
        await admin.refused_request(lambda: js.publish(fact, b"{}"), fact)
    finally:
        await admin.close()
