"""The bus of ``prosperity up``: its own nats-server, run from the generated configuration and supervised like
every other process, or an external server given by ``--nats-url``.

Own server (the default): the configuration and seeds are generated under ``<data>/nats/config`` (kept across
runs, so the seeds stay the same), the server stores JetStream data under ``<data>/nats/data``, and each
service gets only its own seed. When the server dies it is reported, reaped (no zombie) and started again on
the same configuration, port and store with backoff; the services reconnect by themselves, and the API's
``/ready`` says "not ready" meanwhile (``services.bus.probe``).

External server: ``up`` neither configures nor supervises it; the streams and durables are provisioned with
the identity the environment gives (``PROSPERITY_NATS_*``, none for a server without authorization), and the
services connect with that same environment.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from services.bus.local import LocalBus, run_sync
from services.bus.plan import API, RELAY, BusPlan, ConsumerSpec, plan_bus
from services.bus.provision import StreamSettings, provision_as_admin
from services.bus.registry import AgencyRegistry, load_registry
from services.bus.settings import BusSettings

MAX_BACKOFF_SECONDS = 30.0
DEFAULT_REGISTRY = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "agencies.toml"


def identity_of(service: str) -> str | None:
    """``api`` → ``api``, ``relay`` → ``relay``, ``consume-<name>`` → ``<name>``; the notifier uses no bus."""
    if service in (API, RELAY):
        return service
    return service.removeprefix("consume-") if service.startswith("consume-") else None


class UpBus:
    def __init__(self, url: str, location: str, local: LocalBus | None, say: Callable[[str], None]) -> None:
        self.url, self.location, self.local, self.say = url, location, local, say
        self.restarts = 0
        self._next_start: float | None = None
        self._backoff = 1.0
        self._started_at = time.monotonic()

    @classmethod
    @contextlib.contextmanager
    def open(cls, data_dir: Path, *, external_url: str | None, port: int, registry_path: Path | None,
             consumers: list[str], say: Callable[[str], None] = print) -> Iterator[UpBus]:
        path = registry_path or (DEFAULT_REGISTRY if DEFAULT_REGISTRY.exists() else None)
        registry = load_registry(path) if path else AgencyRegistry()
        specs = [ConsumerSpec(name=name) for name in consumers]
        namespace = BusSettings().namespace
        if external_url:
            plan = plan_bus(namespace, specs, registry, public_key=lambda _name: "")
            run_sync(provision_as_admin(BusSettings(nats_url=external_url), plan, StreamSettings()))
            yield cls(external_url, "external", None, say)
            return
        bus = LocalBus(data_dir / "nats", registry=registry, namespace=namespace, consumers=specs, port=port)
        with bus:
            yield cls(bus.url, f"embedded, with accounts and per-service credentials from {bus.generated.out}; "
                               f"JetStream data in {bus.server.store_dir}", bus, say)

    @property
    def plan(self) -> BusPlan | None:
        return self.local.generated.plan if self.local else None

    @property
    def pid(self) -> int | None:
        return self.local.server.pid if self.local else None

    def env_for(self, service: str) -> dict[str, str]:
        if self.local is None:
            return {"PROSPERITY_NATS_URL": self.url}
        return self.local.env(identity_of(service))

    def check(self) -> bool:
        """One supervision step; True when the server was (re)started now (the caller rewrites its state)."""
        if self.local is None:
            return False
        server, now = self.local.server, time.monotonic()
        if self._next_start is None:
            code = server.exit_code()
            if code is None:
                return False
            if now - self._started_at > 60:  # it ran for a while: start again soon; a crash loop backs off
                self._backoff = 1.0
            self._next_start = now + self._backoff
            self.say(f"!! nats-server (pid {server.pid}) exited with code {code}; restarting in "
                     f"{self._backoff:.0f}s on the same configuration and data; the services wait for it. "
                     f"Log: {server.log_path}")
            self._backoff = min(self._backoff * 2, MAX_BACKOFF_SECONDS)
            return False
        if now < self._next_start:
            return False
        try:
            self.local.start()
        except Exception as error:  # whatever keeps it from coming back (port taken, provisioning) must not stop up
            self._next_start = now + self._backoff
            self.say(f"!! nats-server did not start again ({error}); next try in {self._backoff:.0f}s")
            self._backoff = min(self._backoff * 2, MAX_BACKOFF_SECONDS)
            return False
        self._next_start, self._started_at, self.restarts = None, time.monotonic(), self.restarts + 1
        self.say(f"!! nats-server restarted (pid {server.pid}, restart #{self.restarts})")
        return True
