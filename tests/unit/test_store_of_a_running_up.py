"""A command given only the data directory of a running ``prosperity up`` uses that system's store (the black-box
probe's ``deadletters list`` started an empty embedded PostgreSQL there and answered about it, silently)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import bootstrap
from services.up import state_path


def write_state(data_dir: Path, pid: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    state_path(data_dir).write_text(json.dumps({"pid": pid, "pg_dsn": "postgresql://u@127.0.0.1:1/db",
                                                "pg_schema": "up_schema"}))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("PROSPERITY_PG_DSN", "PROSPERITY_PG_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROSPERITY_DATA_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


@pytest.fixture
def alive() -> Iterator[int]:
    """The pid of a process that runs for the test (the ``up`` the state file names)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def test_the_store_of_the_up_running_in_the_data_directory_is_used(data_dir: Path, alive: int) -> None:
    write_state(data_dir, pid=alive)
    settings = bootstrap.store_settings()
    assert (settings.pg_dsn, settings.pg_schema) == ("postgresql://u@127.0.0.1:1/db", "up_schema")


def test_the_state_of_an_up_that_is_gone_or_unreadable_is_ignored(data_dir: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_state(data_dir, pid=gone.pid)
    assert bootstrap.store_settings().pg_dsn is None
    state_path(data_dir).write_text("{not json")
    assert bootstrap.store_settings().pg_dsn is None


def test_a_dsn_given_wins_over_the_running_up(data_dir: Path, alive: int, monkeypatch: pytest.MonkeyPatch) -> None:
    write_state(data_dir, pid=alive)
    monkeypatch.setenv("PROSPERITY_PG_DSN", "postgresql://mine@127.0.0.1:2/other")
    assert bootstrap.store_settings().pg_dsn == "postgresql://mine@127.0.0.1:2/other"
