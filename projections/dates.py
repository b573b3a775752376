"""Total date, time, number and text helpers: what the projections assume of a recorded fact, made safe.

A projection must apply every fact a published contract accepts (``contracts.recorded``), and that is wider than
what commands accept today (``domain.bounds``): a fact recorded by v1, or written around the API, may carry any
calendar date (``0001-01-01``), an instant whose UTC time falls outside what Python can hold (``0001-01-01T00:00
+14:00``), any text a JSON string can hold (``\\x00`` included) and an episode number of any size. Naive
arithmetic on those raises (``OverflowError``; v1's dashboard and notifications did, and stalled), and PostgreSQL
refuses NUL in ``text`` and ``jsonb``. So the projections do their arithmetic and shape their values here:
saturating at the ends of the calendar, converting what a column cannot hold into the nearest value it can. For a
fact inside the bounds commands accept, every function here is the plain operation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

MAX_BIGINT = 2**63 - 1
EARLIEST_INSTANT = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LATEST_INSTANT = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
"""A day inside Python's range on either side: an instant stored between them reads back in any time zone."""


def instant(at: datetime) -> datetime:
    """The same instant in UTC, or the nearest one Python can read back from a ``timestamptz`` column."""
    try:
        utc = at.astimezone(UTC)
    except OverflowError:
        return EARLIEST_INSTANT if at.year < 5000 else LATEST_INSTANT
    return min(max(utc, EARLIEST_INSTANT), LATEST_INSTANT)


def local_day(at: datetime, zone: tzinfo | None) -> date:
    """The calendar day ``at`` falls on in ``zone`` (its UTC day without one); at the very ends of the calendar,
    where the zone's day does not exist in Python, the instant's own day."""
    try:
        return (at.astimezone(zone) if zone is not None else at.astimezone(UTC)).date()
    except OverflowError:
        return at.date()


def shift(day: date, days: int) -> date:
    """``day`` moved by ``days``, stopping at the first or last day of the calendar."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def calendar_date(year: int, month: int, day: int) -> date | None:
    """The date, or None where it is not one (a year before 1 or after 9999)."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


def bigint(value: int) -> int:
    """An integer as a ``bigint`` column holds it: one beyond the range is stored as the range's end."""
    return max(-MAX_BIGINT - 1, min(value, MAX_BIGINT))


def text(value: str) -> str:
    """Text as PostgreSQL ``text`` and ``jsonb`` hold it: NUL (which neither can) becomes U+FFFD."""
    return value.replace("\x00", "\ufffd")


def texts(values: dict[str, Any]) -> dict[str, Any]:
    """Every string value of a mapping as :func:`text` makes it."""
    return {key: text(value) if isinstance(value, str) else value for key, value in values.items()}
