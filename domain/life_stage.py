"""The child's life stage, derived from the birth date (and the school the child attends, where known).

Seed 003 and domain.md §1.3: the coordinator of services is an employee of the health centre from pregnancy
until the child starts preschool or primary school, of the child's preschool, primary or secondary school
while the child attends one, and otherwise of the municipality's social services. The life stage is therefore
not something a caller asserts: where the child's birth date is known it follows from the date (rules
``LIFE-n``), and a caller can only narrow it with what the birth date cannot tell (whether the child attends a
preschool, or no school at all).

School years (Iceland's Compulsory School Act No. 91/2008): a school year runs from 1 August to 31 July;
compulsory schooling begins in the school year starting in the calendar year the child turns 6 and lasts ten
years, so it ends with the school year starting in the year the child turns 15; upper secondary school
(*framhaldsskóli*) follows from the school year starting in the year the child turns 16. A child may start
school a year early or late (art. 15), so a stated school status may lie one school year either side of these
boundaries (:data:`SCHOOL_START_SLACK_YEARS`).

* **LIFE-1** the life stage cited for a coordinator (on contact or on a change of coordinator) must be one the
  child's age, and school status where given, allows (:func:`eligible_life_stages`).
* **LIFE-2** a stated school status must be plausible for the child's age (nobody attends preschool at 16).

Pure functions: no I/O, no clock; the caller passes the day to judge on. Helper of T13 (coordinator handover at
a life-stage change): :func:`next_life_stage_change` gives the next day the age-derived stage changes.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from domain.errors import RuleViolation
from domain.rules import birthday
from domain.values import LifeStage

SCHOOL_YEAR_START_MONTH = 8
"""A school year starts on 1 August (Compulsory School Act No. 91/2008, art. 28)."""

PRIMARY_START_AGE = 6
"""Compulsory schooling starts in the school year beginning in the calendar year the child turns 6."""

PRIMARY_YEARS = 10
"""Ten years of compulsory school (grades 1-10)."""

SCHOOL_START_SLACK_YEARS = 1
"""A child may start school a year earlier or later than the age rule (art. 15), so a stated school status may
lie this many school years either side of the age boundaries."""


class SchoolStatus(StrEnum):
    """What the family says the child attends; the birth date cannot tell preschool attendance or dropping out."""

    NONE = "none"
    PRESCHOOL = "preschool"
    PRIMARY = "primary"
    SECONDARY = "secondary"


def school_year(on: date) -> int:
    """The calendar year the school year containing ``on`` started in."""
    return on.year if on.month >= SCHOOL_YEAR_START_MONTH else on.year - 1


def school_age_stage(birth_date: date | None, on: date) -> LifeStage:
    """The life stage by age alone: pregnancy before birth (no birth date: the family is expecting), then
    infant (health centre) until the school year the child turns 6, primary for ten school years, secondary
    after that."""
    if birth_date is None or on < birth_date:
        return LifeStage.PREGNANCY
    cohort_year = school_year(on) - birth_date.year
    if cohort_year < PRIMARY_START_AGE:
        return LifeStage.INFANT
    if cohort_year < PRIMARY_START_AGE + PRIMARY_YEARS:
        return LifeStage.PRIMARY
    return LifeStage.SECONDARY


def _plausible_years(status: SchoolStatus) -> tuple[int, int | None]:
    """The first and last school year (as years since the birth year) in which ``status`` is plausible."""
    slack = SCHOOL_START_SLACK_YEARS
    primary_end = PRIMARY_START_AGE + PRIMARY_YEARS
    return {
        SchoolStatus.NONE: (-1, None),  # born before August: the birth year's school year began before the birth
        SchoolStatus.PRESCHOOL: (-1, PRIMARY_START_AGE - 1 + slack),
        SchoolStatus.PRIMARY: (PRIMARY_START_AGE - slack, primary_end - 1 + slack),
        SchoolStatus.SECONDARY: (primary_end - slack, None),
    }[status]


def check_school_status(birth_date: date | None, on: date, status: SchoolStatus) -> SchoolStatus:
    """LIFE-2: the stated school status is one a child of this age can have."""
    status = SchoolStatus(status)
    if birth_date is None or on < birth_date:
        raise RuleViolation("LIFE-2", "A child not yet born attends no school.",
                            remedy="Leave the school status out while the family is expecting.")
    cohort_year = school_year(on) - birth_date.year
    if not _plausible(status, cohort_year):
        raise RuleViolation(
            "LIFE-2",
            f"A child in school year {cohort_year} after the birth year does not attend '{status.value}'.",
            remedy="Check the child's birth date and the school the child attends.",
        )
    return status


def derive_life_stage(birth_date: date | None, on: date, school_status: SchoolStatus | None = None) -> LifeStage:
    """The child's life stage on ``on`` (seed 003). Without a school status the age decides; with one, the
    school decides (LIFE-2 checks it is plausible), and a child of school age in no school is served by the
    municipality's social services."""
    if school_status is None:
        return school_age_stage(birth_date, on)
    status = check_school_status(birth_date, on, school_status)
    if status is SchoolStatus.NONE:
        by_age = school_age_stage(birth_date, on)
        return LifeStage.INFANT if by_age is LifeStage.INFANT else LifeStage.SOCIAL_SERVICES
    return {
        SchoolStatus.PRESCHOOL: LifeStage.PRESCHOOL,
        SchoolStatus.PRIMARY: LifeStage.PRIMARY,
        SchoolStatus.SECONDARY: LifeStage.SECONDARY,
    }[status]


