"""The API's worker processes, each listening on its own ``SO_REUSEPORT`` socket, under a small supervisor.

Why not uvicorn's own ``--workers`` supervisor: it binds one socket in the parent and every worker accepts from
it, and asyncio accepts every pending connection in one go when its loop wakes. Keep-alive clients that connect
together (a load balancer's pool, the benchmark's 32 clients) then stay with whichever worker woke first: 30 of 32
connections on one of two workers was measured here (issue 14), so one core served almost everything while the
other idled. With ``SO_REUSEPORT`` each worker has its own listening socket and the kernel spreads new
connections over them by their addresses. What uvicorn's supervisor did besides is kept: a worker that dies is
replaced, one that cannot start (its exit code ``STARTUP_FAILURE``) stops the API, and SIGTERM or SIGINT stops
the workers gracefully (each uvicorn server finishes its requests and runs the app's lifespan shutdown).

Linux lets sockets of the same user share a port this way; two APIs started by mistake on one port by the same
user would share its connections instead of the second failing to start.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import threading
from multiprocessing.process import BaseProcess
from typing import Any

import structlog

log = structlog.get_logger()
STARTUP_FAILURE = 3
"""uvicorn's exit code for a server that failed before serving (``uvicorn.config.STARTUP_FAILURE``)."""
STOP_SECONDS = 30.0


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that other workers of this user may bind too (uvicorn listens on it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def run_worker(host: str, port: int) -> None:
    """One worker process: its own socket, one uvicorn server over ``services.api.serve.build``."""
    import uvicorn

    # No uvicorn access log: its line has the raw path (case ids, whatever a caller put in a URL); the request log
    # (services.api.request_log) writes one with the route template.
    config = uvicorn.Config("services.api.serve:build", factory=True, loop="uvloop", http="httptools",
                            log_config=None, access_log=False, host=host, port=port)
    try:
        sock = listening_socket(host, port)
    except OSError as error:
        log.error("api.worker.bind_failed", host=host, port=port, error=str(error))
        raise SystemExit(STARTUP_FAILURE) from error
    uvicorn.Server(config).run(sockets=[sock])


def supervise(count: int, host: str, port: int) -> int:
    """Run ``count`` workers until SIGTERM or SIGINT; replace any that dies. Returns the exit code."""
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    code = 0

    def stop(signum: int, _: Any) -> None:
        log.info("api.stopping", signal=signal.Signals(signum).name)
        stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)

    def start() -> BaseProcess:
        process = context.Process(target=run_worker, args=(host, port), name="prosperity-api-worker")
        process.start()
        return process

    processes = [start() for _ in range(count)]
    log.info("api.workers_started", workers=count, host=host, port=port, pids=[p.pid for p in processes])
    while not stopping.wait(0.5):
        for index, process in enumerate(processes):
            if process.is_alive():
                continue
            if process.exitcode == STARTUP_FAILURE:
                log.error("api.worker_failed_to_start", pid=process.pid)
                stopping.set()
                code = STARTUP_FAILURE
                break
            log.warning("api.worker_died", pid=process.pid, exitcode=process.exitcode)
            processes[index] = start()
    _stop_all(processes)
    return code


def _stop_all(processes: list[BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn's graceful shutdown
    for process in processes:
        process.join(STOP_SECONDS)
        if process.is_alive():
            log.warning("api.worker_killed", pid=process.pid)
            process.kill()
            process.join()
