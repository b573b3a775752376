"""``prosperity token`` mints a dev token the API accepts; ``prosperity api`` takes --host and --port."""

from __future__ import annotations

import pytest

from domain.values import Actor, Role
from services.api.identity import TokenVerifier
from services.api.settings import ApiSettings
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
