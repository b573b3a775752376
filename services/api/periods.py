"""Dates in read queries: ``YYYY-MM-DD`` within DATE-1 as in commands (the routers type them ``CalendarDate``),
today by default, and periods whose end is not before their start."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.bounds import EARLIEST_DATE as EARLIEST
from domain.bounds import LATEST_DATE as LATEST
from domain.errors import InvalidValue
from projections.dashboard import queries as dash_q

DAY_RULE = f"YYYY-MM-DD, {EARLIEST} to {LATEST} (DATE-1)."
"""What a date in a query must be, for its OpenAPI description."""


def day(name: str, value: date | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    if not EARLIEST <= value <= LATEST:
        raise InvalidValue(name, f"DATE-1: must be between {EARLIEST} and {LATEST}")
    return value


def period(start: date | None, end: date | None) -> dash_q.Period:
    first = dash_q.ALL_TIME[0] if start is None else day("from", start)
    last = dash_q.ALL_TIME[1] if end is None else day("to", end)
    if first > last:
        raise InvalidValue("to", "must not be before from")
    return first, last
