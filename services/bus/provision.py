"""``prosperity nats-provision``: the streams and durable consumers, created by the ``admin`` identity.

The one place streams and consumers are declared. Why here and not in the services: a restricted service
cannot (the relay may only publish facts, a consumer only pull its own durable), and must not: a client that
"declares" a stream on start-up sends its own idea of it and *updates* a live stream, silently resetting the
duplicate window that makes the relay's at-least-once publication exactly-once (tech-notes §5.2a). Every
service therefore binds without declaring (``JStream(name, declare=False)``), and this step, run by an
operator or by ``prosperity up`` before the services start, brings the streams and consumers to exactly:

* ``CASES``: the facts, LIMITS retention (a consumer added later replays history), file storage, max age and
  duplicate window from :class:`StreamSettings`;
* ``DEADLETTERS``: what consumers set aside (``deadletter.<consumer>.<event_type>``), apart from the facts so
  that a subscriber to ``cases.>`` never sees a dead letter as a second copy of an event;
* one durable pull consumer per read model (filter ``*.v1.>``) and per agency (its registry filter: the
  tenant boundary, which only ``admin`` can change). A durable of an agency no longer in the registry is
  deleted.

A JetStream cluster answers 503 for a few seconds after it forms (tech note §8.11): requests are retried
until ``timeout``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar

import nats
import nats.errors
import nats.js.errors
import structlog
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.bus.plan import ADMIN, BusPlan, Durable, Namespace
from services.bus.settings import BusSettings

log = structlog.get_logger("bus")
SECONDS_PER_DAY = 24 * 3600
AGENCY_DURABLE_PREFIX = "agency-"
T = TypeVar("T")
RETRYABLE: tuple[type[BaseException], ...] = (nats.js.errors.ServiceUnavailableError, nats.errors.TimeoutError,
                                              nats.errors.NoRespondersError, asyncio.TimeoutError)


class StreamSettings(BaseSettings):
    """How long and how redundantly the streams keep what they hold (``PROSPERITY_*``)."""

    model_config = SettingsConfigDict(env_prefix="PROSPERITY_", extra="ignore")

    stream_max_age_days: float = Field(default=365, gt=0)
    """How long JetStream keeps an event. Consumers that start later (a new read model, an agency that
    subscribes next month) replay from the stream, so this is long; the event store remains the record."""
    duplicate_window_seconds: float = Field(default=600, gt=0)
    """JetStream drops a message whose ``Nats-Msg-Id`` it saw within this window. It must exceed the relay's
    worst restart time (crash → standby takes over → republish of the unrecorded batch), or a republished
    event is stored twice."""
    stream_replicas: int = Field(default=1, ge=1, le=5)
    """1 for one server; 3 for a JetStream cluster."""
    deadletter_max_age_days: float = Field(default=365, gt=0)

    @model_validator(mode="after")
    def _window_within_max_age(self) -> Self:
        if self.duplicate_window_seconds > self.stream_max_age_days * SECONDS_PER_DAY:
            raise ValueError("duplicate_window_seconds must not exceed the stream's max age (JetStream refuses it)")
        return self

    def stream_config(self, namespace: Namespace) -> StreamConfig:
        """The whole configuration, explicitly: nothing is left to server or client defaults."""
        return StreamConfig(
            name=namespace.stream,
            description="prosperity integration events (contracts), published by services/relay",
            subjects=list(namespace.fact_subjects),
            retention=RetentionPolicy.LIMITS, storage=StorageType.FILE, num_replicas=self.stream_replicas,
            max_age=self.stream_max_age_days * SECONDS_PER_DAY, duplicate_window=self.duplicate_window_seconds,
            max_msgs=-1, max_bytes=-1, discard=DiscardPolicy.OLD)

    def deadletter_stream_config(self, namespace: Namespace) -> StreamConfig:
        return StreamConfig(
            name=namespace.deadletter_stream,
            description="prosperity dead letters: messages a consumer set aside, with the reason in a header",
            subjects=list(namespace.deadletter_subjects),
            retention=RetentionPolicy.LIMITS, storage=StorageType.FILE, num_replicas=self.stream_replicas,
            max_age=self.deadletter_max_age_days * SECONDS_PER_DAY, max_msgs=-1, max_bytes=-1,
            discard=DiscardPolicy.OLD)


def durable_config(durable: Durable) -> ConsumerConfig:
    return ConsumerConfig(
        name=durable.name, durable_name=durable.name, filter_subjects=list(durable.filter_subjects),
        deliver_policy=DeliverPolicy.ALL,  # a new consumer starts at the beginning of the stream's history
        ack_policy=AckPolicy.EXPLICIT, ack_wait=durable.ack_wait_seconds, max_deliver=durable.max_deliver)


async def declare_stream(js: Any, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to exactly ``config``. ``js`` is a nats-py
    ``JetStreamContext`` (typed ``Any``: nats-py ships no type information)."""
    try:
        await js.stream_info(config.name)
    except nats.js.errors.NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


async def declare_streams(js: Any, namespace: Namespace, settings: StreamSettings) -> None:
    await declare_stream(js, settings.stream_config(namespace))
    await declare_stream(js, settings.deadletter_stream_config(namespace))


async def provision(js: Any, plan: BusPlan, settings: StreamSettings, *, timeout: float = 30.0) -> None:
    """Streams, then every durable of the plan (created or updated), then stale agency durables removed."""
    namespace = plan.namespace
    await _retrying(lambda: declare_streams(js, namespace, settings), timeout)
    for durable in plan.durables:
        config = durable_config(durable)
        await _retrying(lambda config=config: js.add_consumer(namespace.stream, config), timeout)  # type: ignore[misc]
    wanted = {durable.name for durable in plan.durables}
    existing = await _retrying(lambda: js.consumers_info(namespace.stream), timeout)
    for info in existing:
        if info.name.startswith(AGENCY_DURABLE_PREFIX) and info.name not in wanted:
            await js.delete_consumer(namespace.stream, info.name)
            log.info("bus.durable_removed", stream=namespace.stream, durable=info.name)
    log.info("bus.provisioned", stream=namespace.stream, deadletters=namespace.deadletter_stream,
             durables=sorted(wanted))


async def provision_as_admin(settings: BusSettings, plan: BusPlan, streams: StreamSettings | None = None,
                             *, timeout: float = 30.0) -> None:
    """Connect as ``admin`` (``settings`` carries its seed) and :func:`provision`."""
    async def on_error(error: Exception) -> None:
        # nats-py's default logs each failed attempt with its whole traceback; the caller reports the outcome
        log.info("bus.connect_attempt_failed", error=repr(error))

    client = await nats.connect(**settings.connect_options(ADMIN), connect_timeout=5, max_reconnect_attempts=5,
                                reconnect_time_wait=0.5, error_cb=on_error)
    try:
        await provision(client.jetstream(timeout=5), plan, streams or StreamSettings(), timeout=timeout)
    finally:
        await client.close()


async def _retrying(call: Callable[[], Awaitable[T]], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await call()
        except RETRYABLE as error:
            if time.monotonic() > deadline:
                raise
            log.info("bus.provision_retry", error=repr(error))
            await asyncio.sleep(0.5)
