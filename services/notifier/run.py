"""Run the notifier: delivery workers and the deadline scheduler, configured from ``PROSPERITY_NOTIFIER_*``.

``python -m services.notifier`` runs until SIGINT/SIGTERM; on a stop, each worker finishes the message it is
sending, hands back the rest of its claim, and exits (no duplicate, no loss). The notifications read model
itself is filled by the consumer runtime (``prosperity consume notifications``); this process only reads its
serving generation. Any number of these processes may run side by side.
"""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from types import FrameType

from psycopg_pool import ConnectionPool
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notifier.channels import Channel, SmtpChannel, WebhookChannel
from services.notifier.directory import PostgresDirectory
from services.notifier.scheduler import DeadlineScheduler
from services.notifier.worker import DeliveryWorker, WorkerSettings
from services.observability import metrics
from services.vault import open_vault


class NotifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROSPERITY_NOTIFIER_", extra="ignore")

    pg_dsn: str
    """The database holding the read models (the consumer runtime's)."""
    base_schema: str = "public"
    """The read models' base schema (``read_model_generations``, the ledger and the recipient directory)."""
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_sender: str = "noreply@prosperity.invalid"
    smtp_domain: str = "prosperity.invalid"
    """Right-hand side of the Message-IDs (use the sending domain)."""
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    """Shared HMAC-SHA256 secret for webhooks; no secret = no webhook channel (such notices: undeliverable)."""
    workers: int = 2
    scheduler_interval_seconds: float = 60.0
    lease_seconds: float = 300.0
    max_attempts: int = 8
    backoff_base_seconds: float = 30.0
    in_doubt_policy: str = "resend"


def channels_for(settings: NotifierSettings) -> dict[str, Channel]:
    channels: dict[str, Channel] = {"email": SmtpChannel(
        settings.smtp_host, settings.smtp_port, settings.smtp_sender, domain=settings.smtp_domain,
        starttls=settings.smtp_starttls, username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None)}
    if settings.webhook_secret is not None:
        channels["webhook"] = WebhookChannel(settings.webhook_secret.get_secret_value().encode())
    return channels


def run(settings: NotifierSettings, stop: threading.Event, started: list[threading.Thread] | None = None) -> None:
    """Run ``settings.workers`` delivery workers and one scheduler until ``stop`` is set; the threads are added
    to ``started`` (the ops endpoint's liveness check watches them)."""
    if settings.in_doubt_policy not in {"resend", "hold"}:
        raise ValueError("in_doubt_policy must be 'resend' or 'hold'")
    worker_settings = WorkerSettings(lease=timedelta(seconds=settings.lease_seconds),
                                     max_attempts=settings.max_attempts,
                                     backoff_base=timedelta(seconds=settings.backoff_base_seconds),
                                     in_doubt_policy="hold" if settings.in_doubt_policy == "hold" else "resend")
    pool = ConnectionPool(settings.pg_dsn, min_size=1, max_size=settings.workers + 2, open=True,
                          kwargs={"autocommit": False})
    try:
        vault = open_vault(pool, settings.base_schema)  # PROSPERITY_VAULT_SCHEMA, when set, decides
        directory = PostgresDirectory(pool, settings.base_schema, vault)
        workers = [DeliveryWorker(settings.pg_dsn, directory=directory, channels=channels_for(settings),
                                  base_schema=settings.base_schema, settings=worker_settings, pool=pool)
                   for _ in range(settings.workers)]
        workers[0].setup()
        metrics.register(metrics.OutboxCollector(workers[0].outbox_figures))
        directory.move_addresses_to_vault()
        scheduler = DeadlineScheduler(settings.pg_dsn, base_schema=settings.base_schema, pool=pool,
                                      interval=settings.scheduler_interval_seconds)
        threads = [threading.Thread(target=w.run, args=(stop,), name=w.worker_id) for w in workers]
        threads.append(threading.Thread(target=scheduler.run, args=(stop,), name="deadline-scheduler"))
        for thread in threads:
            thread.start()
        if started is not None:
            started.extend(threads)
        for thread in threads:
            thread.join()
    finally:
        pool.close()


def main(settings: NotifierSettings | None = None, started: list[threading.Thread] | None = None) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    run(settings or NotifierSettings(), stop, started)  # without settings, pg_dsn comes from the environment
