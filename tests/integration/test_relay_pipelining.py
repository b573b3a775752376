"""The relay with small batches, so that a batch is always on the wire behind the one awaiting its PubAcks:
positions are still recorded in order, and after a NATS outage every unrecorded batch goes out again, whole
and in order, each fact once in the stream.

(The scenarios of ``test_relay`` mostly fit in one batch of 500; these use batches of 5.)
"""

from __future__ import annotations

import asyncio
from typing import Any

from eventsourcing.persistence import Tracking

from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from services.relay.relay import Relay
from services.walkthrough import iceland_lifecycle, norway_lifecycle
from tests.integration.test_relay import (
    assert_exactly_once_in_order,
    assert_valid_contracts,
    casework,
    caught_up,
    running,
    settings_for,
    stream_messages,
    wait_until,
)

SMALL = 5


async def test_pipelined_small_batches_publish_every_fact_once_in_order(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    with casework(pg_schema) as app:
        await asyncio.to_thread(iceland_lifecycle, app)
        await asyncio.to_thread(norway_lifecycle, app)
        relay = Relay(app, pg_schema.eventsourcing_env(), settings_for(js_stream, relay_batch_size=SMALL))
        recorded: list[int] = []
        insert = relay.tracking.insert_tracking

        def spy(tracking: Tracking) -> None:
            insert(tracking)
            recorded.append(tracking.notification_id)

        relay.tracking.insert_tracking = spy
        try:
            async with running(relay):
                await wait_until(caught_up(relay), what="the backlog in batches of 5")
            messages = await stream_messages(js_stream)
            assert_exactly_once_in_order(messages, app)
            assert_valid_contracts(messages, js_stream.subject_prefix)
            assert relay.duplicates == 0 and relay.published == len(messages)
            assert len(recorded) >= len(messages) // SMALL and recorded == sorted(recorded)
            assert recorded[-1] == app.recorder.max_notification_id()
        finally:
            relay.close()


async def test_after_a_nats_outage_every_unrecorded_batch_is_sent_again_in_order(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    server = js_stream.bus.server                            # same configuration, port and store when restarted
    with casework(pg_schema) as app:
        relay = Relay(app, pg_schema.eventsourcing_env(), settings_for(js_stream, relay_batch_size=SMALL))
        try:
            async with running(relay):
                await asyncio.to_thread(iceland_lifecycle, app, "person:child-before-outage")
                await wait_until(caught_up(relay), what="publication before the outage")
                server.stop()
                position = relay.status().position
                await asyncio.to_thread(norway_lifecycle, app, "person:child-during-outage")
                await asyncio.sleep(1.5)
                assert relay.status().position == position
                server.start()
                await wait_until(caught_up(relay), timeout=30, what="the backlog after NATS came back")
            assert_exactly_once_in_order(await stream_messages(js_stream), app)
        finally:
            relay.close()



async def test_commits_made_while_a_batch_is_on_the_wire_go_out_on_their_notify_not_the_poll(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    """A relay that read to the log's end waits for a NOTIFY instead of reading again: a commit made after that read
    must still wake it. Here each of the first batches' sends commits a whole lifecycle before it returns; with a poll
    of a minute, a NOTIFY the relay lost shows as a relay that stops short of the log's end."""
    with casework(pg_schema) as app:
        relay = Relay(app, pg_schema.eventsourcing_env(), settings_for(js_stream, relay_poll_interval=60.0))
        children = [f"person:child-live-{n}" for n in range(3)]
        send = relay._send

        async def send_then_commit(js: Any, batch: Any) -> Any:
            futures = await send(js, batch)
            if children:
                await asyncio.to_thread(iceland_lifecycle, app, children.pop())
            return futures

        relay._send = send_then_commit  # type: ignore[method-assign]
        try:
            await asyncio.to_thread(norway_lifecycle, app)
            async with running(relay):
                await wait_until(lambda: not children and caught_up(relay)(), timeout=15,
                                 what="every commit published without the poll")
            assert_exactly_once_in_order(await stream_messages(js_stream), app)
        finally:
            relay.close()
