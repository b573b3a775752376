"""The ``prosperity`` command line: one console script, one subcommand per job.

``walkthrough`` opens one case under each law and walks it through its lifecycle on the configured
store (embedded PostgreSQL by default), then prints the facts as they were stored and reloads the cases.
``relay`` publishes the stored events to NATS JetStream until SIGTERM/SIGINT; ``relay --status`` prints its
position and lag. Later subcommands (``up``, ``demo``, ...) join it here.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import structlog

from domain.values import Context
from services import arguments, bootstrap, ops
from services.audit.cli import add_verify_arguments, verify_command
from services.casework.application import Casework
from services.infra.memory import freeze_startup_objects
from services.log import configure_logging
from services.observability import metrics, tracing
from services.settings import StoreSettings, event_store_env, store_dsn
from services.walkthrough import iceland_lifecycle, norway_lifecycle

if TYPE_CHECKING:
    from services.relay.relay import Relay

log = structlog.get_logger()

_SKIP = {"originator_id", "originator_version", "timestamp", "originator_topic", "ctx"}


def _describe(value: object) -> str:
    text = getattr(value, "value", value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    if hasattr(value, "__dataclass_fields__"):
        return type(value).__name__
    return str(text)


def print_case_events(app: Casework, case_id: UUID, title: str = "") -> None:
    """A table of the case's facts: version, when, what happened, who did it in which role, its own fields."""
    from services.console import print_table

    rows = []
    for stored in app.events.get(case_id):
        ctx: Context = stored.__dict__["ctx"]  # every fact of ours carries its Context
        fields = ", ".join(f"{k}={_describe(v)}" for k, v in stored.__dict__.items() if k not in _SKIP)
        rows.append((f"v{stored.originator_version}", f"{ctx.occurred_at:%Y-%m-%d}", type(stored).__name__,
                     ctx.actor.role.value, fields))
    print_table(title, ("version", "occurred", "fact", "by", "fields"), rows)


def walkthrough(settings: StoreSettings) -> int:
    with event_store_env(settings) as env:
        app = Casework(env=env)
        try:
            run = secrets.token_hex(3)
            for title, lifecycle in (("Iceland (Act 86/2021)", iceland_lifecycle),
                                     ("Norway (barnekoordinator)", norway_lifecycle)):
                jurisdiction = "is" if lifecycle is iceland_lifecycle else "no"
                case_id = lifecycle(app, child=f"person:child-{jurisdiction}-{run}")
                case = app.get_case(case_id)
                print_case_events(app, case_id, f"\n{title}: case {case_id}, status {case.status.value}, "  # type: ignore[attr-defined]
                                                f"version {case.version}")
            log.info("walkthrough.done", store=env.get("POSTGRES_HOST"),
                     notifications=app.recorder.max_notification_id())
        finally:
            app.close()
    return 0


def relay(settings: StoreSettings, *, status: bool) -> int:
    """Run the relay until SIGTERM/SIGINT, or print its position and lag (``--status``)."""
    # Imported here, not at the top: only this subcommand needs the NATS client and the contracts mapping.
    from services.relay.relay import Relay, RelayError
    from services.relay.stream import RelaySettings

    relay_settings = RelaySettings()
    with event_store_env(settings) as env:
        app = Casework(env=env)
        try:
            publisher = Relay(app, env, relay_settings)
            metrics.register(metrics.RelayCollector(publisher, publisher.recorder.max_notification_id))
            try:
                if status:
                    now = publisher.status()
                    print(f"position {now.position}\nmax_notification_id {now.max_notification_id}\nlag {now.lag}")
                    return 0
                freeze_startup_objects()
                with ops.serving("relay", bootstrap.ops_settings(), ready=bootstrap.relay_checks(publisher)):
                    asyncio.run(_run_until_signalled(publisher))
            except RelayError as error:
                log.error("relay.failed", error=str(error))
                return 1
            finally:
                publisher.close()
        finally:
            app.close()
    return 0


async def _run_until_signalled(publisher: Relay) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await publisher.run(stop)


def _projection_or_none(load: Callable[[str], Any], spec: str) -> Any:
    """The projection ``spec`` names, or None after saying in one line why not (before any server starts)."""
    try:
        return load(spec)
    except ValueError as error:
        print(f"prosperity: {error}", file=sys.stderr)
        return None


def consume(settings: StoreSettings, projection_spec: str) -> int:
    """Run one replica of a read model's consumer until SIGINT/SIGTERM; start as many as the load needs."""
    import asyncio

    from services.consumers.registry import load_projection
    from services.consumers.runtime import ConsumerSettings, build_app
    from services.consumers.store import ReadModelStore

    projection = _projection_or_none(load_projection, projection_spec)
    if projection is None:
        return 2
    with store_dsn(settings) as dsn:
        store = ReadModelStore(dsn, projection, base_schema=settings.pg_schema or "public")
        consumer_settings = ConsumerSettings()
        app = build_app(store, consumer_settings)
        durable = consumer_settings.consumer_name or store.projection.name
        probes = bootstrap.ConsumerProbes(app.broker, consumer_settings, durable, dsn)  # type: ignore[arg-type]
        app.on_startup(probes.started)
        live, ready = probes.checks()
        freeze_startup_objects()
        with ops.serving(f"consume-{store.projection.name}", bootstrap.ops_settings(), ready=ready, live=live):
            asyncio.run(app.run())
    return 0


