"""A read model as a JetStream consumer: one faststream app per projection, run as N replicas.

Every replica pulls from the same durable pull consumer (named after the projection), so JetStream spreads
the events across replicas. Each event is applied by ``ReadModelStore.apply`` in one PostgreSQL transaction
together with the per-case record of what was processed, then acknowledged:

* applied, duplicate, or held (it arrived before its predecessor, or its case is quarantined: parked in
  PostgreSQL and applied in order later) → ack. Nothing is redelivered to wait, so no case can slow another;
* a payload that is not a valid v1 contract, or one that does not match how it was published (``Nats-Msg-Id``
  ``<source>:<notification id>``, ``event_id`` ``<case id>:<version>``, the subject) → dead letter, terminate;
* a fact the projection cannot apply → nak with a growing delay; at the ``poison_after``-th delivery it is
  quarantined: recorded with the error, its case degraded in this read model (its later versions parked), a
  dead letter published, the message acked. ``prosperity deadletters`` lists, retries and resolves;
* the database unavailable → the replica waits for it (keeping the message with ``in_progress``), rather than
  spending the message's deliveries on an outage that is no fault of the fact's.

The consumer's ``max_deliver`` is bounded (``max_deliver``), a backstop for a message that kills its replica
before any of the above can run. Dead letters go to their own stream (``contracts.subjects``), one
:class:`~contracts.deadletters.DeadLetterV1` each, never a copy of an event.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from datetime import UTC, datetime
from typing import Annotated

import structlog
from faststream import AckPolicy, Context, FastStream
from faststream.nats import ConsumerConfig, DeliverPolicy, JStream, NatsBroker, PullSub
from faststream.nats.message import NatsBatchMessage
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.aio.msg import Msg
from prometheus_client import REGISTRY
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from contracts.deadletters import DeadLetterKind, DeadLetterV1
from contracts.events import EventEnvelopeV1, parse_event
from contracts.subjects import deadletter_subject, subject_for
from services.bus.settings import BusSettings
from services.consumers import fetching
from services.consumers.quarantine import TRANSIENT, Quarantined, describe
from services.consumers.store import Applied, Outcome, ReadModelStore
from services.observability import metrics
from services.observability.tracing import span_from

log = structlog.get_logger()
BatchMessage = Annotated[NatsBatchMessage, Context("message")]
"""The fetched batch, injected by faststream (an alias evaluated here, not a postponed annotation string)."""


class ConsumerSettings(BusSettings):
    """One read-model replica: its bus identity and namespace (``BusSettings``: URL, seed, stream, subject prefix,
    dead letters' stream) and how it pulls, retries and quarantines."""

    model_config = SettingsConfigDict(env_prefix="PROSPERITY_", extra="ignore")

    source_name: str = "Casework"
    """The application whose notification ids the relay publishes as ``Nats-Msg-Id`` (``Casework:<id>``)."""
    batch_size: int = 200
    """Messages per pull, applied in one PostgreSQL transaction. A pull returns as soon as one message is there,
    with whatever already waits behind it (:mod:`services.consumers.fetching`): a backlog comes in batches of this
    size, a quiet stream one message at a time, without waiting to fill a batch."""
    fetch_timeout_seconds: float = 1.0
    """How long one pull waits for a first message before it asks again."""
    fetch_linger_seconds: float = 0.01
    """After the first message, how long a pull waits for more when none are there yet. 10 ms, not 2: at 1,000
    facts/s on two cores the save -> dashboard p99 fell from 53-77 ms to 31-37 ms (fewer, larger batches for
    the same CPU), while at 200/s the p50 rose by ~1 ms (bench/README.md, fourth pass)."""
    ack_wait_seconds: float = 30.0
    """A replica that dies holding messages gives them back after this long."""
    consumer_name: str | None = None
    """The durable consumer's name; default the projection's name. Two names = two independent read models."""
    poison_after: int = 3
    """The delivery at which a fact that keeps failing is quarantined (deliveries before it are retried)."""
    max_deliver: int = 10
    retry_delay_seconds: float = 1.0
    """The nak delay after a fact's first failure; doubled after each further one, up to ``max_retry_delay``."""
    max_retry_delay_seconds: float = 30.0
    store_wait_max_seconds: float = 10.0
    """While the database is unavailable, the longest pause between attempts."""


def subject(settings: ConsumerSettings, pattern: str) -> str:
    return f"{settings.subject_prefix}.{pattern}" if settings.subject_prefix else pattern


def delivery_count(msg: Msg) -> int:
    """How many times JetStream has delivered this message (1 on first delivery)."""
    try:
        return int(msg.metadata.num_delivered)
    except Exception:  # nats.errors.NotJSMessageError under faststream's in-memory test broker
        return 1


def malformation(error: Exception) -> str:
    """What is wrong with a payload, by field and rule, never echoing the values (they may be anything)."""
    if isinstance(error, ValidationError):
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}"
                    for e in error.errors(include_input=False, include_url=False)]
        return ("not a valid v1 contract: " + "; ".join(problems))[:500]
    return "not a valid v1 contract: the payload names no known v1 event type"


