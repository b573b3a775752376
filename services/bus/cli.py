"""``prosperity nats-config`` and ``prosperity nats-provision``: the bus's configuration, then its streams.

::

    prosperity nats-config --registry deploy/nats/agencies.toml --out /secure/nats        # one server
    prosperity nats-config --registry deploy/nats/agencies.toml --out /secure/nats \\
        --listen 0.0.0.0:4222 --store-dir /data/jetstream \\
        --cluster nats-0.nats:6222,nats-1.nats:6222,nats-2.nats:6222 --cluster-listen 0.0.0.0:6222
    PROSPERITY_STREAM_REPLICAS=3 prosperity nats-provision --bus /secure/nats --nats-url nats://nats-0.nats:4222
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from services.bus.generate import SECRETS_DIR, generate, load_plan
from services.bus.keys import KeyStore
from services.bus.natsconf import ClusterOptions, InvalidConfiguration, ServerOptions, TlsFiles
from services.bus.plan import ADMIN, DEFAULT_CONSUMERS, ConsumerSpec, Namespace
from services.bus.provision import StreamSettings, provision_as_admin
from services.bus.registry import AgencyRegistry, RegistryError, load_registry
from services.bus.settings import BusSettings


def _addresses(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--out", type=Path, required=True, help="directory for the configuration, bus.json and secrets/")
    add("--registry", type=Path, help="agency registry (TOML); default: no agencies")
    add("--stream", default=Namespace().stream, help="the facts' stream (default CASES)")
    add("--deadletter-stream", default=Namespace().deadletter_stream, help="default DEADLETTERS")
    add("--subject-prefix", default="", help="prefix of every subject (default none)")
    add("--consumer", action="append", dest="consumers", metavar="NAME",
        help=f"a read-model consumer identity; repeat (default {', '.join(DEFAULT_CONSUMERS)})")
    add("--listen", type=_addresses, default=("127.0.0.1:4222",),
        help="client address host:port, or one per cluster node, comma-separated (default 127.0.0.1:4222)")
    add("--monitor", default="127.0.0.1:8222",
        help="HTTP monitoring host:port (unauthenticated; default loopback), one per node, or 'off'")
    add("--store-dir", type=Path, default=Path("jetstream"), help="JetStream data directory as the server sees it")
    add("--per-node-store", action="store_true", help="cluster nodes on one machine: <store-dir>/n<i> each")
    add("--max-file-store", type=int, help="JetStream file storage limit in bytes")
    add("--tls-cert", type=Path, help="server certificate for client connections (turns TLS on)")
    add("--tls-key", type=Path)
    add("--tls-ca", type=Path, help="CA for client certificates")
    add("--tls-verify", action="store_true", help="require client certificates (mutual TLS)")
    add("--cluster", type=_addresses, help="route addresses of the nodes, comma-separated (3 or more)")
    add("--cluster-name", default="prosperity")
    add("--cluster-listen", help="where each node listens for routes (default: its route address)")
    add("--route-tls-cert", type=Path, help="certificate for routes (turns route TLS on; needs --route-tls-ca)")
    add("--route-tls-key", type=Path)
    add("--route-tls-ca", type=Path)
    add("--rotate", action="append", default=[], metavar="IDENTITY",
        help="replace this identity's seed (or 'route'); repeat")
    add("--no-check", action="store_true", help="skip `nats-server -t` (no nats-server installed here)")


def _tls(cert: Path | None, key: Path | None, ca: Path | None, verify: bool = False) -> TlsFiles | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ValueError("a certificate needs its key (and the other way round)")
    return TlsFiles(cert_file=cert, key_file=key, ca_file=ca, verify=verify)


def server_options(args: argparse.Namespace) -> ServerOptions:
    cluster = None
    if args.cluster:
        cluster = ClusterOptions(name=args.cluster_name, routes=args.cluster, listen=args.cluster_listen,
                                 tls=_tls(args.route_tls_cert, args.route_tls_key, args.route_tls_ca))
    monitor = () if args.monitor == "off" else _addresses(args.monitor)
    return ServerOptions(listen=args.listen, monitor=monitor, store_dir=args.store_dir,
                         per_node_store=args.per_node_store, max_file_store_bytes=args.max_file_store,
                         tls=_tls(args.tls_cert, args.tls_key, args.tls_ca, args.tls_verify), cluster=cluster)


def nats_config(args: argparse.Namespace) -> int:
    try:
        registry = load_registry(args.registry) if args.registry else AgencyRegistry()
        consumers = [ConsumerSpec(name=name) for name in (args.consumers or DEFAULT_CONSUMERS)]
        namespace = Namespace(stream=args.stream, subject_prefix=args.subject_prefix,
                              deadletter_stream=args.deadletter_stream)
        generated = generate(args.out, registry=registry, server=server_options(args), namespace=namespace,
                             consumers=consumers, rotate=args.rotate, check=not args.no_check)
    except (RegistryError, ValidationError, ValueError, InvalidConfiguration) as error:
        print(f"prosperity nats-config: {error}", file=sys.stderr)
        return 2
    for path in generated.configs:
        print(f"configuration  {path}")
    print(f"plan           {args.out / 'bus.json'}")
    for identity in generated.plan.identities:
        seed = KeyStore(generated.secrets).seed_path(identity.name)
        where = seed if seed.exists() else "(the agency's own key)"
        print(f"identity       {identity.account:<22} {identity.name:<24} {where}")
    for path in generated.unused_seeds:
        print(f"unused seed    {path} (no longer in the plan; delete it)")
    print("next: start nats-server with the configuration, then `prosperity nats-provision --bus "
          f"{args.out}`; give each process only its own seed (PROSPERITY_NATS_SEED_FILE)")
    return 0


def add_provision_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bus", type=Path, required=True, help="the directory `prosperity nats-config` wrote")
    parser.add_argument("--nats-url", help="default PROSPERITY_NATS_URL")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to retry while a cluster forms")


def nats_provision(args: argparse.Namespace) -> int:
    plan = load_plan(args.bus)
    settings = BusSettings(nats_url=args.nats_url) if args.nats_url else BusSettings()
    if not settings.has_identity:
        seed = KeyStore(args.bus / SECRETS_DIR).seed_path(ADMIN)
        if seed.exists():
            settings = settings.model_copy(update={"nats_seed_file": seed})
    try:
        asyncio.run(provision_as_admin(settings, plan, StreamSettings(), timeout=args.timeout))
    except Exception as error:  # connection refused, authorization violation, a refused stream change
        print(f"prosperity nats-provision: {error!r} (is nats-server running with this bus's configuration, and "
              f"is {ADMIN!r} the identity? PROSPERITY_NATS_URL={settings.nats_url})", file=sys.stderr)
        return 1
    print(f"provisioned {plan.namespace.stream}, {plan.namespace.deadletter_stream} and "
          f"{len(plan.durables)} durable consumers ({', '.join(d.name for d in plan.durables)})")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    add_config_arguments(sub.add_parser(
        "nats-config", help="generate the nats-server configuration and credentials from the agency registry"))
    add_provision_arguments(sub.add_parser(
        "nats-provision", help="create the streams and durable consumers (as the bus's admin identity)"))


def run(args: argparse.Namespace) -> int:
    os.umask(0o077)  # nothing written here should be readable by others, whatever else it is
    return nats_config(args) if args.command == "nats-config" else nats_provision(args)
