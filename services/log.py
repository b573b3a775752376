"""Structured logs via structlog, for our loggers and the libraries' alike: one format, one line an event.

Our code logs through structlog; uvicorn, faststream, nats-py, psycopg(_pool) and eventsourcing log through the
standard library. Both go through the same processors and renderer: structlog's own events are handed to the
stdlib root handler (``wrap_for_formatter``) and rendered there by structlog's ``ProcessorFormatter``, which
also formats every foreign (stdlib) record (structlog's documented "render everything with structlog" set-up).

* ``console`` (the default): readable, coloured only when stderr is a terminal; ``prosperity up`` writes each
  service's stderr to a log file, and files get no ANSI codes.
* ``json``: one JSON object a line (production, deploy/ sets ``PROSPERITY_LOG_FORMAT=json``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, Literal, TextIO

import orjson
import structlog

from services.observability.tracing import add_trace_ids

LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "faststream.access", "nats",
                   "psycopg", "psycopg.pool", "eventsourcing")
"""Loggers of the libraries we run under: their handlers are removed so their records reach the root handler."""

SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    add_trace_ids,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def renderer(log_format: Literal["console", "json"], stream: TextIO) -> structlog.types.Processor:
    if log_format == "json":  # orjson: a tenth of the stdlib encoder's time for a request's line
        return structlog.processors.JSONRenderer(serializer=_orjson_text)
    return structlog.dev.ConsoleRenderer(colors=_is_terminal(stream))


def _orjson_text(event: Any, default: Callable[[Any], Any] | None = None) -> str:
    return orjson.dumps(event, default=default, option=orjson.OPT_NON_STR_KEYS).decode()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def configure_logging(log_format: Literal["console", "json"] = "console", level: int = logging.INFO,
                      stream: TextIO | None = None) -> None:
    """Route structlog's and the standard library's records through one formatter on ``stream`` (stderr)."""
    out = stream or sys.stderr
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*SHARED, structlog.stdlib.ExtraAdder(), _drop_colour],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info if log_format == "json" else _keep,
                    renderer(log_format, out)],
    )
    handler = logging.StreamHandler(out) if stream is not None else _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for existing in list(library.handlers):
            library.removeHandler(existing)
        library.propagate = True
        library.disabled = False  # a dictConfig elsewhere (uvicorn's default) may have disabled it
        library.setLevel(logging.NOTSET)  # the root's level decides, one level for all
    # but psycopg_pool tells every connection borrowed and returned at INFO: three lines per transaction,
    # which drown everything else (and fill a pipe nobody reads); they stay at DEBUG's bidding.
    logging.getLogger("psycopg.pool").setLevel(logging.WARNING if level > logging.DEBUG else logging.DEBUG)
    structlog.configure(
        processors=[*SHARED, structlog.processors.format_exc_info
                    if log_format == "json" else _keep, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


def _drop_colour(logger: object, method: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    """uvicorn adds ``color_message`` (its message with ANSI codes) to its records: never into a log line."""
    event.pop("color_message", None)
    return event


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record (a test's capture replaces it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the stream is always the current stderr."""


def _keep(logger: object, method: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    """The console renderer formats exceptions itself (with its own, readable traceback)."""
    return event
