"""services/ops.py's port rules and answers, in process (the real processes are tested in
tests/integration/test_ops.py): a taken default falls back to a free port, a taken explicit port is an error;
a check that raises fails readiness with the error's type, never its message."""

from __future__ import annotations

import contextlib
import socket

import httpx
import pytest

from services import ops
from services.ops import Check, OpsSettings


def test_a_default_port_held_by_another_replica_falls_back_to_a_free_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROSPERITY_OPS_PORT", raising=False)
    default = ops.DEFAULT_PORTS["relay"]
    holder = socket.socket()
    try:
        with contextlib.suppress(OSError):  # already held by another process on this machine: as good
            holder.bind(("127.0.0.1", default))
            holder.listen()
        with ops.serving("relay", OpsSettings(), ready={"relay": lambda: Check(True)}) as server:
            assert server.port != default
            assert httpx.get(f"{server.url}/ready", timeout=5).status_code == 200
        with pytest.raises(OSError, match="PROSPERITY_OPS_PORT"):
            ops.start("relay", OpsSettings(ops_port=default), ready={})
    finally:
        holder.close()


def test_the_default_port_is_the_contracts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROSPERITY_OPS_PORT", raising=False)
    assert OpsSettings().port_for("consume-audit") == 9103
    assert OpsSettings(ops_port=9100).port_for("consume-audit") == 9100


def test_ready_names_each_check_and_a_raising_check_fails_by_its_type() -> None:
    def broken() -> Check:
        raise ConnectionRefusedError("secret host detail")

    with ops.serving("notifier", OpsSettings(ops_port=0), ready={"smtp": broken, "postgres": lambda: Check(True)},
                     live={"workers": lambda: Check(True, {"threads": 3})}) as server:
        ready = httpx.get(f"{server.url}/ready", timeout=5)
        assert ready.status_code == 503
        assert ready.json() == {"status": "failing", "process": "notifier",
                                "checks": {"smtp": {"ok": False, "error": "ConnectionRefusedError"},
                                           "postgres": {"ok": True}}}
        health = httpx.get(f"{server.url}/health", timeout=5)
        assert health.status_code == 200 and health.json()["checks"] == {"workers": {"ok": True, "threads": 3}}
        metrics = httpx.get(f"{server.url}/metrics", timeout=5)
        assert metrics.status_code == 200 and "python_info" in metrics.text
