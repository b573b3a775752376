"""deploy/ cannot be run here (no Docker), so this keeps it honest: every process it starts is a real
``prosperity`` subcommand with a real read model, and every ``PROSPERITY_*`` setting it sets is one a
service actually reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from services.bus.provision import StreamSettings
from services.bus.settings import BusSettings
from services.cli import build_parser
from services.clock.cli import ClockSettings, OpsPort
from services.consumers.registry import load_projection
from services.consumers.runtime import ConsumerSettings
from services.notifier.run import NotifierSettings
from services.relay.stream import RelaySettings
from services.settings import StoreSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
FILES = [DEPLOY / "compose.yaml", DEPLOY / "k8s" / "prosperity.yaml", DEPLOY / "Dockerfile"]
COMMAND = re.compile(r"^\s*-?\s*(?:command|args):\s*\[([^\]]*)\]", re.MULTILINE)


def commands() -> list[list[str]]:
    found = []
    for path in FILES[:2]:
        for match in COMMAND.finditer(path.read_text()):
            tokens = re.findall(r'"([^"]*)"', match.group(1))
            if tokens and not tokens[0].startswith("-"):  # nats-server's own flags, not ours
                found.append(tokens)
    return found


def known_settings() -> set[str]:
    classes: list[type[BaseSettings]] = [StoreSettings, ConsumerSettings, RelaySettings, NotifierSettings,
                                         BusSettings, StreamSettings, ClockSettings, OpsPort]
    return {f"{cls.model_config.get('env_prefix', '')}{name}".upper() for cls in classes for name in cls.model_fields}


def test_deploy_starts_every_process() -> None:
    started = {tuple(command[:2]) if command[0] == "consume" else (command[0],) for command in commands()}
    assert started == {("relay",), ("notifier",), ("consume", "dashboard"), ("consume", "audit"),
                       ("consume", "notifications"), ("nats-provision",), ("clock",)}


def test_every_process_that_uses_the_bus_is_given_its_own_identity_only() -> None:
    """compose: each bus client names the seed of its own identity, and only the provisioning step holds admin's."""
    compose = (DEPLOY / "compose.yaml").read_text()
    for identity in ("relay", "dashboard", "audit", "notifications", "admin"):
        assert compose.count(f"PROSPERITY_NATS_SEED_FILE: /run/secrets/{identity}}}") == 1, identity
    kubernetes = (DEPLOY / "k8s" / "prosperity.yaml").read_text()
    for identity in ("relay", "dashboard", "audit", "notifications"):
        assert kubernetes.count(f"value: /var/run/prosperity/{identity}.nk") == 1, identity
        assert kubernetes.count(f"items: [{{key: {identity}.nk, path: {identity}.nk}}]") == 1, identity
    assert kubernetes.count("prosperity-bus-admin") == 2  # created (comment) and mounted by the Job only


@pytest.mark.parametrize("command", commands(), ids=" ".join)
def test_every_deployed_command_is_a_real_subcommand(command: list[str]) -> None:
    args = build_parser().parse_args(command)
    if args.command in {"consume", "rebuild"}:
        assert load_projection(args.projection).name == args.projection


def test_every_deployed_setting_is_read_by_a_service() -> None:
    used = {name for path in FILES for name in re.findall(r"\bPROSPERITY_[A-Z_]+\b", path.read_text())}
    assert used, "deploy/ sets no PROSPERITY_* settings"
    assert used <= known_settings(), f"unknown settings: {sorted(used - known_settings())}"
