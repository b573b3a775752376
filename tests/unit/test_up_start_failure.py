"""``prosperity up``: a service that dies while the system starts is reported with the end of its own log, so the
reason is on the screen (CI once saw only "clock exited during start-up (see its log)")."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from services import up
from services.infra.embedded import free_port


def test_a_service_dying_during_start_up_is_reported_with_the_end_of_its_log(tmp_path: Path) -> None:
    log = tmp_path / "clock.log"
    log.write_text("a line of an earlier run\n")
    service = up.Service(name="clock", args=("clock", "--no-such-option"), log_path=log)
    service.start({**os.environ})
    endpoints = up.Endpoints(pg_dsn="", pg_schema=None, pg_location="", nats_url="", nats_location="",
                             api_url=f"http://127.0.0.1:{free_port()}", smtp_port=0, mail_dir=tmp_path,
                             logs_dir=tmp_path)
    (failure,) = up._wait_healthy([service], endpoints, ("127.0.0.1", free_port()), threading.Event(), timeout=60)
    assert failure.startswith("clock exited during start-up with code 2; the end of its log:")
    assert "unrecognized arguments: --no-such-option" in failure and "earlier run" not in failure


def test_an_empty_or_missing_log_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_text("an earlier run\n")
    assert up._log_tail(tmp_path / "empty.log", start=15) == "    (it wrote nothing to its log)"
    assert "cannot be read" in up._log_tail(tmp_path / "missing.log")
