"""Dates the dashboard counts by: the local day of a fact, age bands from a birth year, half-years.

Pure functions, no I/O: the projection and the queries share them, and the unit tests pin them down.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from projections import dates

ZONES = {"IS": ZoneInfo("Atlantic/Reykjavik"), "NO": ZoneInfo("Europe/Oslo")}
"""A deadline counts days where the case is: a Norwegian fact at 00:30 local time is on that local day."""

AGE_BANDS: tuple[str, ...] = ("0-5", "6-12", "13-15", "16-17", "18+", "unknown")
"""Preschool age, primary school, lower-secondary, upper-secondary minors, adults, no birth year [I]."""

Half = Literal[1, 2]


def local_day(at: datetime, jurisdiction: str | None) -> date:
    """The calendar day ``at`` falls on in the jurisdiction (UTC for a fact without one); total over every instant
    a recorded fact may hold (:mod:`projections.dates`)."""
    return dates.local_day(at, ZONES.get(jurisdiction or ""))


def age_in_year(birth_year: int, on: date) -> int:
    """The age the child reaches during ``on``'s calendar year. The contracts publish the birth *year*
    only (contracts.events, privacy), so ages are "age this year", as in annual statistics."""
    return on.year - birth_year


def age_band(birth_year: int | None, on: date) -> str:
    """The band of :data:`AGE_BANDS` a child born in ``birth_year`` is in on ``on``."""
    if birth_year is None:
        return "unknown"
    age = age_in_year(birth_year, on)
    if age < 0:
        return "unknown"
    if age <= 5:
        return "0-5"
    if age <= 12:
        return "6-12"
    if age <= 15:
        return "13-15"
    if age <= 17:
        return "16-17"
    return "18+"


def age_band_sql(birth_year: str, on: str) -> str:
    """The same bands as :func:`age_band`, as a SQL expression over a birth-year column and a date parameter."""
    age = f"(extract(year FROM {on}::date)::int - {birth_year})"
    return (f"CASE WHEN {birth_year} IS NULL OR {age} < 0 THEN 'unknown' WHEN {age} <= 5 THEN '0-5'"
            f" WHEN {age} <= 12 THEN '6-12' WHEN {age} <= 15 THEN '13-15' WHEN {age} <= 17 THEN '16-17'"
            " ELSE '18+' END")


def half_year(year: int, half: Half) -> tuple[date, date]:
    """The first and last day of a half-year: Jan 1 - Jun 30, or Jul 1 - Dec 31 (Reykjavík reports, seed 004)."""
    if half == 1:
        return date(year, 1, 1), date(year, 6, 30)
    if half == 2:
        return date(year, 7, 1), date(year, 12, 31)
    raise ValueError(f"half must be 1 or 2, not {half!r}")


def report_date(year: int, half: Half) -> date:
    """The day a half-year's status report carries: July 1 for the first half, January 1 for the second."""
    return date(year, 7, 1) if half == 1 else date(year + 1, 1, 1)


def transition_window_birth_years(on: date) -> tuple[int, int]:
    """The first and last birth year of children who may be aged 16.5 to under 18 on ``on``.

    With the birth year only (the published contract), the watch list must be conservative: a child is on
    it when *any* birth date in the year puts them in the window (born after ``on`` minus 18 years and on
    or before ``on`` minus 16.5 years), so nobody due an adult transition plan is missed (domain.md §3 T5).
    """
    not_yet_18 = _months_before(on, 18 * 12) + timedelta(days=1)
    at_least_16_5 = _months_before(on, 16 * 12 + 6)
    return not_yet_18.year, at_least_16_5.year


def _months_before(on: date, months: int) -> date:
    """``on`` moved back by whole months; a day that does not exist in the target month becomes its last day."""
    year, month = divmod(on.year * 12 + (on.month - 1) - months, 12)
    day = on.day
    while True:
        try:
            return date(year, month + 1, day)
        except ValueError:
            day -= 1