def mismatch(msg: Msg, event: EventEnvelopeV1, settings: ConsumerSettings) -> str | None:
    """Defence in depth: the payload must be what the relay published under these headers and this subject."""
    expected_id = f"{settings.source_name}:{event.notification_id}"
    if (msg.headers or {}).get("Nats-Msg-Id") != expected_id:
        return f"Nats-Msg-Id is not {expected_id}, the one the payload's notification id gives"
    if event.event_id != f"{event.case_id}:{event.case_version}":
        return "event_id is not <case_id>:<case_version> of the payload"
    try:
        expected_subject = subject(settings, subject_for(event.event_type, event.jurisdiction, event.municipality_ref))
    except ValueError:
        return "the payload gives no valid subject"
    if msg.subject != expected_subject:
        return f"published on a subject other than the payload's ({expected_subject})"
    return None


def retry_delay(settings: ConsumerSettings, delivered: int) -> float:
    return float(min(settings.retry_delay_seconds * 2 ** max(delivered - 1, 0), settings.max_retry_delay_seconds))


def build_app(store: ReadModelStore, settings: ConsumerSettings) -> FastStream:
    name = settings.consumer_name or store.projection.name
    # faststream's own Prometheus middleware: received, processed, in-process and duration per handler.
    # faststream's access log ("Received", "Processed") at DEBUG: a line per fetched batch, hundreds a second under
    # load, is noise at INFO; what happens to each fact is logged by ``settle`` and counted by the metrics.
    # A read model is alone in its NATS account and reaches JetStream through its imports (services.bus.plan).
    broker = NatsBroker(**settings.broker_options(name), max_reconnect_attempts=-1,
                        js_options={"prefix": settings.reader_js_api_prefix()},
                        logger=logging.getLogger("faststream"), log_level=logging.DEBUG,  # rendered by services.log
                        middlewares=[NatsPrometheusMiddleware(registry=REGISTRY, app_name=name)])
    stream = JStream(settings.stream_name, declare=False)  # declared only by services.bus.provision (tech-notes §5.2a)

    async def publish_dead_letter(letter: DeadLetterV1) -> None:
        target = subject(settings, deadletter_subject(name, letter.event_type))
        await broker.publish(letter.model_dump_json().encode(), target, stream=settings.deadletter_stream_name,
                             headers={"Nats-Msg-Id": letter.dead_letter_id, "Prosperity-Dead-Letter": letter.kind},
                             timeout=5.0)
        metrics.DEAD_LETTERS.labels(read_model=name, kind=letter.kind).inc()
        log.error("consumer.dead_letter", read_model=name, kind=letter.kind, subject=target,
                  case_id=str(letter.case_id) if letter.case_id else None, case_version=letter.case_version,
                  notification_id=letter.notification_id, error=letter.error[:200])

    async def reject(msg: Msg, kind: DeadLetterKind, error: str, event: EventEnvelopeV1 | None = None) -> None:
        """Set aside a message that can never be applied, and terminate it. Its id is its content's hash, so a
        redelivery is dead-lettered once."""
        await publish_dead_letter(DeadLetterV1(
            dead_letter_id=f"{name}:{kind}:{hashlib.sha256(msg.data).hexdigest()[:32]}", kind=kind, consumer=name,
            error=error, original_subject=msg.subject, original_msg_id=(msg.headers or {}).get("Nats-Msg-Id"),
            case_id=event.case_id if event else None, case_version=event.case_version if event else None,
            notification_id=event.notification_id if event else None,
            event_type=event.event_type if event else None, dead_lettered_at=datetime.now(UTC),
            payload_base64=base64.b64encode(msg.data).decode()))
        await msg.term()

    async def report_quarantined(record: Quarantined) -> None:
        log.error("consumer.quarantined", read_model=name, case_id=str(record.case_id),
                  case_version=record.case_version, notification_id=record.notification_id,
                  event_type=record.event_type, attempts=record.attempts, error=record.error[:200])
        await publish_dead_letter(DeadLetterV1(
            dead_letter_id=f"{name}:quarantined:{record.event_id}", kind="quarantined", consumer=name,
            error=record.error, original_subject=None, original_msg_id=None, case_id=record.case_id,
            case_version=record.case_version, notification_id=record.notification_id, event_type=record.event_type,
            dead_lettered_at=datetime.now(UTC), payload_base64=base64.b64encode(record.payload.encode()).decode()))

    async def apply_patiently(msg: Msg, event: EventEnvelopeV1, quarantine: bool) -> Applied:
        """Apply the event; while the database is down, wait for it (the message kept with ``in_progress``).
        A database error while the database answers is the fact's own failure (a statement that times out)."""
        pause = 0.2
        while True:
            try:
                return await asyncio.to_thread(store.apply, event, quarantine=quarantine)
            except TRANSIENT as error:
                if await asyncio.to_thread(store.reachable):
                    reason = describe(error)
                    if quarantine:
                        return await asyncio.to_thread(store.quarantine_failed, event, reason)
                    return Applied(Outcome.FAILED, reason)
                log.warning("consumer.store_unavailable", read_model=name, error=describe(error)[:200],
                            retry_in_seconds=pause)
            try:
                await msg.in_progress()
            except Exception:  # NATS away too, or the in-memory test broker: JetStream redelivers after ack_wait
                log.debug("consumer.in_progress_failed", read_model=name)
            await asyncio.sleep(pause)
            pause = min(pause * 2, settings.store_wait_max_seconds, settings.ack_wait_seconds / 3)

    async def handle(msg: Msg) -> None:
        try:
            event = parse_event(msg.data)
        except (ValidationError, ValueError) as error:
            await reject(msg, "malformed", malformation(error))
            return
        problem = mismatch(msg, event, settings)
        if problem is not None:
            await reject(msg, "mismatch", problem, event)
            return
        with span_from(msg.headers, f"apply {event.event_type}", read_model=name), \
                structlog.contextvars.bound_contextvars(correlation_id=event.correlation_id):
            await apply_and_settle(msg, event)

    async def apply_and_settle(msg: Msg, event: EventEnvelopeV1) -> None:
        delivered = delivery_count(msg)
        started = time.perf_counter()
        applied = await apply_patiently(msg, event, quarantine=delivered >= settings.poison_after)
        await settle(msg, event, delivered, applied, time.perf_counter() - started)

    async def handle_safely(msg: Msg) -> None:
        try:
            await handle(msg)
        except Exception as error:  # NATS unavailable for the dead letter or the ack: JetStream redelivers it
            log.warning("consumer.handling_interrupted", read_model=name, error=describe(error)[:200])
            try:
                await msg.nak(delay=settings.retry_delay_seconds)
            except Exception:
                log.debug("consumer.nak_failed", read_model=name)

    subscriber = broker.subscriber(
        subject(settings, "*.v1.>"),
        stream=stream,
        durable=name,
        pull_sub=PullSub(batch_size=settings.batch_size, timeout=settings.fetch_timeout_seconds, batch=True),
        config=ConsumerConfig(ack_wait=settings.ack_wait_seconds, max_deliver=settings.max_deliver,
                              deliver_policy=DeliverPolicy.ALL),
        ack_policy=AckPolicy.MANUAL,
        inbox_prefix=settings.subscriber_inbox_prefix(name),
    )

    @subscriber
    async def on_events(batch: BatchMessage) -> None:
        """One fetched batch, strictly in order, applied in one transaction, then acknowledged. Why a batch
        subscriber: faststream 0.7 runs the messages of a non-batch pull fetch concurrently, which reorders a
        case's versions."""
        messages = list(batch.raw_message)
        if messages:
            metrics.observe_pending(name, messages[-1])
        if len(messages) == 1:
            await handle_safely(messages[0])
            return
        try:
            ready = await screen(messages)
            started = time.perf_counter()
            results = await apply_batch_patiently(ready)
            seconds = time.perf_counter() - started  # each fact's apply time is its batch's transaction
        except Exception as error:  # NATS unavailable for a dead letter: JetStream redelivers the batch
            log.warning("consumer.batch_interrupted", read_model=name, error=describe(error)[:200])
            results, ready = None, []
            for msg in messages:
                await _nak_quietly(msg)
            return
        if results is None:  # the database answers but a statement of the batch failed: one by one, as ever
            for msg, _, _ in ready:
                await handle_safely(msg)
            return
        for (msg, event, delivered), applied in zip(ready, results, strict=True):
            try:
                with span_from(msg.headers, f"apply {event.event_type}", read_model=name), \
                        structlog.contextvars.bound_contextvars(correlation_id=event.correlation_id):
                    await settle(msg, event, delivered, applied, seconds)
            except Exception as error:
                log.warning("consumer.handling_interrupted", read_model=name, error=describe(error)[:200])
                await _nak_quietly(msg)

    async def _nak_quietly(msg: Msg) -> None:
        try:
            await msg.nak(delay=settings.retry_delay_seconds)
        except Exception:
            log.debug("consumer.nak_failed", read_model=name)

    async def screen(messages: list[Msg]) -> list[tuple[Msg, EventEnvelopeV1, int]]:
        """Parse and check each message; set aside (dead letter, terminate) those that can never be applied."""
        ready = []
        for msg in messages:
            try:
                event = parse_event(msg.data)
            except (ValidationError, ValueError) as error:
                await reject(msg, "malformed", malformation(error))
                continue
            problem = mismatch(msg, event, settings)
            if problem is not None:
                await reject(msg, "mismatch", problem, event)
                continue
            ready.append((msg, event, delivery_count(msg)))
        return ready

    async def apply_batch_patiently(ready: list[tuple[Msg, EventEnvelopeV1, int]]) -> list[Applied] | None:
        """The batch in one transaction; while the database is down, wait for it (the messages kept with
        ``in_progress``). ``None`` when the database answers but refused the batch (a statement timing out):
        the caller then handles each message on its own, which tells the fact's failure from the others'."""
        if not ready:
            return []
        events = [event for _, event, _ in ready]
        quarantine = [delivered >= settings.poison_after for _, _, delivered in ready]
        pause = 0.2
        while True:
            try:
                return await asyncio.to_thread(store.apply_batch, events, quarantine)
            except TRANSIENT as error:
                if await asyncio.to_thread(store.reachable):
                    return None
                log.warning("consumer.store_unavailable", read_model=name, error=describe(error)[:200],
                            retry_in_seconds=pause)
            for msg, _, _ in ready:
                try:
                    await msg.in_progress()
                except Exception:  # NATS away too: JetStream redelivers after ack_wait
                    log.debug("consumer.in_progress_failed", read_model=name)
            await asyncio.sleep(pause)
            pause = min(pause * 2, settings.store_wait_max_seconds, settings.ack_wait_seconds / 3)

    async def settle(msg: Msg, event: EventEnvelopeV1, delivered: int, applied: Applied, seconds: float) -> None:
        """After the commit: nak a fact that failed (with a growing delay), report quarantines, ack the rest.
        Its metrics and its log line are written here, inside the fact's own span (its request's trace)."""
        metrics.observe_outcome(name, applied.outcome.value, seconds)
        log.debug("consumer.fact", read_model=name, event_type=event.event_type, case_version=event.case_version,
                 notification_id=event.notification_id, outcome=applied.outcome.value)
        if applied.outcome is Outcome.FAILED:
            delay = retry_delay(settings, delivered)
            log.warning("consumer.retry", read_model=name, event_id=event.event_id, delivered=delivered,
                        retry_in_seconds=delay, error=(applied.error or "")[:200])
            await msg.nak(delay=delay)
            return
        for record in applied.quarantined:
            await report_quarantined(record)
        await msg.ack()

    app = FastStream(broker)

    @app.on_startup
    async def prepare() -> None:
        await asyncio.to_thread(store.setup)
        degraded = await asyncio.to_thread(store.degraded_count)
        if degraded:
            log.warning("consumer.degraded_cases", read_model=name, cases=degraded,
                        remedy="prosperity deadletters list")
        log.info("consumer.started", projection=name, subject=subject(settings, "*.v1.>"))

    @app.after_startup
    async def pull_promptly() -> None:
        fetching.install(subscriber, settings.batch_size, settings.fetch_linger_seconds)

    @app.after_shutdown
    async def close() -> None:
        await asyncio.to_thread(store.close)

    return app
