"""``prosperity nats-config``: the agency registry and the services' needs, written out as nats-server
configuration and one credential per identity.

The output directory::

    nats.conf             a single server (no cluster options); public keys only, not a secret
    cluster/n1.conf …     each node of a cluster (``--cluster``); holds the route password: 0600
    bus.json              the plan: identities, permissions, durables (read by ``prosperity nats-provision``)
    secrets/<name>.nk     one nkey seed per identity (0600, directory 0700): give each process only its own
    secrets/route-password

Every file is checked with ``nats-server -t`` before this returns. Running it again keeps every existing
seed, so it is safe to re-run after editing the registry; ``rotate`` replaces named identities' seeds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.bus.keys import KeyStore, write_secret
from services.bus.natsconf import ServerOptions, validate
from services.bus.plan import DEFAULT_CONSUMERS, BusPlan, ConsumerSpec, Namespace, plan_bus
from services.bus.registry import AgencyRegistry

PLAN_FILE = "bus.json"
SECRETS_DIR = "secrets"


@dataclass(frozen=True)
class GeneratedBus:
    """What was written, and where each identity's seed is."""

    out: Path
    plan: BusPlan
    configs: list[Path]
    unused_seeds: list[Path] = field(default_factory=list)
    """Seed files of identities no longer in the plan (a removed agency): no longer valid, safe to delete."""

    @property
    def secrets(self) -> Path:
        return self.out / SECRETS_DIR

    def seed_file(self, identity: str) -> Path:
        path = KeyStore(self.secrets).seed_path(identity)
        if not path.exists():
            raise KeyError(f"no seed for {identity!r} (an agency that brought its own nkey keeps its seed)")
        return path


def generate(out: Path, *, registry: AgencyRegistry, server: ServerOptions, namespace: Namespace | None = None,
             consumers: Sequence[ConsumerSpec] | None = None, rotate: Sequence[str] = (),
             check: bool = True) -> GeneratedBus:
    """Write the configuration(s), the plan and the seeds under ``out``; return what was written."""
    namespace = namespace or Namespace()
    consumers = consumers if consumers is not None else [ConsumerSpec(name=name) for name in DEFAULT_CONSUMERS]
    out.mkdir(parents=True, exist_ok=True)
    keys = KeyStore(out / SECRETS_DIR)
    plan = plan_bus(namespace, consumers, registry, lambda name: keys.public_key(name, rotate=name in rotate))
    unknown = sorted(set(rotate) - {identity.name for identity in plan.identities} - {"route"})
    if unknown:
        raise ValueError(f"cannot rotate {unknown}: no such identity in this plan")
    (out / PLAN_FILE).write_text(plan.model_dump_json(indent=2) + "\n", encoding="utf-8")
    configs: list[Path] = []
    if server.cluster is None:
        path = out / "nats.conf"
        path.write_text(server.node_config(plan, 0), encoding="utf-8")
        configs.append(path)
    else:
        password = keys.route_password(rotate="route" in rotate)
        (out / "cluster").mkdir(exist_ok=True)
        for index, name in enumerate(server.node_names):
            path = out / "cluster" / f"{name}.conf"
            write_secret(path, server.node_config(plan, index, password))  # route password inside: 0600
            configs.append(path)
    if check:
        for path in configs:
            validate(path)
    in_use = {keys.seed_path(identity.name) for identity in plan.identities}
    unused = sorted(p for p in keys.directory.glob("*.nk") if p not in in_use)
    return GeneratedBus(out=out, plan=plan, configs=configs, unused_seeds=unused)


def load_plan(path: Path) -> BusPlan:
    """``bus.json`` (or the directory holding it), as written by :func:`generate`."""
    if path.is_dir():
        path = path / PLAN_FILE
    return BusPlan.model_validate_json(path.read_text(encoding="utf-8"))


def readable_by_owner_only(path: Path) -> bool:
    """True when group and others have no access (what every secret written here must satisfy)."""
    return (os.stat(path).st_mode & 0o077) == 0
