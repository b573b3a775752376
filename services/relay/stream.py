"""The relay's settings: where it publishes (its bus identity, stream and subject namespace) and how.

The stream itself is not declared here: ``services.bus.provision`` is the one place streams are created or
updated, run by the bus's ``admin`` identity before the relay starts. The relay's own identity may publish
the facts and nothing else (``services.bus.plan``), so it could not declare the stream if it tried, and a
forged fact or a pre-empted ``Nats-Msg-Id`` cannot come from anyone else.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.bus.settings import BusSettings


class RelaySettings(BusSettings):
    """Where and how the relay publishes (``PROSPERITY_*`` environment variables)."""

    model_config = SettingsConfigDict(env_prefix="PROSPERITY_", extra="ignore")

    relay_batch_size: int = Field(default=500, ge=1, le=500)
    """Notifications read, published (pipelined) and acknowledged per round; the position moves per batch."""
    relay_pages_in_flight: int = Field(default=4, ge=1, le=16)
    """Batches published ahead of the oldest one whose PubAcks are awaited (read and mapped while those arrive)."""
    relay_leader_check_interval: float = Field(default=1.0, gt=0)
    """Seconds between checks that the leader lock's session is alive (a timer, not a round trip per batch; a
    position written after the session died is refused anyway, see ``Relay._record``)."""
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
