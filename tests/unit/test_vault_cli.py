"""``prosperity vault``: the subcommands parse and the offline ones answer."""

from __future__ import annotations

import base64

import pytest

from services.cli import build_parser
from services.demo_people import demo_identifiers, identity


def run_vault(argv: list[str]) -> int:
    """A ``prosperity vault`` subcommand as ``main`` dispatches it, without configuring logging: ``main`` binds
    structlog to the (captured, later closed) stderr of this test."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


def test_new_key_prints_a_256_bit_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_vault(["vault", "new-key"]) == 0
    assert len(base64.b64decode(capsys.readouterr().out.strip(), validate=True)) == 32


def test_a_scan_with_nothing_to_look_for_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_vault(["vault", "scan"]) == 2
    assert "nothing to look for" in capsys.readouterr().err


def test_shred_names_its_basis() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["vault", "shred", "person:a", "--basis", "because"])


def test_the_demo_people_are_the_same_every_time_and_shaped_like_their_country() -> None:
    iceland, norway = identity("person:parent-s1-is-0001-a"), identity("person:parent-s1-no-0002-a")
    assert identity("person:parent-s1-is-0001-a") == iceland
    assert len(iceland["national_id"]) == 11 and iceland["national_id"][6] == "-"
    assert len(norway["national_id"]) == 11 and norway["national_id"].isdigit()
    assert iceland["name"] in demo_identifiers(1, 2) and iceland["email"].endswith("@demo.prosperity.invalid")
