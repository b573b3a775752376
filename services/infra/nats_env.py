"""Where a piece of code publishes in JetStream: the bus, its streams and its subject namespace.

Why: each test runs its own nats-server from the generated configuration (``services.bus.local``), in a
namespace of its own (stream ``T_<hex>``, subjects under ``t<hex>``), so the permissions production has are
exercised with the namespace as a parameter, and tests cannot see each other's messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.bus.local import LocalBus
from services.bus.plan import ADMIN, ConsumerSpec


@dataclass(frozen=True)
class JsTarget:
    """A namespace on a running bus: its stream captures every fact subject under ``subject_prefix``."""

    bus: LocalBus

    @property
    def url(self) -> str:
        return self.bus.url

    @property
    def stream(self) -> str:
        return self.bus.namespace.stream

    @property
    def deadletter_stream(self) -> str:
        return self.bus.namespace.deadletter_stream

    @property
    def subject_prefix(self) -> str:
        return self.bus.namespace.subject_prefix

    @property
    def subjects(self) -> list[str]:
        """The facts' subjects: ``<prefix>.cases.v1.>``, ``<prefix>.directory.v1.>``."""
        return list(self.bus.namespace.fact_subjects)

    def subject(self, *tokens: str) -> str:
        """A concrete subject inside this target, e.g. ``subject("cases", "v1", "is", …)``."""
        return ".".join((self.subject_prefix, *tokens))

    def seed_file(self, identity: str) -> Path:
        return self.bus.seed_file(identity)

    def env(self, identity: str | None) -> dict[str, str]:
        """``PROSPERITY_*`` settings of a process acting as ``identity`` in this namespace."""
        return self.bus.env(identity)

    def consumer_env(self, name: str, *, ack_wait_seconds: float = 2.0) -> dict[str, str]:
        """Settings of a read-model replica named ``name``; its identity and durable are added on first use
        (the configuration is regenerated and the server reloaded, as when a read model is added in
        production). The short ack wait makes a killed replica's messages come back quickly."""
        self.bus.add_consumer(ConsumerSpec(name=name, ack_wait_seconds=ack_wait_seconds))
        return self.bus.env(name) | {"PROSPERITY_CONSUMER_NAME": name}

    async def connect(self, identity: str = ADMIN, **options: Any) -> Any:
        """A nats-py client as ``identity`` (default ``admin``, who may read and manage the streams)."""
        return await self.bus.connect(identity, **options)
