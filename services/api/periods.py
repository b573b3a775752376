"""Dates in read queries: bounded (1900-2199), today by default, and periods whose end is not before their start."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.errors import InvalidValue
from projections.dashboard import queries as dash_q

EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)


def day(name: str, value: date | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    if not EARLIEST <= value <= LATEST:
        raise InvalidValue(name, f"must be between {EARLIEST} and {LATEST}")
    return value


def period(start: date | None, end: date | None) -> dash_q.Period:
    first = dash_q.ALL_TIME[0] if start is None else day("from", start)
    last = dash_q.ALL_TIME[1] if end is None else day("to", end)
    if first > last:
        raise InvalidValue("to", "must not be before from")
    return first, last
