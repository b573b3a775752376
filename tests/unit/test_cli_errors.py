"""The CLI says what is wrong in one line, before starting anything, instead of a traceback (found by the black-box
probe: `consume bogus` started PostgreSQL, then printed 80 lines; `consume os:system` loaded any callable)."""

from __future__ import annotations

import pytest

from services import cli
from services.consumers.registry import load_projection


@pytest.mark.parametrize("spec", ["bogus", "os:system", "services.relay.relay:Relay", "no.such.module:Thing",
                                  "projections.base:Nothing"])
def test_consume_and_rebuild_refuse_what_is_no_projection_before_any_server_starts(
        spec: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def no_servers(*_: object, **__: object) -> None:
        raise AssertionError("a server was started for a command that cannot run")

    monkeypatch.setattr(cli, "store_dsn", no_servers)
    monkeypatch.setattr(cli, "event_store_env", no_servers)
    for command in ("consume", "rebuild"):
        assert cli.main([command, spec]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and repr(spec) in err and "Traceback" not in err


def test_the_known_projections_load() -> None:
    assert [load_projection(name).name for name in ("dashboard", "audit", "notifications")] == [
        "dashboard", "audit", "notifications"]
    assert load_projection("projections.dashboard.projection:DashboardProjection").name == "dashboard"


def test_an_unreachable_api_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["report", "status", "--year", "2025", "--half", "1", "--token", "x", "--api",
                     "http://127.0.0.1:1"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and "cannot reach the API" in err


@pytest.mark.parametrize("argv", [["deadletters", "retry", "999999"], ["deadletters", "list", "bogus"],
                                  ["deadletters", "resolve", "os:system", "--case",
                                   "6f0c1b2e-8d1f-4c57-9a57-9f1b0a3e2d11", "--reason", "fixed"]])
def test_deadletters_refuse_what_is_no_read_model_in_one_line(
        argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from services.consumers import deadletters

    def no_servers(*_: object, **__: object) -> None:
        raise AssertionError("a server was started for a command that cannot run")

    monkeypatch.setattr(deadletters, "store_dsn", no_servers)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and repr(argv[2]) in err and "Traceback" not in err


def test_the_api_on_a_port_in_use_is_one_line_before_any_server_starts(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from services.api import serve

    def no_servers(*_: object, **__: object) -> None:
        raise AssertionError("a server was started for a command that cannot run")

    monkeypatch.setattr(serve, "store_dsn", no_servers)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["api", "--host", "127.0.0.1", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"prosperity api: cannot listen on 127.0.0.1:{port}: it is already in use"


@pytest.mark.parametrize("argv", [["api", "--port", "99999"], ["api", "--port", "0"], ["up", "--api-port", "70000"],
                                  ["up", "--smtp-port", "-1"], ["up", "--nats-port", "x"]])
def test_a_port_outside_1_to_65535_is_a_usage_error_before_anything_starts(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a black-box probe: ``api --port 99999`` listened on 34463 and logged 99999."""
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "is not a port: a whole number from" in err and "Traceback" not in err
