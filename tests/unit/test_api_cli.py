"""``prosperity token`` mints a dev token the API accepts (and lists the roles and the claims each needs);
``prosperity api`` takes --host and --port, and refuses to start in production mode with a weak key."""

from __future__ import annotations

import pytest

from domain.values import Actor, Jurisdiction, Role
from services.api.app import create_app
from services.api.identity import TokenVerifier
from services.api.settings import ApiSettings, ProductionConfigError
from services.casework.application import Casework
from services.cli import build_parser, main


def test_token_subcommand_mints_a_token_the_api_verifies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "case_manager", "--person", "person:cm-1", "--org", "org:x"]) == 0
    token = capsys.readouterr().out.strip()
    assert TokenVerifier(ApiSettings()).actor(token) == Actor("person:cm-1", Role.CASE_MANAGER, "org:x")


def test_token_subcommand_refuses_unknown_roles_and_malformed_refs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "king", "--person", "person:cm-1"]) == 2
    assert main(["token", "--role", "parent", "--person", "Jón"]) == 2
    assert capsys.readouterr().out == ""


def test_api_subcommand_arguments() -> None:
    args = build_parser().parse_args(["api", "--host", "0.0.0.0", "--port", "9000"])
    assert (args.command, args.host, args.port) == ("api", "0.0.0.0", 9000)


def test_token_help_lists_every_role_and_the_claims_it_needs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["token", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for role in Role:
        assert role.value in text
    assert "municipality_lead (needs --org, --muni)" in text and "supervisor (needs --org, --jurisdiction)" in text


def test_token_carries_municipality_and_jurisdiction_claims(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "municipality_lead", "--person", "person:lead-1", "--org", "org:th",
                 "--muni", "muni:reykjavik"]) == 0
    lead = TokenVerifier(ApiSettings()).actor(capsys.readouterr().out.strip())
    assert (lead.municipality_ref, lead.org_ref) == ("muni:reykjavik", "org:th")
    assert main(["token", "--role", "supervisor", "--person", "person:gev-1", "--org", "org:gev",
                 "--jurisdiction", "IS"]) == 0
    assert TokenVerifier(ApiSettings()).actor(capsys.readouterr().out.strip()).jurisdiction == Jurisdiction.ICELAND
    # a staff token without what its role needs is not minted
    assert main(["token", "--role", "municipality_lead", "--person", "person:lead-1", "--org", "org:th"]) == 2
    assert "needs muni" in capsys.readouterr().err


def test_production_mode_mints_no_development_tokens(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PROSPERITY_ENV", "production")
    monkeypatch.setenv("PROSPERITY_API_JWT_SECRET", "a-production-secret-of-at-least-32-bytes!")
    assert main(["token", "--role", "parent", "--person", "person:p-1"]) == 2
    assert "not minted" in capsys.readouterr().err


@pytest.mark.parametrize(("secret", "reason"), [
    (None, "development token key"), ("", "none is set"), ("short-secret", "shorter than 32 bytes")],
    ids=["development-key", "no-key", "short-key"])
def test_the_api_refuses_to_start_in_production_with_a_weak_key(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 secret: str | None, reason: str) -> None:
    monkeypatch.setenv("PROSPERITY_ENV", "production")
    if secret is not None:
        monkeypatch.setenv("PROSPERITY_API_JWT_SECRET", secret)
    assert main(["api", "--port", "1"]) == 2  # refused before anything starts (no store, no port)
    assert reason in capsys.readouterr().err
    with pytest.raises(ProductionConfigError, match=reason):
        create_app(Casework({"PERSISTENCE_MODULE": "eventsourcing.popo"}), ApiSettings())


def test_the_api_starts_in_production_with_a_strong_key_or_jwks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROSPERITY_ENV", "production")
    monkeypatch.setenv("PROSPERITY_API_JWT_SECRET", "a-production-secret-of-at-least-32-bytes!")
    create_app(Casework({"PERSISTENCE_MODULE": "eventsourcing.popo"}), ApiSettings())
    monkeypatch.setenv("PROSPERITY_API_JWT_SECRET", "")
    monkeypatch.setenv("PROSPERITY_API_JWKS_URL", "https://idp.example/jwks")
    assert ApiSettings().production
    create_app(Casework({"PERSISTENCE_MODULE": "eventsourcing.popo"}), ApiSettings())


def test_report_and_audit_subcommands_parse_and_need_a_token(capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROSPERITY_TOKEN", raising=False)
    args = build_parser().parse_args(["report", "status", "--year", "2025", "--half", "2", "--csv"])
    assert (args.year, args.half, args.csv, args.text) == (2025, 2, True, False)
    assert main(["report", "status", "--year", "2025", "--half", "1"]) == 1
    assert "bearer token is needed" in capsys.readouterr().err
    assert main(["audit", "processing-without-basis"]) == 1
    with pytest.raises(SystemExit):
        build_parser().parse_args(["report", "status", "--year", "2025", "--half", "3"])
