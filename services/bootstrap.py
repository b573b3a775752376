"""The one wiring place: each process's settings, its one pool, and its ops checks, built here.

Every process reads its configuration from ``PROSPERITY_*`` through pydantic-settings classes, once, here; the
values a parent process decides (the DSN of an embedded PostgreSQL, a schema) are passed to the child classes as
arguments, never written back into ``os.environ``. The commands in ``services.cli`` call these builders, so the
deploy/ cross-check (tests/unit/test_deploy.py) has one list of settings classes to compare against
(:data:`SETTINGS_CLASSES`).

The readiness and liveness checks per process (``services.ops``) live here too, beside the objects they look at:

* relay: NATS connected, leader or standby (both ready: a standby takes over within a second), and its lag;
* a consumer: its loop responds; NATS connected; PostgreSQL answers; its durable exists, with its pending count;
* notifier: its worker threads alive; PostgreSQL answers; the SMTP relay accepts a connection.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic_settings import BaseSettings

from services import ops
from services.ops import Check, OpsSettings, Probe
from services.settings import StoreSettings

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

    from services.consumers.runtime import ConsumerSettings
    from services.notifier.run import NotifierSettings
    from services.relay.relay import Relay


def store_settings() -> StoreSettings:
    """The store's settings; with no ``PROSPERITY_PG_DSN``, those of the ``prosperity up`` running in ``data_dir``.

    Why: a command given only the data directory of a running ``up`` (``deadletters list``, ``relay --status``) started
    an empty embedded PostgreSQL there, or failed on the one ``up`` runs, and answered about the wrong store
    without a word (black-box probe). A state file whose process is gone is ignored, as before."""
    settings = StoreSettings()
    if settings.pg_dsn:
        return settings
    running = _running_up(settings)
    if running is None or not running.get("pg_dsn"):
        return settings
    return settings.model_copy(update={"pg_dsn": running["pg_dsn"],
                                       "pg_schema": settings.pg_schema or running.get("pg_schema")})


def _running_up(settings: StoreSettings) -> dict[str, Any] | None:
    from services.up import read_state  # only now: the module is heavy, and most processes get a DSN

    try:
        state = read_state(settings.data_dir)
        if state is None or int(state.get("pid", 0)) <= 0:
            return None
        os.kill(int(state["pid"]), 0)  # alive? (signal 0 only checks)
    except (OSError, ValueError):
        return None
    return state


def ops_settings() -> OpsSettings:
    return OpsSettings()


def notifier_settings(store: StoreSettings, dsn: str) -> NotifierSettings:
    """The notifier's settings: its own ``PROSPERITY_NOTIFIER_*``, with the store's DSN and schema unless set."""
    from services.notifier.run import NotifierSettings

    class _Defaults(NotifierSettings):
        pg_dsn: str = dsn
        base_schema: str = store.pg_schema or "public"

    return _Defaults()  # the environment still wins over these defaults


def configured_nats_url() -> str | None:
    """``PROSPERITY_NATS_URL`` when it is set (``prosperity up`` then uses that bus instead of its own)."""
    from services.bus.settings import BusSettings

    settings = BusSettings()
    return settings.nats_url if "nats_url" in settings.model_fields_set else None


def api_port() -> int:
    from services.api.settings import ApiSettings

    return ApiSettings().port


def settings_classes() -> list[type[BaseSettings]]:
    """Every settings class a process reads (the deploy cross-check's list)."""
    from services.api.pages.settings import WebSettings
    from services.api.settings import ApiSettings
    from services.bus.provision import StreamSettings
    from services.bus.settings import BusSettings
    from services.consumers.runtime import ConsumerSettings
    from services.notifier.run import NotifierSettings
    from services.relay.stream import RelaySettings

    return [StoreSettings, OpsSettings, ConsumerSettings, RelaySettings, NotifierSettings, BusSettings,
            StreamSettings, ApiSettings, WebSettings]


# ---- readiness and liveness per process ------------------------------------------------------------------------
def relay_checks(relay: Relay) -> Mapping[str, Probe]:
    def nats() -> Check:
        return Check(relay.nats_connected)

    def role() -> Check:
        status = relay.status()  # its own short query: lag = stored but not yet confirmed in the stream
        return Check(True, {"role": "leader" if relay.is_leader else "standby", "position": status.position,
                            "lag": status.lag})

    return {"nats": nats, "relay": role}


class ConsumerProbes:
    """What a consumer's ops endpoint looks at: its broker and the loop it runs on (captured at start-up)."""

    def __init__(self, broker: NatsBroker, settings: ConsumerSettings, durable: str, dsn: str) -> None:
        self.broker, self.settings, self.durable, self.dsn = broker, settings, durable, dsn
        self.loop: asyncio.AbstractEventLoop | None = None

    async def started(self) -> None:
        self.loop = asyncio.get_running_loop()

    def _connected(self) -> bool:
        try:
            return bool(self.broker.connection.is_connected)
        except Exception:  # no connection yet (faststream raises until it has connected)
            return False

    def nats(self) -> Check:
        return Check(self._connected())

    def pending(self) -> Check:
        """The durable's backlog, asked of JetStream on the consumer's own connection (its identity may read its
        durable's info, ``services.bus.plan``); a missing durable (not provisioned) is not ready."""
        if self.loop is None or not self._connected():
            return Check(False, {"reason": "not connected"})

        async def info() -> Any:
            js = self.broker.connection.jetstream(prefix=self.settings.reader_js_api_prefix())
            return await js.consumer_info(self.settings.stream_name, self.durable)

        found = ops.on_loop(self.loop, info())
        return Check(True, {"durable": self.durable, "pending": found.num_pending,
                            "ack_pending": found.num_ack_pending, "redelivered": found.num_redelivered})

    def checks(self) -> tuple[Mapping[str, Probe], Mapping[str, Probe]]:
        """(liveness, readiness)."""
        live = {"loop": ops.loop_responds(lambda: self.loop)}
        return live, {"nats": self.nats, "postgres": ops.postgres_answers(self.dsn), "consumer": self.pending}


def notifier_checks(settings: NotifierSettings, threads: Callable[[], list[threading.Thread]]
                    ) -> tuple[Mapping[str, Probe], Mapping[str, Probe]]:
    def smtp() -> Check:
        with socket.create_connection((settings.smtp_host, settings.smtp_port), timeout=ops.CHECK_TIMEOUT_SECONDS):
            return Check(True, {"host": settings.smtp_host, "port": settings.smtp_port})

    live = {"workers": ops.threads_alive(threads)}
    return live, {"postgres": ops.postgres_answers(settings.pg_dsn), "smtp": smtp}
