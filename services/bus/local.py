"""A bus on this machine: nats-server run from the generated configuration, provisioned, with each identity's
settings. ``prosperity up`` runs one (and supervises it); the tests run one per test.

The same three steps as a deployment (``docs/nats-security.md``): ``generate`` the configuration and seeds,
start nats-server on it, ``provision`` the streams and durables as ``admin``. Nothing here bypasses them: the
tests see exactly the permissions production has, only in their own namespace.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import nats
import nats.errors
import nats.js.errors

from services.bus.generate import GeneratedBus, generate
from services.bus.natsconf import ServerOptions, TlsFiles
from services.bus.plan import ADMIN, DEFAULT_CONSUMERS, ConsumerSpec, Namespace
from services.bus.provision import StreamSettings, provision_as_admin
from services.bus.registry import AgencyRegistry
from services.bus.settings import BusSettings
from services.infra.embedded import LOCALHOST, EmbeddedNats, free_port

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion from synchronous code, also when an event loop is already running in
    this thread (an async test calling a sync helper): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coroutine))
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


class LocalBus:
    """Generated configuration + nats-server + provisioning, under ``directory`` (kept across restarts)."""

    def __init__(self, directory: Path, *, registry: AgencyRegistry | None = None,
                 namespace: Namespace | None = None, consumers: Sequence[ConsumerSpec] | None = None,
                 port: int | None = None, tls: TlsFiles | None = None,
                 streams: StreamSettings | None = None) -> None:
        self.directory = directory
        self.registry = registry or AgencyRegistry()
        self.namespace = namespace or Namespace()
        self.consumers = list(consumers if consumers is not None else
                              [ConsumerSpec(name=name) for name in DEFAULT_CONSUMERS])
        self.port = port if port is not None else free_port()
        self.tls = tls
        self.streams = streams or StreamSettings()
        self.generated = self._generate()
        self.server = EmbeddedNats(directory / "data", self.port, config_file=self.generated.configs[0])

    def _generate(self) -> GeneratedBus:
        options = ServerOptions(listen=(f"{LOCALHOST}:{self.port}",), monitor=(), tls=self.tls,
                                store_dir=self.directory / "data")
        return generate(self.directory / "config", registry=self.registry, server=options,
                        namespace=self.namespace, consumers=self.consumers)

    @property
    def url(self) -> str:
        scheme = "tls" if self.tls else "nats"
        return f"{scheme}://{LOCALHOST}:{self.port}"

    def start(self) -> Self:
        self.server.start()
        self.provision()
        return self

    def provision(self) -> None:
        run_sync(provision_as_admin(self.settings(ADMIN), self.generated.plan, self.streams))

    def stop(self) -> None:
        self.server.stop()

    def add_consumer(self, spec: ConsumerSpec) -> None:
        """A new read-model identity and durable, live: regenerate, reload the server, provision."""
        if any(existing.name == spec.name for existing in self.consumers):
            return
        self.consumers.append(spec)
        self.generated = self._generate()
        self.server.reload()
        run_sync(self._wait_until_admitted(spec.name))
        # Twice: at the first reload nats-server resolves the new account's imports against the exports APP had
        # before it, so they answer nothing ("no responders") until the configuration is read once more.
        self.server.reload()
        run_sync(self._wait_until_imported(spec.name))
        self.provision()

    async def _wait_until_admitted(self, identity: str, timeout: float = 5.0) -> None:
        """The reload is asynchronous to the signal: wait until the server admits the new identity."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                client = await self.connect(identity, allow_reconnect=False, max_reconnect_attempts=0)
            except Exception:  # nats.errors.Error: 'Authorization Violation' until the reload took effect
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.02)
                continue
            await client.close()
            return

    async def _wait_until_imported(self, identity: str, timeout: float = 10.0) -> None:
        """Until a reader's JetStream API import answers (its durable need not exist yet: "not found" is an
        answer through the import). The reload may close a connection made while it is applied: try again."""
        deadline = asyncio.get_running_loop().time() + timeout
        prefix = self.generated.plan.identity(identity).js_api_prefix
        while True:
            try:
                client = await self.connect(identity, allow_reconnect=False, max_reconnect_attempts=0)
                try:
                    await client.jetstream(prefix=prefix, timeout=1).consumer_info(self.namespace.stream, identity)
                finally:
                    await client.close()
                return
            except nats.js.errors.NotFoundError:
                return
            except (nats.errors.Error, OSError):  # no responders yet, or the connection closed by the reload
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.05)

    def seed_file(self, identity: str) -> Path:
        return self.generated.seed_file(identity)

    def env(self, identity: str | None) -> dict[str, str]:
        """``PROSPERITY_*`` settings for a process that acts as ``identity`` (None: no bus identity)."""
        env = {"PROSPERITY_NATS_URL": self.url, "PROSPERITY_STREAM_NAME": self.namespace.stream,
               "PROSPERITY_SUBJECT_PREFIX": self.namespace.subject_prefix,
               "PROSPERITY_DEADLETTER_STREAM_NAME": self.namespace.deadletter_stream}
        if identity is not None:
            env["PROSPERITY_NATS_SEED_FILE"] = str(self.seed_file(identity))
            if prefix := self.generated.plan.identity(identity).js_api_prefix:
                env["PROSPERITY_NATS_JS_API_PREFIX"] = prefix
        if self.tls is not None and self.tls.ca_file is not None:
            env["PROSPERITY_NATS_TLS_CA_FILE"] = str(self.tls.ca_file)
        return env

    def settings(self, identity: str | None) -> BusSettings:
        planned = self.generated.plan.identity(identity) if identity else None
        return BusSettings(nats_url=self.url, nats_seed_file=self.seed_file(identity) if identity else None,
                           nats_inbox_prefix=planned.inbox_prefix if planned else None,
                           nats_js_api_prefix=planned.js_api_prefix if planned else None,
                           nats_tls_ca_file=self.tls.ca_file if self.tls else None,
                           stream_name=self.namespace.stream, subject_prefix=self.namespace.subject_prefix,
                           deadletter_stream_name=self.namespace.deadletter_stream)

    async def connect(self, identity: str, **options: Any) -> Any:
        """A nats-py client as ``identity`` (``Any``: nats-py ships no types); the caller closes it."""
        return await nats.connect(**self.settings(identity).connect_options(identity),
                                  **({"connect_timeout": 5, "max_reconnect_attempts": 3} | options))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
