"""services/log.py: structlog renders the libraries' stdlib records as it renders ours, JSON in production, and no
colour codes unless the output is a terminal."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from services.log import LIBRARY_LOGGERS, configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("library", LIBRARY_LOGGERS)
def test_json_lines_for_our_events_and_every_library_logger(library: str) -> None:
    out = io.StringIO()
    configure_logging("json", stream=out)
    structlog.get_logger("relay").info("relay.leading", position=3)
    logging.getLogger(library).warning("connection %s lost", "nats-1")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["event"], line["level"]) for line in lines] == [("relay.leading", "info"),
                                                                  ("connection nats-1 lost", "warning")]
    assert lines[0]["position"] == 3 and lines[0]["logger"] == "relay" and lines[1]["logger"] == library
    assert all(line["timestamp"].endswith("Z") for line in lines)


def test_exceptions_are_one_json_line() -> None:
    out = io.StringIO()
    configure_logging("json", stream=out)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("eventsourcing").exception("failed")
        structlog.get_logger().exception("ours.failed")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2 and all("ValueError: boom" in line["exception"] for line in lines)


def test_no_colour_codes_in_a_file_and_colour_on_a_terminal() -> None:
    to_file, to_terminal = io.StringIO(), Terminal()
    configure_logging("console", stream=to_file)
    structlog.get_logger().warning("consumer.retry", delivered=2)
    logging.getLogger("uvicorn.error").error("port in use")
    assert "consumer.retry" in to_file.getvalue() and "port in use" in to_file.getvalue()
    assert "\x1b[" not in to_file.getvalue()
    structlog.reset_defaults()
    configure_logging("console", stream=to_terminal)
    structlog.get_logger().warning("consumer.retry")
    assert "\x1b[" in to_terminal.getvalue()


def test_debug_is_filtered_at_info() -> None:
    out = io.StringIO()
    configure_logging("json", stream=out)
    structlog.get_logger().debug("hidden")
    logging.getLogger("psycopg.pool").debug("hidden too")
    assert out.getvalue() == ""
