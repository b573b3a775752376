"""The wheel-based servers, tested even when the session uses external ones: fresh machines rely on them."""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg
import pytest

from services.infra.embedded import EmbeddedNats, EmbeddedPostgres, port_answers


def test_postgres_keeps_data_across_restarts(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path / "pg") as server, psycopg.connect(server.dsn) as conn:
        conn.execute("CREATE TABLE kept (note text)")
        conn.execute("INSERT INTO kept VALUES ('survives')")
    with EmbeddedPostgres(tmp_path / "pg") as server, psycopg.connect(server.dsn) as conn:
        row = conn.execute("SELECT current_database(), note FROM kept").fetchone()
    assert row == ("prosperity", "survives")


def test_nats_stops_on_exit(tmp_path: Path) -> None:
    with EmbeddedNats(tmp_path / "nats") as server:
        assert port_answers(server.host, server.port)
    assert not port_answers(server.host, server.port)


def test_nats_that_cannot_start_reports_its_log(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))  # bound, not listening: the port is taken yet does not answer
        port = blocker.getsockname()[1]
        with pytest.raises(RuntimeError, match="address already in use"):
            EmbeddedNats(tmp_path / "nats", port).start()
