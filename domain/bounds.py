"""The documented bounds of every date and time a caller may send, and the case's clock (rules DATE-n, TIME-n).

One source for the command contracts (``contracts.bounds`` builds their pydantic types from these), the domain's
command methods (which check what depends on the case: its facts so far, the child's birth) and the projections
(``projections.dates``: what a *recorded* fact may hold, which is wider, see :data:`RECORDED_DATES`).

Dates a caller sends (422, naming the field and the rule):

* **DATE-1** a date is a calendar date written ``YYYY-MM-DD`` (never a number, never a date-time), a time is an
  RFC 3339 date-time with a zone; both between :data:`EARLIEST_DATE` and :data:`LATEST_DATE`. 1990 is before any
  child these laws serve was born (a child is under 18, and :data:`MAX_AGE_AT_OPENING_YEARS` bounds older
  records), so nothing real is older; 2099 keeps every computation far from the calendar's end.
* **DATE-2** a planned date (an assessment, a follow-up, a meeting, a review, the end of a plan's period, a
  deadline for improvement, a decision's delivery) is on or after the day of the fact that plans it and at most
  :data:`PLANNING_HORIZON_YEARS` after it. A support plan's review dates therefore never precede its adoption
  (domain.md §3 T4: the plan sets its own review times, from its adoption on).
* **DATE-3** a birth date is not after the day it is recorded, and not more than :data:`MAX_AGE_AT_OPENING_YEARS`
  before it (older persons are adults long past both laws; a typo of the century is refused).
* **DATE-4** a date in a child's history (a service's start or end, the start of a plan's validity) is not before
  the child's birth, nor more than the planning horizon after the fact that records it.

The case's clock (``occurred_at``, the ``Occurred-At`` header):

* **TIME-1** a fact is not dated before the latest fact already recorded for its case (less
  :data:`CLOCK_SKEW`): a late entry is allowed back to that point, no further. The history of a case runs forward,
  so a rule judged at a fact's date (the child's age, IS-G0's active request) was judged on the state the case
  had at that date; a fact slipped in before later ones would have been judged on a state it never had, and the
  as-of views (``services.audit.time_travel``) would not see it. domain.md §2.1: each fact is judged against
  the case as it stands; §5 question 1 asks for the basis *at the time of* each processing.
* **TIME-2** a fact about a child is not dated before the child's birth (a Norwegian request while expecting has
  no birth date yet, and is not bounded by one).
* **TIME-3** a fact is not dated in the future (beyond :data:`CLOCK_SKEW`), nor before :data:`EARLIEST_DATE`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from domain.errors import InvalidValue
from domain.rules import birthday

EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2099, 12, 31)
PLANNING_HORIZON_YEARS = 5
MAX_AGE_AT_OPENING_YEARS = 25
CLOCK_SKEW = timedelta(minutes=5)
"""How far a caller's clock may run ahead of the server's (TIME-3), and how far a fact may precede the latest one
within that tolerance (TIME-1)."""


def check_calendar_date(field: str, value: date) -> date:
    """DATE-1 for a date that has already been parsed strictly (``contracts.bounds`` does the parsing)."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise InvalidValue(field, f"DATE-1: must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


def check_instant(field: str, value: datetime) -> datetime:
    """DATE-1 for a date-time: timezone-aware, and its day within the calendar bounds."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValue(field, "DATE-1: must be timezone-aware (end in Z or an offset such as +00:00)")
    earliest = datetime.combine(EARLIEST_DATE, time.min, tzinfo=value.tzinfo)
    latest = datetime.combine(LATEST_DATE, time.max, tzinfo=value.tzinfo)
    if not earliest <= value <= latest:
        raise InvalidValue(field, f"DATE-1: must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


def horizon(on: date) -> date:
    """The last day a date planned on ``on`` may fall on (DATE-2, DATE-4)."""
    return birthday(on, PLANNING_HORIZON_YEARS)


def check_planned(field: str, value: date, on: date, planned_by: str) -> date:
    """DATE-2: ``value`` is planned by a fact on day ``on`` (``planned_by`` names that fact in the message)."""
    if value < on:
        raise InvalidValue(field, f"DATE-2: a planned date must not be before {planned_by} ({on})")
    if value > horizon(on):
        raise InvalidValue(field, f"DATE-2: a planned date must be at most {PLANNING_HORIZON_YEARS} years after "
                                  f"{planned_by} ({horizon(on)} at the latest)")
    return value


def check_planned_all(field: str, values: tuple[date, ...], on: date, planned_by: str) -> None:
    for index, value in enumerate(values):
        check_planned(f"{field}.{index}", value, on, planned_by)


def check_birth_date(field: str, value: date, on: date) -> date:
    """DATE-3: a birth date recorded on day ``on``."""
    if value > on:
        raise InvalidValue(field, f"DATE-3: a birth date must not be after the day it is recorded ({on})")
    if value < birthday(on, -MAX_AGE_AT_OPENING_YEARS):
        raise InvalidValue(field, f"DATE-3: a birth date must be at most {MAX_AGE_AT_OPENING_YEARS} years before "
                                  f"the day it is recorded ({on})")
    return value


def check_in_history(field: str, value: date, birth_date: date | None, on: date) -> date:
    """DATE-4: a date of the child's history, recorded by a fact on day ``on``."""
    if birth_date is not None and value < birth_date:
        raise InvalidValue(field, f"DATE-4: must not be before the child's birth ({birth_date})")
    if value > horizon(on):
        raise InvalidValue(field, f"DATE-4: must be at most {PLANNING_HORIZON_YEARS} years after the day it is "
                                  f"recorded ({horizon(on)} at the latest)")
    return value


def check_fact_time(occurred_at: datetime, now: datetime) -> datetime:
    """TIME-3: when a fact happened, as a caller says (the ``Occurred-At`` header; ``occurred_at`` inside)."""
    check_instant("occurred_at", occurred_at)
    if occurred_at > now + CLOCK_SKEW:
        raise InvalidValue("occurred_at", "TIME-3: must not be in the future")
    return occurred_at


def check_after_latest_fact(occurred_at: datetime, latest: datetime | None) -> None:
    """TIME-1: not before the latest fact of the case (``latest`` is None for a case restored from a snapshot taken
    before v2 recorded it: such a case gets its floor from its next fact)."""
    if latest is not None and occurred_at < latest - CLOCK_SKEW:
        raise InvalidValue("occurred_at", f"TIME-1: must not be before the latest fact of the case "
                                          f"({latest.isoformat()}); a late entry may go back to that point only")


def check_after_birth(occurred_at: datetime, birth_date: date | None) -> None:
    """TIME-2: a fact about a child is not dated before the child was born."""
    if birth_date is not None and occurred_at.date() < birth_date:
        raise InvalidValue("occurred_at", f"TIME-2: must not be before the child's birth ({birth_date})")
