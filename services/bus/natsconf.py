"""The nats-server configuration text: one node, or each node of a JetStream cluster, from a :class:`BusPlan`.

Every value is written JSON-quoted, which nats-server's configuration format accepts, and which matters: an
unquoted ``$…`` (a bcrypt hash, a ``$JS.API…`` subject) would be read as a variable reference (tech note §8.9).
There is no ``no_auth_user``, so a connection without credentials is refused. The monitoring port has no
authentication of its own and is therefore on loopback unless told otherwise.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.bus.keys import bcrypt_hash
from services.bus.plan import BusPlan
from services.infra.embedded import nats_server_binary

HostPort = str
ROUTE_USER = "route"


class TlsFiles(BaseModel):
    """Certificate paths as the server will see them (they are written into the configuration, not read)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cert_file: Path
    key_file: Path
    ca_file: Path | None = None
    verify: bool = False
    """Require a client certificate signed by ``ca_file`` (mutual TLS), in addition to the nkey."""

    @model_validator(mode="after")
    def _verify_needs_ca(self) -> TlsFiles:
        if self.verify and self.ca_file is None:
            raise ValueError("verifying client certificates needs ca_file")
        return self

    def to_config(self, *, routes: bool = False) -> dict[str, Any]:
        block: dict[str, Any] = {"cert_file": str(self.cert_file), "key_file": str(self.key_file), "timeout": 2}
        if self.ca_file is not None:
            block["ca_file"] = str(self.ca_file)
        if self.verify and not routes:  # routes verify both ways whenever a CA is given
            block["verify"] = True
        return block


class ClusterOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="prosperity", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    routes: tuple[HostPort, ...] = Field(min_length=3)
    """Each node's route address as its peers dial it (``nats-0.nats:6222``); node *i* is ``n<i>``."""
    listen: HostPort | None = None
    """Where every node listens for routes (``0.0.0.0:6222``); default: its own route address."""
    tls: TlsFiles | None = None

    @model_validator(mode="after")
    def _route_tls_needs_ca(self) -> ClusterOptions:
        if self.tls is not None and self.tls.ca_file is None:
            raise ValueError("TLS on routes verifies both peers and needs ca_file")
        return self


class ServerOptions(BaseModel):
    """Where the server(s) listen and store; one value for all nodes, or one per node of a cluster."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: tuple[HostPort, ...] = ("127.0.0.1:4222",)
    monitor: tuple[HostPort, ...] = ("127.0.0.1:8222",)
    """The HTTP monitoring endpoint (unauthenticated: keep it on loopback); empty = none."""
    store_dir: Path = Path("jetstream")
    """JetStream's data; a cluster node ``n<i>`` uses ``<store_dir>/n<i>`` when the nodes share a machine
    (``per_node_store``)."""
    per_node_store: bool = False
    max_file_store_bytes: int | None = Field(default=None, gt=0)
    tls: TlsFiles | None = None
    cluster: ClusterOptions | None = None

    @model_validator(mode="after")
    def _one_or_per_node(self) -> ServerOptions:
        nodes = len(self.cluster.routes) if self.cluster else 1
        for name, values in (("listen", self.listen), ("monitor", self.monitor)):
            if len(values) not in ((1, nodes) if name == "listen" else (0, 1, nodes)):
                raise ValueError(f"{name} takes one address, or one per node ({nodes})")
        return self

    @property
    def node_names(self) -> list[str]:
        return [f"n{i}" for i in range(1, len(self.cluster.routes) + 1)] if self.cluster else ["prosperity"]

    def _pick(self, values: tuple[HostPort, ...], index: int) -> HostPort | None:
        if not values:
            return None
        return values[index] if len(values) > 1 else values[0]

    def node_config(self, plan: BusPlan, index: int, route_password: str | None = None) -> str:
        """The configuration of node ``index`` (0 for a single server)."""
        name = self.node_names[index]
        store = self.store_dir / name if self.cluster and self.per_node_store else self.store_dir
        jetstream: dict[str, Any] = {"store_dir": str(store)}
        if self.max_file_store_bytes:
            jetstream["max_file_store"] = self.max_file_store_bytes
        settings: dict[str, Any] = {"server_name": name, "listen": self._pick(self.listen, index)}
        if (monitor := self._pick(self.monitor, index)) is not None:
            settings["http"] = monitor
        settings["jetstream"] = jetstream
        if self.tls is not None:
            settings["tls"] = self.tls.to_config()
        settings["accounts"] = plan.accounts()
        if self.cluster is not None:
            if route_password is None:
                raise ValueError("a cluster node needs the route password")
            settings["cluster"] = self._cluster_block(index, route_password)
        return render(settings)

    def _cluster_block(self, index: int, route_password: str) -> dict[str, Any]:
        assert self.cluster is not None
        scheme = "nats-route"
        peers = [f"{scheme}://{ROUTE_USER}:{route_password}@{route}"
                 for i, route in enumerate(self.cluster.routes) if i != index]
        block: dict[str, Any] = {
            "name": self.cluster.name,
            "listen": self.cluster.listen or self.cluster.routes[index],
            "authorization": {"user": ROUTE_USER, "password": bcrypt_hash(route_password), "timeout": 2},
            "routes": peers,
        }
        if self.cluster.tls is not None:
            block["tls"] = self.cluster.tls.to_config(routes=True)
        return block


HEADER = """# Generated by `prosperity nats-config`; do not edit. Change the agency registry or the options and
# generate again (docs/nats-security.md). Accounts: APP holds JetStream, admin and api (nkey users with
# allow-lists); RELAY publishes the facts into APP, each RM_* (read model) and AGENCY_* account reaches only its
# own filtered durable consumer in APP, each through service imports.
"""


def render(settings: dict[str, Any]) -> str:
    lines = [HEADER]
    for key, value in settings.items():
        lines.append(f"{key}: {json.dumps(value, indent=2)}")
    return "\n".join(lines) + "\n"


class InvalidConfiguration(RuntimeError):
    """``nats-server -t`` refused a generated file (its message says why)."""


def validate(path: Path) -> None:
    """Let nats-server itself check the file (``-t``), so a bad option fails here, not at a deploy."""
    result = subprocess.run([str(nats_server_binary()), "-t", "-c", str(path)], capture_output=True, text=True,
                            timeout=30, check=False)
    if result.returncode != 0:
        raise InvalidConfiguration(f"nats-server -t refused {path}: {(result.stderr or result.stdout).strip()}")
