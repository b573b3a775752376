"""Strict date and time types for the command contracts, and the ``Occurred-At`` header, from :mod:`domain.bounds`.

Strict means what a careless or hostile client might send instead of a date is refused, not coerced: a number
(``0`` would be 1970-01-01), a date-time where a date is meant, a date without a zone where a time is meant, a
date outside DATE-1's bounds (``0001-01-01``). pydantic's own ``date`` accepts the first two in the mode FastAPI
validates bodies in (Python objects), hence the parsing here. Each refusal names the field (pydantic's location)
and the rule (``DATE-1: …``). The bounds that depend on the case (the fact's own day, the child's birth: DATE-2 to
DATE-4, TIME-1 and TIME-2) are the domain's, checked in its command methods.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator

from domain import bounds
from domain.errors import InvalidValue

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?P<zone>[Zz]|[+-]\d{2}:\d{2})?")
T = TypeVar("T")


def _parse_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("DATE-1: must be a valid calendar date") from None
    raise ValueError("DATE-1: must be a calendar date written YYYY-MM-DD (not a number, not a date-time)")


def parse_instant(value: Any, field: str = "value") -> datetime:
    """An RFC 3339 date-time with a zone (or an aware ``datetime``), within DATE-1; :class:`InvalidValue` if not."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        found = RFC3339.fullmatch(value.strip())
        if found is None:
            raise InvalidValue(field, "DATE-1: must be an RFC 3339 date-time, e.g. 2025-03-04T10:15:00Z")
        if found.group("zone") is None:
            raise InvalidValue(field, "DATE-1: must be timezone-aware (end in Z or an offset such as +00:00)")
        try:
            parsed = datetime.fromisoformat(value.strip().upper().replace(" ", "T"))
        except ValueError:
            raise InvalidValue(field, "DATE-1: must be a valid RFC 3339 date-time") from None
    else:
        raise InvalidValue(field, "DATE-1: must be an RFC 3339 date-time with a zone (not a number)")
    return bounds.check_instant(field, parsed)


def _as_value_error(check: Callable[[str, T], T]) -> Callable[[T], T]:
    def validate(value: T) -> T:
        try:
            return check("value", value)
        except InvalidValue as error:
            raise ValueError(error.rule) from None

    return validate


CalendarDate = Annotated[date, BeforeValidator(_parse_date),
                         AfterValidator(_as_value_error(bounds.check_calendar_date))]
"""A date a caller sends: ``YYYY-MM-DD``, between 1990-01-01 and 2099-12-31 (DATE-1)."""
Instant = Annotated[datetime, BeforeValidator(_as_value_error(lambda field, value: parse_instant(value, field)))]
"""A date-time a caller sends: RFC 3339 with a zone, within DATE-1."""


def occurred_at_header(value: str | None) -> datetime | None:
    """The ``Occurred-At`` header: when the fact happened (DATE-1 here; TIME-1 to TIME-3 are judged by the domain
    and the application against the case and the clock)."""
    return None if value is None else parse_instant(value, "Occurred-At")
