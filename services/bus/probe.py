"""Is the bus reachable? A long-lived connection as the connect-only ``api`` identity, watched from /ready.

Why a standing connection rather than a connect per probe: nats-py notices a dropped connection at once (the
socket closes) and reconnects by itself, so the answer is immediate and costs nothing per request; and the
``api`` identity may do nothing but connect (``services.bus.plan``), so holding it grants nothing.

The probe is enabled only when the process was given a bus identity (``PROSPERITY_NATS_SEED_FILE`` or another
credential, ``services.bus.settings``): ``prosperity up`` and ``deploy/`` give the API one; an API started
without it (tests, a setup without a bus) does not report on the bus.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any

import nats
import structlog

from services.bus.plan import API
from services.bus.settings import BusSettings

log = structlog.get_logger("bus")
FIRST_CONNECT_SECONDS = 3.0


class BusProbe:
    """A connection in a thread of its own (the API's request handlers are synchronous)."""

    def __init__(self, settings: BusSettings) -> None:
        self.settings = settings
        self._client: Any = None
        self._started = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="bus-probe", daemon=True)
        self._thread.start()
        self._started.wait(FIRST_CONNECT_SECONDS)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._connect())
        self._loop.run_forever()

    async def _connect(self) -> None:
        async def on_disconnected() -> None:
            log.warning("bus.disconnected", identity=API)

        async def on_reconnected() -> None:
            log.info("bus.reconnected", identity=API)

        async def on_error(error: Exception) -> None:
            log.warning("bus.error", identity=API, error=str(error))

        try:
            # Retrying the first connect too (nats-py does when reconnects are unlimited): an API started
            # before its bus becomes ready as soon as the bus is there.
            self._client = await nats.connect(**self.settings.connect_options(API), connect_timeout=2,
                                              max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                              allow_reconnect=True, disconnected_cb=on_disconnected,
                                              reconnected_cb=on_reconnected, error_cb=on_error)
        finally:
            self._started.set()

    @property
    def connected(self) -> bool:
        return self._client is not None and bool(self._client.is_connected)


_probe: BusProbe | None = None
_lock = threading.Lock()


@functools.cache
def _settings() -> BusSettings:
    return BusSettings()


def bus_unready_reason() -> str | None:
    """None when the bus is reachable (or this process has no bus identity); otherwise why not, for /ready."""
    global _probe
    settings = _settings()
    if not settings.has_identity:
        return None
    with _lock:
        if _probe is None:
            _probe = BusProbe(settings)
    if _probe.connected:
        return None
    return f"NATS at {settings.nats_url} does not answer (the relay and consumers are waiting for it)."
