"""The JetStream stream the relay publishes into: its settings and its one declaration.

Why one place: faststream (and any client that "declares" a stream on start-up) sends its own idea of the
stream to the server and, when the stream already exists with another configuration, *updates* it, silently
replacing the duplicate window and retention of the live stream (tech-notes §5.2a: a publisher declared with
``stream="CASES"`` reset ``duplicate_window`` to 120 s and ``max_age`` to unlimited). The duplicate window is
what makes the relay's at-least-once publication exactly-once in the stream, so it must never be reset by a
consumer's start-up. Therefore :func:`declare_stream` here is the only code that creates or updates the stream;
every other component binds to it without declaring (``JStream(STREAM_NAME, declare=False)`` in faststream).
"""

from __future__ import annotations

from typing import Any, Self

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.errors import NotFoundError
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.subjects import DEADLETTER_SUBJECTS, STREAM_NAME, STREAM_SUBJECTS, deadletter_stream_for

SECONDS_PER_DAY = 24 * 3600


class RelaySettings(BaseSettings):
    """Where and how the relay publishes (``PROSPERITY_*`` environment variables)."""

    model_config = SettingsConfigDict(env_prefix="PROSPERITY_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    stream_name: str = STREAM_NAME
    deadletter_stream_name: str | None = None
    """The stream of the consumers' dead letters (``deadletter.>``), beside ``CASES``, never in it; by default
    ``DEADLETTERS`` (``<stream_name>_DL`` beside a stream of another name)."""
    subject_prefix: str = ""
    """Prepended (with a dot) to every published subject and to the stream's subjects. Empty in production;
    tests set it so that per-test streams on one shared server do not capture each other's messages."""
    stream_max_age_days: float = Field(default=365, gt=0)
    """How long JetStream keeps an event. Consumers that start later (a new read model, an agency that
    subscribes next month) replay from the stream, so this is long; the event store remains the record."""
    duplicate_window_seconds: float = Field(default=600, gt=0)
    """JetStream drops a message whose ``Nats-Msg-Id`` it saw within this window. It must exceed the relay's
    worst restart time (crash → standby takes over → republish of the unrecorded batch), or a republished
    event is stored twice."""
    stream_replicas: int = Field(default=1, ge=1, le=5)
    """1 for one server; 3 for a JetStream cluster."""

    relay_batch_size: int = Field(default=500, ge=1, le=500)
    """Notifications read, published (pipelined) and acknowledged per round; the position moves per batch."""
    relay_poll_interval: float = Field(default=1.0, gt=0)
    """Seconds between polls when no NOTIFY arrives: a lost notification delays publication by at most this."""
    relay_ack_timeout: float = Field(default=10.0, gt=0)
    """Seconds to wait for all PubAcks of a batch before treating NATS as unavailable and retrying."""
    relay_connect_timeout: float = Field(default=10.0, gt=0)
    """Seconds the relay waits for NATS at start-up before it exits with a clear error (once connected, it
    reconnects forever: an outage only delays publication)."""
    relay_max_backoff: float = Field(default=10.0, gt=0)
    """Upper bound of the retry delay while NATS (or PostgreSQL) is unavailable."""
    relay_lag_log_interval: float = Field(default=30.0, gt=0)
    """Seconds between ``relay.lag`` log lines."""

    @model_validator(mode="after")
    def _window_within_max_age(self) -> Self:
        if self.duplicate_window_seconds > self.stream_max_age_days * SECONDS_PER_DAY:
            raise ValueError("duplicate_window_seconds must not exceed the stream's max age (JetStream refuses it)")
        return self

    def subject(self, subject: str) -> str:
        """The subject as published: the contract's subject under :attr:`subject_prefix`."""
        return f"{self.subject_prefix}.{subject}" if self.subject_prefix else subject

    @property
    def stream_subjects(self) -> list[str]:
        return [self.subject(subject) for subject in STREAM_SUBJECTS]

    def stream_config(self) -> StreamConfig:
        """The whole configuration, explicitly: nothing is left to server or client defaults."""
        return StreamConfig(
            name=self.stream_name,
            description="prosperity integration events (contracts), published by services/relay",
            subjects=self.stream_subjects,
            # LIMITS, not INTEREST or WORK_QUEUE: messages stay for max_age whether or not anyone consumed
            # them, so a consumer added later can replay history.
            retention=RetentionPolicy.LIMITS,
            # FILE: the stream survives a server restart (memory storage would lose the outbox's output).
            storage=StorageType.FILE,
            num_replicas=self.stream_replicas,
            max_age=self.stream_max_age_days * SECONDS_PER_DAY,
            duplicate_window=self.duplicate_window_seconds,
            max_msgs=-1,
            max_bytes=-1,
            discard=DiscardPolicy.OLD,
        )


    @property
    def deadletter_stream(self) -> str:
        return self.deadletter_stream_name or deadletter_stream_for(self.stream_name)

    def deadletter_stream_config(self) -> StreamConfig:
        """The dead letters' stream: kept 90 days (an operator's working set, not the record: the event store
        is), de-duplicated like the facts so a redelivered message is dead-lettered once."""
        return StreamConfig(
            name=self.deadletter_stream,
            description="prosperity dead letters (contracts.deadletters), published by the consumers",
            subjects=[self.subject(subject) for subject in DEADLETTER_SUBJECTS],
            retention=RetentionPolicy.LIMITS, storage=StorageType.FILE, num_replicas=self.stream_replicas,
            max_age=90 * SECONDS_PER_DAY, duplicate_window=self.duplicate_window_seconds,
            max_msgs=-1, max_bytes=-1, discard=DiscardPolicy.OLD,
        )


async def _create_or_update(js: Any, name: str, config: StreamConfig) -> StreamInfo:
    try:
        await js.stream_info(name)
    except NotFoundError:
        info: StreamInfo = await js.add_stream(config)
        return info
    updated: StreamInfo = await js.update_stream(config)
    return updated


async def declare_stream(js: Any, settings: RelaySettings) -> StreamInfo:
    """Create the stream, or bring an existing one to exactly :meth:`RelaySettings.stream_config`; then the dead
    letters' stream beside it (after ``CASES``, which in v1 also captured ``deadletter.>``: subjects of two
    streams may not overlap).

    ``js`` is a nats-py ``JetStreamContext`` (typed ``Any`` because nats-py ships no type information).
    """
    info = await _create_or_update(js, settings.stream_name, settings.stream_config())
    await _create_or_update(js, settings.deadletter_stream, settings.deadletter_stream_config())
    return info