def rebuild_read_model(settings: StoreSettings, projection_spec: str) -> int:
    """Rebuild a read model into a new generation from the event store, with progress, then switch to it."""
    from services.console import progress_bar
    from services.consumers.rebuild import RebuildFailed, RebuildRunning, rebuild
    from services.consumers.registry import load_projection
    from services.consumers.store import ReadModelStore

    projection = _projection_or_none(load_projection, projection_spec)
    if projection is None:
        return 2
    with store_dsn(settings) as dsn, event_store_env(settings) as env:
        app = Casework(env=env)
        store = ReadModelStore(dsn, projection, base_schema=settings.pg_schema or "public")
        try:
            report = rebuild(store, app, progress=progress_bar(f"rebuilding {store.projection.name}"))
        except (RebuildFailed, RebuildRunning) as error:
            log.error("rebuild.failed", read_model=store.projection.name, error=str(error))
            print(f"\nprosperity rebuild: {error}", file=sys.stderr)
            return 1
        finally:
            store.close()
            app.close()
    print(f"{store.projection.name}: generation {report.generation.number} now serving "
          f"({report.events_read} events read, {report.events_applied} applied, {report.rate:,.0f} events/s)")
    return 0


def notifier(settings: StoreSettings) -> int:
    """Deliver due notices and enqueue deadline warnings until SIGINT/SIGTERM (see services/notifier)."""
    import threading

    from services.notifier import run

    with store_dsn(settings) as dsn:
        notifier_settings = bootstrap.notifier_settings(settings, dsn)
        threads: list[threading.Thread] = []
        live, ready = bootstrap.notifier_checks(notifier_settings, lambda: threads)
        with ops.serving("notifier", bootstrap.ops_settings(), ready=ready, live=live):
            run.main(notifier_settings, threads)
    return 0


def serve_api(settings: StoreSettings, *, host: str | None, port: int | None, workers: int | None = None) -> int:
    """Serve the HTTP API with uvicorn workers until SIGINT/SIGTERM (see services/api/serve.py)."""
    from services.api.serve import serve
    from services.api.settings import ApiSettings, ProductionConfigError

    api_settings = ApiSettings()
    try:
        api_settings.check_production()
    except ProductionConfigError as error:
        print(f"prosperity api: {error}", file=sys.stderr)
        return 2
    return serve(settings, api_settings, host=host, port=port, workers=workers)


def mint_dev_token(*, role: str, person: str, org: str | None, muni: str | None, jurisdiction: str | None) -> int:
    """Print a bearer token signed with the configured HS256 secret (the dev default unless set); refused in
    production mode, where tokens come from the identity provider."""
    from domain.errors import InvalidValue
    from services.api.identity import MintingDisabled, mint_token
    from services.api.settings import ApiSettings

    try:
        print(mint_token(ApiSettings(), person_ref=person, role=role, org_ref=org, municipality_ref=muni,
                         jurisdiction=jurisdiction))
    except (InvalidValue, ValueError, MintingDisabled) as error:
        print(f"prosperity token: {error}", file=sys.stderr)
        return 2
    return 0


