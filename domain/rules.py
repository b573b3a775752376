"""Rule helpers shared by both laws' modules: the lifecycle check and age arithmetic."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from enum import Enum

from domain.errors import RuleViolation


def require_state(rule_id: str, command: str, state: Enum, allowed: Collection[Enum]) -> None:
    """The lifecycle of domain.md §2.2 / §2.4: a command is only valid in the states it leaves from."""
    if state not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise RuleViolation(
            rule_id,
            f"{command} is not allowed while the case is {state.value}.",
            remedy=f"It is allowed when the case is one of: {names}.",
        )


def birthday(birth_date: date, years: int) -> date:
    """The date a person turns ``years``; a 29 February birthday falls on 1 March in common years."""
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:
        return date(birth_date.year + years, 3, 1)


def age_in_years(birth_date: date, on: date) -> int:
    years = on.year - birth_date.year
    return years - 1 if (on.month, on.day) < (birth_date.month, birth_date.day) else years
