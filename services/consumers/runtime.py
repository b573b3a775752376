"""A read model as a JetStream consumer: one faststream app per projection, run as N replicas.

Every replica pulls from the same durable pull consumer (named after the projection), so JetStream spreads
the events across replicas. Each event is applied by ``ReadModelStore.apply`` in one PostgreSQL transaction
together with the per-case record of what was processed, then acknowledged:

* applied or duplicate → ack (a duplicate is acknowledged and ignored);
* gap (version n arrived before n-1) → nak with a short delay: JetStream redelivers it, by then n-1 is in;
* a payload that is not a valid v1 contract → dead-letter at once (it can never succeed);
* an error while applying → nak with backoff; after ``poison_after`` deliveries → dead-letter and terminate.

Dead letters go to ``deadletter.<projection>.<event_type>`` (the stream DEADLETTERS, apart from the facts)
with the error in a header, and are logged, so an operator can inspect and
replay them. The consumer's ``max_deliver`` is unlimited: the bound on poison is ours, because a gap must
be allowed to wait as long as it takes while a poison message must not.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import structlog
from faststream import AckPolicy, Context, FastStream
from faststream.nats import ConsumerConfig, DeliverPolicy, JStream, NatsBroker, PullSub
from faststream.nats.message import NatsBatchMessage
from nats.aio.msg import Msg
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from contracts.events import parse_event
from contracts.subjects import STREAM_NAME
from services.bus.settings import BusSettings
from services.consumers.store import Outcome, ReadModelStore

log = structlog.get_logger()
BatchMessage = Annotated[NatsBatchMessage, Context("message")]
"""The fetched batch, injected by faststream (an alias evaluated here, not a postponed annotation string)."""


class ConsumerSettings(BusSettings):
    model_config = SettingsConfigDict(env_prefix="PROSPERITY_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    stream_name: str = STREAM_NAME
    subject_prefix: str = ""
    """Prepended to every subject (``<prefix>.cases.v1.…``): lets tests share one server in isolation."""
    batch_size: int = 1
    """Messages per pull. 1 returns each message as soon as it arrives (lowest latency; each event is its own
    PostgreSQL transaction anyway). Larger batches help a backlog, but nats-py's fetch then waits up to
    ``fetch_timeout_seconds`` to fill a batch once the stream is quiet."""
    fetch_timeout_seconds: float = 1.0
    ack_wait_seconds: float = 30.0
    """A replica that dies holding messages gives them back after this long."""
    consumer_name: str | None = None
    """The durable consumer's name; default the projection's name. Two names = two independent read models."""
    poison_after: int = 5
    gap_delay_seconds: float = 0.2
    retry_delay_seconds: float = 1.0


def subject(settings: ConsumerSettings, pattern: str) -> str:
    return f"{settings.subject_prefix}.{pattern}" if settings.subject_prefix else pattern


def delivery_count(msg: Msg) -> int:
    """How many times JetStream has delivered this message (1 on first delivery)."""
    try:
        return int(msg.metadata.num_delivered)
    except Exception:  # nats.errors.NotJSMessageError under faststream's in-memory test broker
        return 1


def build_app(store: ReadModelStore, settings: ConsumerSettings) -> FastStream:
    broker = NatsBroker(**settings.broker_options(settings.consumer_name or store.projection.name),
                        max_reconnect_attempts=-1)
    name = settings.consumer_name or store.projection.name
    stream = JStream(settings.stream_name, declare=False)  # declared only by services.bus.provision (tech-notes §5.2a)

    async def dead_letter(msg: Msg, event_type: str, reason: str) -> None:
        target = subject(settings, f"deadletter.{name}.{event_type or 'unknown'}")
        headers = {"Prosperity-Error": reason[:500], "Prosperity-Original-Subject": msg.subject}
        await broker.publish(msg.data, target, headers=headers, stream=settings.deadletter_stream_name, timeout=5.0)
        await msg.term()
        log.error("consumer.dead_letter", projection=name, subject=target, reason=reason[:200])

    async def handle(msg: Msg) -> None:
        try:
            event = parse_event(msg.data)
        except (ValidationError, ValueError) as error:
            await dead_letter(msg, "", f"not a valid v1 contract: {error}")
            return
        try:
            outcome = await asyncio.to_thread(store.apply, event)
        except Exception as error:
            delivered = delivery_count(msg)
            if delivered >= settings.poison_after:
                await dead_letter(msg, event.event_type, f"{type(error).__name__}: {error}")
            else:
                log.warning("consumer.retry", projection=name, event_id=event.event_id, delivered=delivered,
                            error=str(error)[:200])
                await msg.nak(delay=settings.retry_delay_seconds * delivered)
            return
        if outcome is Outcome.GAP:
            await msg.nak(delay=settings.gap_delay_seconds)
        else:
            await msg.ack()

    @broker.subscriber(
        subject(settings, "*.v1.>"),
        stream=stream,
        durable=name,
        pull_sub=PullSub(batch_size=settings.batch_size, timeout=settings.fetch_timeout_seconds, batch=True),
        config=ConsumerConfig(ack_wait=settings.ack_wait_seconds, max_deliver=-1, deliver_policy=DeliverPolicy.ALL),
        ack_policy=AckPolicy.MANUAL,
        inbox_prefix=settings.subscriber_inbox_prefix(name),
    )
    async def on_events(batch: BatchMessage) -> None:
        """One fetched batch, strictly in order. Why a batch subscriber: faststream 0.7 runs the messages of a
        non-batch pull fetch concurrently, which reorders a case's versions into gaps (and 0.2 s naks)."""
        for msg in batch.raw_message:
            await handle(msg)

    app = FastStream(broker)

    @app.on_startup
    async def prepare() -> None:
        await asyncio.to_thread(store.setup)
        log.info("consumer.started", projection=name, subject=subject(settings, "*.v1.>"))

    @app.after_shutdown
    async def close() -> None:
        await asyncio.to_thread(store.close)

    return app
