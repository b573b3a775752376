"""``prosperity api`` on its own embedded PostgreSQL, stopped the way systemd, docker and ``timeout`` stop it: with
SIGTERM. Found by a black-box probe: uvicorn re-raised the signal after its shutdown and the process died at once,
leaving the PostgreSQL it had started running (the next command found "a postgres server is already running")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.integration.test_api_workers import ROOT, free_port


def processes_under(directory: Path) -> list[int]:
    """Every process whose command line names ``directory`` (the embedded server's data directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(directory).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_sigterm_stops_the_api_and_the_postgresql_it_started(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "api.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PROSPERITY_")}
    env |= {"PROSPERITY_DATA_DIR": str(tmp_path / "var"), "PROSPERITY_ENV": "development"}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "services.cli", "api", "--port", str(port)], cwd=ROOT,
                                   env=env, stdout=out, stderr=out)
    try:
        until = time.monotonic() + 120
        while time.monotonic() < until:
            assert process.poll() is None, log.read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise AssertionError(f"the API did not start: {log.read_text()[-2000:]}")
        assert processes_under(tmp_path / "var" / "postgres"), "no embedded PostgreSQL was started"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
    until = time.monotonic() + 15
    while (left := processes_under(tmp_path / "var" / "postgres")) and time.monotonic() < until:
        time.sleep(0.2)
    for pid in left:  # not to leave a server behind when the test fails
        os.kill(pid, signal.SIGTERM)
    assert left == [], log.read_text()[-2000:]
