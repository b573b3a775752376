"""``prosperity up``: the whole system on one machine, in one command.

Starts (unless told where they already run) a real PostgreSQL and a real nats-server with JetStream under the
data directory (the nats-server runs the configuration ``prosperity nats-config`` generates, with an account per
agency of ``deploy/nats/agencies.toml`` and an identity per service, ``services.bus.supervise``), provisions the
streams and durable consumers, starts a local mail catcher (SMTP → ``<data>/mail/*.eml``), then runs the
API, the relay, the three read-model consumers, the notifier and the clock as separate ``python -m services.cli``
processes, each logging to ``<data>/logs/<name>.log``. It waits until all are healthy, prints where everything
is and a development token per role, writes the same facts to ``<data>/up.json`` (read by ``prosperity demo``
and ``prosperity dashboard``), then supervises: a service that dies is reported and restarted with backoff
while the others keep running; so is the nats-server. SIGINT/SIGTERM stops everything; the data stays for the
next run.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import structlog

from services import arguments, bootstrap
from services.bus.supervise import UpBus
from services.infra.embedded import LOCALHOST, EmbeddedPostgres, free_port, port_answers
from services.settings import StoreSettings

log = structlog.get_logger()

DEFAULT_NATS_PORT = 4223
DEFAULT_API_PORT = 8000
DEFAULT_SMTP_PORT = 8025
STATE_FILE = "up.json"
ALIVE_FOR_SECONDS = 3.0
"""A service counts as started once its ``/ready`` answers and it has stayed alive this long."""
MAX_BACKOFF_SECONDS = 30.0

SERVICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("api", ("api",)),
    ("relay", ("relay",)),
    ("consume-dashboard", ("consume", "dashboard")),
    ("consume-audit", ("consume", "audit")),
    ("consume-notifications", ("consume", "notifications")),
    ("notifier", ("notifier",)),
    ("clock", ("clock",)),
)

DEV_IDENTITIES: tuple[tuple[str, str, str | None, str | None, str | None], ...] = (
    ("coordinator", "person:dev-coordinator", "org:dev-school", None, None),
    ("case_manager", "person:dev-case-manager", "org:dev-social", None, None),
    ("municipality_lead", "person:lead-reykjavik", "org:town-hall-reykjavik", "muni:reykjavik", None),
    ("municipal_staff", "person:staff-bodo-1", "org:koordinerende-enhet-bodo", "muni:bodo", None),
    ("service_provider_rep", "person:dev-provider", "org:dev-health", None, None),
    ("parent", "person:dev-parent", None, None, None),
    ("supervisor", "person:dev-supervisor", "org:gev", None, "IS"),
    ("national_agency", "person:dev-bofs", "org:bofs", None, "IS"),
)
"""One development identity per role (role, person, org, municipality, jurisdiction); the lead and the staff
member are those of ``prosperity demo``'s Reykjavík and Bodø, so their tokens see the demo's figures."""


def state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FILE


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """What a running (or the last) ``prosperity up`` wrote about itself, or None."""
    path = state_path(data_dir)
    if not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text())
    return state


# ---------------------------------------------------------------------------------------------------------------
# The mail catcher


class MailCatcher:
    """A local SMTP server (aiosmtpd) that stores each message as ``<mail_dir>/<time>-<n>.eml`` and logs it."""

    def __init__(self, mail_dir: Path, port: int) -> None:
        self.mail_dir, self.port = mail_dir, port
        self._counter = itertools.count(1)
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.mail_dir / f"{stamp}-{next(self._counter):05d}.eml"
        path.write_bytes(content)
        message = message_from_bytes(content, policy=policy.default)
        log.info("mail.received", file=str(path), to=list(envelope.rcpt_tos), subject=str(message.get("Subject", "")))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(self, hostname=LOCALHOST, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()


# ---------------------------------------------------------------------------------------------------------------
# Service processes


@dataclass
class Service:
    name: str
    args: tuple[str, ...]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    next_start: float | None = None
    """When a dead service is due to be restarted (monotonic seconds), or None."""
    backoff: float = 1.0
    history: list[int] = field(default_factory=list)
    ops_url: str | None = None
    """Where its ``/health``, ``/ready`` and ``/metrics`` answer (services/ops.py); the API's are on its own port."""
    log_start: int = 0

    def start(self, env: dict[str, str]) -> None:
        with self.log_path.open("ab") as out:
            self.log_start = out.tell()  # the log is kept across runs: this run's lines start here
            self.process = subprocess.Popen([sys.executable, "-m", "services.cli", *self.args], env=env,
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)  # Ctrl-C reaches `up`, which stops us in order
        self.started_at, self.next_start = time.monotonic(), None
        log.info("up.service.started", service=self.name, pid=self.process.pid, log=str(self.log_path))

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Stopped(Exception):
    """SIGINT/SIGTERM arrived."""