def eligible_life_stages(birth_date: date | None, on: date,
                         school_status: SchoolStatus | None = None) -> frozenset[LifeStage]:
    """The life stages a coordinator's assignment may cite on ``on``. With a school status: exactly the derived
    stage. Without one, what the age cannot tell stays open: whether a child under school age attends preschool
    (health centre or preschool), whether the child started school a year early or late (art. 15: each school
    the age makes plausible), and whether a child of school age attends any school (social services, the
    seed's fallback)."""
    if school_status is not None:
        return frozenset({derive_life_stage(birth_date, on, school_status)})
    if birth_date is None or on < birth_date:
        return frozenset({LifeStage.PREGNANCY})
    cohort_year = school_year(on) - birth_date.year
    stages = {stage for status, stage in _SCHOOL_STAGES.items() if _plausible(status, cohort_year)}
    if LifeStage.PRESCHOOL in stages:
        stages.add(LifeStage.INFANT)
    if stages & {LifeStage.PRIMARY, LifeStage.SECONDARY}:
        stages.add(LifeStage.SOCIAL_SERVICES)
    return frozenset(stages)


_SCHOOL_STAGES = {SchoolStatus.PRESCHOOL: LifeStage.PRESCHOOL, SchoolStatus.PRIMARY: LifeStage.PRIMARY,
                  SchoolStatus.SECONDARY: LifeStage.SECONDARY}


def _plausible(status: SchoolStatus, cohort_year: int) -> bool:
    first, last = _plausible_years(status)
    return first <= cohort_year and (last is None or cohort_year <= last)


def require_life_stage_for_age(life_stage: LifeStage, birth_date: date | None, on: date,
                               school_status: SchoolStatus | None = None) -> LifeStage:
    """LIFE-1: the life stage cited for a coordinator is one the child's age (and school status) allows.
    Without a birth date (a family expecting, or a record made without it) there is no age to judge by, so the
    cited stage stands: the check applies wherever the birth date is known."""
    life_stage = LifeStage(life_stage)
    if birth_date is None:
        return life_stage
    allowed = eligible_life_stages(birth_date, on, school_status)
    if life_stage not in allowed:
        names = ", ".join(sorted(stage.value for stage in allowed))
        raise RuleViolation(
            "LIFE-1",
            f"The child's age{' and school' if school_status is not None else ''} give life stage {names}, "
            f"not '{life_stage.value}'.",
            remedy=f"Cite one of: {names}, with a coordinator of the institution serving it.",
        )
    return life_stage


def next_life_stage_change(birth_date: date, on: date) -> tuple[date, LifeStage] | None:
    """The next day after ``on`` the age-derived stage changes, and the stage it changes to (T13): the start of
    the school year the child turns 6 (primary) and 16 (secondary). None once the child is past both."""
    for years, stage in ((PRIMARY_START_AGE, LifeStage.PRIMARY),
                         (PRIMARY_START_AGE + PRIMARY_YEARS, LifeStage.SECONDARY)):
        change = date(birth_date.year + years, SCHOOL_YEAR_START_MONTH, 1)
        if change > on:
            return change, stage
    return None


def life_stages_for_age(age_years: int | None, on: date,
                        school_status: SchoolStatus | None = None) -> frozenset[LifeStage]:
    """The stages a child of ``age_years`` on ``on`` can be at (None: the family is expecting), for the public
    lookup, which asks an age and never a birth date: the union over the oldest and the youngest birth date that
    give that age. LIFE-2 applies to a stated school status as for a birth date."""
    if age_years is None:
        return eligible_life_stages(None, on, school_status)
    oldest = birthday(on, -(age_years + 1)) + timedelta(days=1)
    youngest = birthday(on, -age_years)
    found: set[LifeStage] = set()
    refusals: list[RuleViolation] = []
    for born in (oldest, youngest):
        try:
            found |= eligible_life_stages(born, on, school_status)
        except RuleViolation as refusal:
            refusals.append(refusal)
    if not found:
        raise refusals[0]
    return frozenset(found)
