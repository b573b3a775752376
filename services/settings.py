"""Configuration, read from the environment (``PROSPERITY_*``), with defaults that run everything on one
machine: no DSN means an embedded PostgreSQL under ``data_dir``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.infra.embedded import EmbeddedPostgres
from services.infra.postgres_env import ensure_schema, eventsourcing_env


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROSPERITY_", extra="ignore")

    pg_dsn: str | None = None
    """libpq DSN of the event store; unset = start the embedded PostgreSQL under ``data_dir``."""
    pg_schema: str | None = None
    """Schema for the event store tables (default: the database's search path, usually ``public``)."""
    data_dir: Path = Path("var")
    """Where embedded servers keep their data (kept across runs)."""
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """``debug`` adds a line per fact a consumer applies (with its trace and correlation ids)."""
    """Readable in a terminal by default; ``json`` in production."""
    pg_pool_size: int = 5
    tracing: Literal["off", "console", "otlp"] = "off"
    """OpenTelemetry traces (services/observability/tracing.py; the ``tracing`` extra): off by default."""
    otlp_endpoint: str | None = None
    """Where ``otlp`` sends spans (OTLP over HTTP); unset = the exporter's default (OTEL_EXPORTER_OTLP_*)."""
    event_cipher_key: SecretStr | None = None
    """Optional: the stored events' state encrypted at rest with eventsourcing's AES-GCM cipher (the
    ``cryptography`` package's), this key as base64 of 16, 24 or 32 bytes (``prosperity vault new-key`` makes one).
    Every process that reads the event store needs the same key; see docs/privacy.md "Event store at rest"."""


@contextmanager
def store_dsn(settings: StoreSettings) -> Iterator[str]:
    """The configured PostgreSQL DSN, starting the embedded server under ``data_dir`` if none is set."""
    if settings.pg_dsn:
        yield settings.pg_dsn
        return
    with EmbeddedPostgres(settings.data_dir / "postgres") as server:
        yield server.dsn


@contextmanager
def event_store_env(settings: StoreSettings) -> Iterator[dict[str, str]]:
    """The eventsourcing environment for the configured store (see :func:`store_dsn`)."""
    with store_dsn(settings) as dsn:
        if settings.pg_schema:
            ensure_schema(dsn, settings.pg_schema)
        env = eventsourcing_env(dsn, settings.pg_schema)
        env["POSTGRES_POOL_SIZE"] = str(settings.pg_pool_size)
        yield with_event_cipher(env, settings)


EVENT_CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"


def with_event_cipher(env: dict[str, str], settings: StoreSettings) -> dict[str, str]:
    """``env`` with eventsourcing's cipher switched on when ``PROSPERITY_EVENT_CIPHER_KEY`` is set (the library's
    own ``CIPHER_TOPIC``/``CIPHER_KEY`` settings: it encrypts each stored event's state, and nothing else)."""
    if settings.event_cipher_key is not None:
        env["CIPHER_TOPIC"] = EVENT_CIPHER_TOPIC
        env["CIPHER_KEY"] = settings.event_cipher_key.get_secret_value()
    return env