@dataclass
class Endpoints:
    pg_dsn: str
    pg_schema: str | None
    pg_location: str
    nats_url: str
    nats_location: str
    api_url: str
    smtp_port: int
    mail_dir: Path
    logs_dir: Path


def _prepare_read_models(dsn: str, base_schema: str) -> None:
    """Create the read-model registry and serving generations before any process races to (the notifier reads
    them; the consumers would create them too, idempotently)."""
    from services.consumers.registry import KNOWN, load_projection
    from services.consumers.store import ReadModelStore

    for name in KNOWN:
        store = ReadModelStore(dsn, load_projection(name), base_schema=base_schema, pool_size=1)
        try:
            store.setup()
        finally:
            store.close()


def _service_env(endpoints: Endpoints, api_port: int, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PROSPERITY_PG_DSN": endpoints.pg_dsn,
        "PROSPERITY_DATA_DIR": str(data_dir),
        "PROSPERITY_API_HOST": LOCALHOST,
        "PROSPERITY_API_PORT": str(api_port),
        "PROSPERITY_ENV": "development",  # `up` is the development system: the dev key and dev tokens
        "PROSPERITY_NOTIFIER_SMTP_HOST": LOCALHOST,
        "PROSPERITY_NOTIFIER_SMTP_PORT": str(endpoints.smtp_port),
        "PYTHONUNBUFFERED": "1",
    })
    env.setdefault("PROSPERITY_NOTIFIER_SCHEDULER_INTERVAL_SECONDS", "10")
    env.setdefault("PROSPERITY_NOTIFIER_BACKOFF_BASE_SECONDS", "5")
    env.setdefault("PROSPERITY_CLOCK_INTERVAL_SECONDS", "10")
    if endpoints.pg_schema:
        env["PROSPERITY_PG_SCHEMA"] = endpoints.pg_schema
    env.setdefault("PROSPERITY_VAULT_SCHEMA", endpoints.pg_schema or "public")  # API, notifier: one vault
    # `up` owns the embedded servers: a service must never start its own.
    return env