def _store() -> StoreSettings:
    return bootstrap.store_settings()


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand names its handler with ``set_defaults(func=...)``, a function of the parsed arguments
    (decided for issue 15: a branch adds a subcommand in its own module, ``add_parsers(sub)``, and one line here)."""
    import shtab

    parser = argparse.ArgumentParser(prog="prosperity", description=__doc__.splitlines()[0] if __doc__ else None)
    shtab.add_argument_to(parser, ["--print-completion"], help="print a shell completion script (bash, zsh, tcsh)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("walkthrough", help="open a case under each law and walk it through its lifecycle").set_defaults(
        func=lambda args: walkthrough(_store()))
    consumer = sub.add_parser("consume", help="run one replica of a read model's JetStream consumer")
    consumer.add_argument("projection", help="dashboard | audit | notifications | module:Class")
    consumer.set_defaults(func=lambda args: consume(_store(), args.projection))
    relay_parser = sub.add_parser("relay", help="publish stored events to NATS JetStream until SIGTERM/SIGINT")
    relay_parser.add_argument("--status", action="store_true", help="print position, max notification id and lag")
    relay_parser.set_defaults(func=lambda args: relay(_store(), status=args.status))
    rebuild_parser = sub.add_parser("rebuild", help="rebuild a read model from the event store, then switch to it")
    rebuild_parser.add_argument("projection", help="dashboard | audit | notifications | module:Class")
    rebuild_parser.set_defaults(func=lambda args: rebuild_read_model(_store(), args.projection))
    sub.add_parser("notifier", help="deliver notifications and deadline warnings until SIGTERM/SIGINT").set_defaults(
        func=lambda args: notifier(_store()))
    api_parser = sub.add_parser("api", help="serve the HTTP API (uvicorn) on the configured store")
    api_parser.add_argument("--host", help="interface to listen on (default PROSPERITY_API_HOST or 127.0.0.1)")
    api_parser.add_argument("--port", type=arguments.port, help="port (default PROSPERITY_API_PORT or 8000)")
    api_parser.add_argument("--workers", type=int, help="worker processes (default PROSPERITY_API_WORKERS or 1)")
    api_parser.set_defaults(func=lambda args: serve_api(_store(), host=args.host, port=args.port,
                                                        workers=args.workers))
    from services.api.identity import role_help

    token_parser = sub.add_parser("token", help="mint a local development bearer token for the HTTP API",
                                  description="Mint a development bearer token (not in production mode). The access "
                                              "model decides by the token's claims: staff need --org, leads and "
                                              "municipal staff also --muni, supervisors and national agencies "
                                              "--jurisdiction.")
    token_parser.add_argument("--role", required=True, help=f"a domain role: {role_help()}")
    token_parser.add_argument("--person", required=True, help="the caller's pseudonymous ref, person:…")
    token_parser.add_argument("--org", help="the caller's organisation, org:…")
    token_parser.add_argument("--muni", help="the municipality a lead or municipal staff member acts for, muni:…")
    token_parser.add_argument("--jurisdiction", choices=["IS", "NO"],
                              help="the country a supervisor or national agency acts in")
    token_parser.set_defaults(func=lambda args: mint_dev_token(role=args.role, person=args.person, org=args.org,
                                                               muni=args.muni, jurisdiction=args.jurisdiction))
    from services import dashboard_summary, demo, up
    from services.bus import cli as bus_cli
    from services.clock import cli as clock_cli
    from services.vault import cli as vault_cli

    bus_cli.add_parsers(sub)
    clock_cli.add_parsers(sub)
    vault_cli.add_parsers(sub)
    for name in ("nats-config", "nats-provision"):
        sub.choices[name].set_defaults(func=bus_cli.run)
    up_parser = sub.add_parser("up", help="run the whole system: servers, API, relay, consumers, notifier")
    up.add_arguments(up_parser)
    up_parser.set_defaults(func=up.run)
    demo_parser = sub.add_parser("demo", help="generate a synthetic population through the HTTP API")
    demo.add_arguments(demo_parser)
    demo_parser.set_defaults(func=demo.run)
    dashboard_parser = sub.add_parser("dashboard", help="print the main dashboard figures")
    dashboard_summary.add_arguments(dashboard_parser)
    dashboard_parser.set_defaults(func=dashboard_summary.run)
    from services.consumers import deadletters

    deadletters_parser = sub.add_parser("deadletters", help="quarantined facts: list, retry, resolve")
    deadletters.add_arguments(deadletters_parser)
    deadletters_parser.set_defaults(func=lambda args: deadletters.run(args, _store()))
    audit = sub.add_parser("audit", help="audit trail tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify_parser = audit_sub.add_parser("verify", help="replay the event store and check the audit trail")
    add_verify_arguments(verify_parser)
    verify_parser.set_defaults(func=lambda args: verify_command(_store(), up_to=args.up_to))
    from services import reports_cli

    reports_cli.add_parsers(sub)
    reports_cli.add_audit_parsers(audit_sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = _store()
    configure_logging(settings.log_format, logging.getLevelNamesMapping()[settings.log_level.upper()])
    tracing.enable(settings.tracing, f"prosperity-{args.command}", settings.otlp_endpoint)
    try:
        code: int = args.func(args)
    except OPERATIONAL as error:
        if settings.log_level == "debug":
            raise
        print(f"prosperity {args.command}: {_plainly(error)}", file=sys.stderr)
        return 1
    return code


def _operational() -> tuple[type[BaseException], ...]:
    """What the world, not the code, gets wrong: said in one line (the traceback with PROSPERITY_LOG_LEVEL=debug)."""
    import httpx
    import psycopg

    return (psycopg.OperationalError, psycopg.errors.UndefinedTable, httpx.TransportError, FileNotFoundError,
            PermissionError, ConnectionError)


OPERATIONAL = _operational()


def _plainly(error: BaseException) -> str:
    import httpx
    import psycopg

    if isinstance(error, psycopg.errors.UndefinedTable):
        return ("a table this command needs is not in this database (run `prosperity up` from the project's "
                "directory first, or set PROSPERITY_PG_DSN to the system's database)")
    if isinstance(error, httpx.TransportError):
        return f"cannot reach the API ({type(error).__name__}: {error}); is it running, and is --api right?"
    if isinstance(error, FileNotFoundError | PermissionError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


if __name__ == "__main__":
    sys.exit(main())