def _api_ready(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/ready", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _ops_port(name: str) -> int:
    """The process's port of the ops-port contract when it is free, else any free one (a second ``up``)."""
    from services.ops import DEFAULT_PORTS

    port = DEFAULT_PORTS[name]
    return free_port() if port_answers(LOCALHOST, port) else port


def _not_ready(services: list[Service]) -> list[str]:
    return [s.name for s in services if s.ops_url is not None and not _api_ready(s.ops_url)]


def _wait_healthy(services: list[Service], endpoints: Endpoints, nats_port: tuple[str, int], stop: threading.Event,
                  timeout: float) -> list[str]:
    """Wait until the API is ready, NATS answers and every process has stayed alive; return the failures."""
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        dead = [s for s in services if not s.alive]
        if dead:
            return [f"{s.name} exited during start-up with code {s.process.returncode if s.process else '?'}; the "
                    f"end of its log:\n{_log_tail(s.log_path, s.log_start)}" for s in dead]
        now = time.monotonic()
        settled = all(now - s.started_at >= ALIVE_FOR_SECONDS for s in services)
        if settled and _api_ready(endpoints.api_url) and port_answers(*nats_port) and not _not_ready(services):
            return []
        if now > deadline:
            failures = [] if _api_ready(endpoints.api_url) else [f"the API did not answer {endpoints.api_url}/ready"]
            failures += [f"{name} is not ready (its /ready answers 503 or nothing)" for name in _not_ready(services)]
            return failures + ([] if port_answers(*nats_port) else [f"NATS does not answer {endpoints.nats_url}"])
        time.sleep(0.2)
    raise Stopped


def _log_tail(path: Path, start: int = 0, lines: int = 15, most: int = 64 * 1024) -> str:
    """The last lines this run wrote to a service's log (from ``start``, at most its last ``most`` bytes),
    indented, so a failed start says why where it is reported."""
    try:
        with path.open("rb") as log_file:
            log_file.seek(max(start, log_file.seek(0, os.SEEK_END) - most))
            tail = log_file.read().decode(errors="replace").splitlines()[-lines:]
    except OSError as error:
        return f"    (its log {path} cannot be read: {error.strerror})"
    return "\n".join(f"    {line[:500]}" for line in tail) or "    (it wrote nothing to its log)"


def _print_ready(endpoints: Endpoints, services: list[Service], data_dir: Path) -> None:
    from services.api.identity import mint_token
    from services.api.settings import ApiSettings

    api_settings = ApiSettings(environment="development")
    print("\nprosperity is up (development mode)", flush=True)
    print(f"  API          {endpoints.api_url}   (OpenAPI docs: {endpoints.api_url}/docs)")
    print(f"  pages        {endpoints.api_url}/sign-in   (pick a person; mail viewer at /dev/mail)")
    print(f"  NATS         {endpoints.nats_url}   ({endpoints.nats_location})")
    schema = f", schema {endpoints.pg_schema}" if endpoints.pg_schema else ""
    print(f"  PostgreSQL   {endpoints.pg_location}{schema}")
    print(f"  mail         {endpoints.mail_dir}   (SMTP catcher on {LOCALHOST}:{endpoints.smtp_port})")
    print(f"  logs         {endpoints.logs_dir}")
    print(f"  state        {state_path(data_dir)}")
    for service in services:
        pid = service.process.pid if service.process else "-"
        ops = f"   ops {service.ops_url}" if service.ops_url else ""
        print(f"  service      {service.name:<22} pid {pid}   log {service.log_path.name}{ops}")
    print("\nDEVELOPMENT MODE: tokens are signed with the development key and minted locally; a production API "
          "(PROSPERITY_ENV=production) refuses that key and mints nothing.")
    print("development tokens (valid for a day; `prosperity token` mints more):")
    for role, person, org, muni, jurisdiction in DEV_IDENTITIES:
        token = mint_token(api_settings, person_ref=person, role=role, org_ref=org, municipality_ref=muni,
                           jurisdiction=jurisdiction, ttl_seconds=24 * 3600)
        print(f"  {role:<22} {token}")
    print("\nnext: `prosperity demo` (in another terminal), `prosperity dashboard`; Ctrl-C stops everything\n",
          flush=True)


def _write_state(data_dir: Path, endpoints: Endpoints, services: list[Service], bus: UpBus) -> None:
    state = {
        "pid": os.getpid(),
        "api_url": endpoints.api_url,
        "nats_url": endpoints.nats_url,
        "nats_pid": bus.pid,
        "pg_dsn": endpoints.pg_dsn,
        "pg_schema": endpoints.pg_schema,
        "mail_dir": str(endpoints.mail_dir),
        "logs_dir": str(endpoints.logs_dir),
        "services": {s.name: s.process.pid for s in services if s.process is not None},
        "ops": {s.name: s.ops_url for s in services if s.ops_url},
    }
    path = state_path(data_dir)
    path.write_text(json.dumps(state, indent=2))


def _supervise(services: list[Service], envs: dict[str, dict[str, str]], stop: threading.Event, *, restart: bool,
               data_dir: Path, endpoints: Endpoints, bus: UpBus) -> None:
    while not stop.wait(0.5):
        if bus.check():
            _write_state(data_dir, endpoints, services, bus)
        now = time.monotonic()
        for service in services:
            process = service.process
            if process is not None and process.poll() is not None and service.next_start is None:
                code = process.returncode
                service.history.append(code)
                # A service that ran for a while before dying starts again with a short backoff.
                if now - service.started_at > 60:
                    service.backoff = 1.0
                delay = min(service.backoff, MAX_BACKOFF_SECONDS)
                log.error("up.service.died", service=service.name, pid=process.pid, exit_code=code,
                          log=str(service.log_path), restart_in=delay if restart else None)
                action = f"restarting in {delay:.0f}s" if restart else "not restarting (--no-restart)"
                print(f"!! service {service.name} (pid {process.pid}) exited with code {code}; {action}; "
                      f"the others keep running. Log: {service.log_path}", flush=True)
                if restart:
                    service.next_start = now + delay
                    service.backoff = min(service.backoff * 2, MAX_BACKOFF_SECONDS)
                else:
                    service.process = None
            elif service.next_start is not None and now >= service.next_start:
                service.restarts += 1
                service.start(envs[service.name])
                _write_state(data_dir, endpoints, services, bus)
                print(f"!! service {service.name} restarted (pid {service.process.pid if service.process else '-'},"
                      f" restart #{service.restarts})", flush=True)


@contextlib.contextmanager
def _postgres(args: argparse.Namespace, data_dir: Path) -> Iterator[tuple[str, str]]:
    if args.pg_dsn:
        yield args.pg_dsn, f"external: {args.pg_dsn}"
        return
    with EmbeddedPostgres(data_dir / "postgres") as server:
        yield server.dsn, f"embedded, data in {server.data_dir} (DSN {server.dsn})"


def _host_port(url: str) -> tuple[str, int]:
    rest = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, _, port = rest.partition(":")
    return host or LOCALHOST, int(port or 4222)


def run(args: argparse.Namespace) -> int:
    store = StoreSettings()
    data_dir: Path = (args.data_dir or store.data_dir).expanduser().resolve()
    args.pg_dsn = args.pg_dsn or store.pg_dsn
    args.nats_url = args.nats_url or bootstrap.configured_nats_url()
    logs_dir, mail_dir = data_dir / "logs", data_dir / "mail"
    for directory in (data_dir, logs_dir, mail_dir):
        directory.mkdir(parents=True, exist_ok=True)

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            print(f"\nstopping ({signal.Signals(signum).name}) …", flush=True)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    services = [Service(name, argv, logs_dir / f"{name}.log") for name, argv in SERVICES]
    catcher: MailCatcher | None = None
    try:
        consumers = [name.removeprefix("consume-") for name, _ in SERVICES if name.startswith("consume-")]
        with _postgres(args, data_dir) as (pg_dsn, pg_location), UpBus.open(
                data_dir, external_url=args.nats_url, port=args.nats_port, registry_path=args.registry,
                consumers=consumers, say=lambda line: print(line, flush=True)) as bus:
            nats_url, nats_location = bus.url, bus.location
            log.info("up.servers", postgres=pg_location, nats=nats_url, nats_pid=bus.pid)
            _prepare_read_models(pg_dsn, store.pg_schema or "public")
            smtp_port = args.smtp_port if args.smtp_port else free_port()
            catcher = MailCatcher(mail_dir, smtp_port)
            catcher.start()
            api_port = args.api_port
            if port_answers(LOCALHOST, api_port):
                print(f"prosperity up: port {api_port} is in use; pass --api-port", file=sys.stderr)
                return 2
            endpoints = Endpoints(pg_dsn=pg_dsn, pg_schema=store.pg_schema, pg_location=pg_location,
                                  nats_url=nats_url, nats_location=nats_location,
                                  api_url=f"http://{LOCALHOST}:{api_port}", smtp_port=smtp_port,
                                  mail_dir=mail_dir, logs_dir=logs_dir)
            env = _service_env(endpoints, api_port, data_dir)
            envs = {service.name: env | bus.env_for(service.name) for service in services}  # each its own identity
            for service in services:
                if service.name != "api":
                    port = _ops_port(service.name)
                    service.ops_url = f"http://{LOCALHOST}:{port}"
                    envs[service.name]["PROSPERITY_OPS_PORT"] = str(port)
            try:
                for service in services:
                    service.start(envs[service.name])
                failures = _wait_healthy(services, endpoints, _host_port(nats_url), stop, args.start_timeout)
                if failures:
                    for failure in failures:
                        print(f"prosperity up: {failure}", file=sys.stderr)
                    print(f"prosperity up: logs in {logs_dir}", file=sys.stderr)
                    return 1
                _write_state(data_dir, endpoints, services, bus)
                _print_ready(endpoints, services, data_dir)
                log.info("up.ready", api=endpoints.api_url)
                _supervise(services, envs, stop, restart=not args.no_restart, data_dir=data_dir, endpoints=endpoints,
                           bus=bus)
            except Stopped:
                pass
            finally:
                for service in reversed(services):
                    service.stop()
                catcher.stop()
                with contextlib.suppress(OSError):
                    state_path(data_dir).unlink()
                log.info("up.services.stopped")
    except (RuntimeError, OSError, ValueError) as error:  # a server that cannot start (its port is taken by another
        # `up`), or an agency registry that does not validate
        print(f"prosperity up: {error}", file=sys.stderr)
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("prosperity stopped; data kept in", data_dir, flush=True)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="where data, logs and mail live (default PROSPERITY_DATA_DIR "
                                                      "or var)")
    parser.add_argument("--pg-dsn", help="use this PostgreSQL (default PROSPERITY_PG_DSN, else embedded)")
    parser.add_argument("--nats-url", help="use this NATS with JetStream (default PROSPERITY_NATS_URL, else embedded)")
    parser.add_argument("--nats-port", type=arguments.port, default=DEFAULT_NATS_PORT,
                        help=f"port of the embedded nats-server (default {DEFAULT_NATS_PORT})")
    parser.add_argument("--registry", type=Path, help="agency registry for the embedded nats-server's accounts "
                                                      "(default deploy/nats/agencies.toml)")
    parser.add_argument("--api-port", type=arguments.port, default=bootstrap.api_port(),
                        help=f"port of the HTTP API (default PROSPERITY_API_PORT or {DEFAULT_API_PORT})")
    parser.add_argument("--smtp-port", type=arguments.port_or_any, default=DEFAULT_SMTP_PORT,
                        help=f"port of the mail catcher (default {DEFAULT_SMTP_PORT}; 0 = any free port)")
    parser.add_argument("--start-timeout", type=float, default=60.0, help="seconds to wait for all to be healthy")
    parser.add_argument("--no-restart", action="store_true", help="report a dead service but do not restart it")
