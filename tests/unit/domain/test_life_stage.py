"""The life stage derived from the birth date and school status (seed 003; rules LIFE-1, LIFE-2)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import RuleViolation
from domain.life_stage import (
    SchoolStatus,
    check_school_status,
    derive_life_stage,
    eligible_life_stages,
    life_stages_for_age,
    next_life_stage_change,
    require_life_stage_for_age,
    school_year,
)
from domain.values import LifeStage

BORN = date(2010, 3, 1)
"""A child who turns 16 in 2026: in upper secondary school from 1 August 2026."""


def test_the_school_year_starts_on_the_first_of_august() -> None:
    assert school_year(date(2026, 7, 31)) == 2025
    assert school_year(date(2026, 8, 1)) == 2026


@pytest.mark.parametrize(("on", "stage"), [
    (date(2010, 2, 1), LifeStage.PREGNANCY),
    (date(2010, 3, 1), LifeStage.INFANT),
    (date(2016, 7, 31), LifeStage.INFANT),
    (date(2016, 8, 1), LifeStage.PRIMARY),
    (date(2026, 7, 31), LifeStage.PRIMARY),
    (date(2026, 8, 1), LifeStage.SECONDARY),
    (date(2027, 12, 2), LifeStage.SECONDARY),
])
def test_the_age_alone_gives_health_centre_then_primary_then_secondary(on: date, stage: LifeStage) -> None:
    assert derive_life_stage(BORN, on) is stage


def test_no_birth_date_is_a_family_expecting() -> None:
    assert derive_life_stage(None, date(2026, 12, 2)) is LifeStage.PREGNANCY


@pytest.mark.parametrize(("on", "status", "stage"), [
    (date(2013, 1, 1), SchoolStatus.PRESCHOOL, LifeStage.PRESCHOOL),
    (date(2013, 1, 1), SchoolStatus.NONE, LifeStage.INFANT),
    (date(2020, 1, 1), SchoolStatus.NONE, LifeStage.SOCIAL_SERVICES),
    (date(2026, 12, 2), SchoolStatus.NONE, LifeStage.SOCIAL_SERVICES),
    (date(2026, 12, 2), SchoolStatus.SECONDARY, LifeStage.SECONDARY),
    (date(2016, 9, 1), SchoolStatus.PRESCHOOL, LifeStage.PRESCHOOL),  # school start deferred a year
    (date(2015, 9, 1), SchoolStatus.PRIMARY, LifeStage.PRIMARY),  # started a year early
])
def test_the_school_decides_where_the_family_states_it(on: date, status: SchoolStatus, stage: LifeStage) -> None:
    assert derive_life_stage(BORN, on, status) is stage


@pytest.mark.parametrize(("on", "status"), [
    (date(2026, 12, 2), SchoolStatus.PRESCHOOL),
    (date(2012, 1, 1), SchoolStatus.PRIMARY),
    (date(2020, 1, 1), SchoolStatus.SECONDARY),
    (date(2028, 9, 1), SchoolStatus.PRIMARY),
])
def test_a_school_status_the_age_rules_out_is_refused(on: date, status: SchoolStatus) -> None:
    with pytest.raises(RuleViolation) as refusal:
        check_school_status(BORN, on, status)
    assert refusal.value.rule_id == "LIFE-2"


def test_a_child_not_yet_born_attends_no_school() -> None:
    with pytest.raises(RuleViolation, match="LIFE-2"):
        derive_life_stage(None, date(2026, 1, 1), SchoolStatus.NONE)


def test_without_a_school_status_what_the_age_cannot_tell_stays_open() -> None:
    assert eligible_life_stages(BORN, date(2013, 1, 1)) == {LifeStage.INFANT, LifeStage.PRESCHOOL}
    assert eligible_life_stages(BORN, date(2020, 1, 1)) == {LifeStage.PRIMARY, LifeStage.SOCIAL_SERVICES}
    assert eligible_life_stages(BORN, date(2027, 12, 2)) == {LifeStage.SECONDARY, LifeStage.SOCIAL_SERVICES}


def test_a_year_either_side_of_a_school_start_both_schools_are_possible() -> None:
    """Art. 15: a child may start school a year early or late, so near a boundary the age allows both."""
    assert eligible_life_stages(BORN, date(2016, 9, 1)) == {LifeStage.INFANT, LifeStage.PRESCHOOL,
                                                             LifeStage.PRIMARY, LifeStage.SOCIAL_SERVICES}
    assert eligible_life_stages(BORN, date(2026, 12, 2)) == {LifeStage.PRIMARY, LifeStage.SECONDARY,
                                                              LifeStage.SOCIAL_SERVICES}
    assert eligible_life_stages(None, date(2026, 12, 2)) == {LifeStage.PREGNANCY}
    assert eligible_life_stages(BORN, date(2020, 1, 1), SchoolStatus.NONE) == {LifeStage.SOCIAL_SERVICES}


def test_a_sixteen_year_old_is_refused_an_infant_health_centre_coordinator() -> None:
    with pytest.raises(RuleViolation) as refusal:
        require_life_stage_for_age(LifeStage.INFANT, BORN, date(2026, 12, 2))
    assert refusal.value.rule_id == "LIFE-1"
    assert "secondary" in refusal.value.reason


def test_a_stated_school_narrows_the_stages_a_coordinator_may_cite() -> None:
    with pytest.raises(RuleViolation, match="LIFE-1"):
        require_life_stage_for_age(LifeStage.PRIMARY, BORN, date(2020, 1, 1), SchoolStatus.NONE)
    assert require_life_stage_for_age(LifeStage.SOCIAL_SERVICES, BORN, date(2020, 1, 1),
                                      SchoolStatus.NONE) is LifeStage.SOCIAL_SERVICES


def test_without_a_birth_date_the_cited_stage_stands() -> None:
    assert require_life_stage_for_age(LifeStage.SECONDARY, None, date(2026, 12, 2)) is LifeStage.SECONDARY


def test_the_next_change_is_the_start_of_the_school_year_the_child_turns_6_then_16() -> None:
    assert next_life_stage_change(BORN, date(2012, 5, 5)) == (date(2016, 8, 1), LifeStage.PRIMARY)
    assert next_life_stage_change(BORN, date(2016, 8, 1)) == (date(2026, 8, 1), LifeStage.SECONDARY)
    assert next_life_stage_change(BORN, date(2026, 8, 1)) is None


@given(born=st.dates(date(1990, 1, 1), date(2090, 1, 1)), days=st.integers(0, 25 * 366))
def test_the_derived_stage_is_always_eligible_and_changes_only_on_the_next_change(born: date, days: int) -> None:
    on = date.fromordinal(born.toordinal() + days)
    stage = derive_life_stage(born, on)
    assert stage in eligible_life_stages(born, on)
    change = next_life_stage_change(born, on)
    if change is not None:
        day, new_stage = change
        assert derive_life_stage(born, date.fromordinal(day.toordinal() - 1)) is stage
        assert derive_life_stage(born, day) is new_stage


def test_an_age_in_years_gives_the_stages_of_its_oldest_and_youngest_birth_dates() -> None:
    on = date(2026, 12, 2)
    assert life_stages_for_age(None, on) == {LifeStage.PREGNANCY}
    assert life_stages_for_age(0, on) == {LifeStage.INFANT, LifeStage.PRESCHOOL}
    assert LifeStage.INFANT not in life_stages_for_age(16, on)
    assert life_stages_for_age(16, on, SchoolStatus.NONE) == {LifeStage.SOCIAL_SERVICES}
    assert life_stages_for_age(10, on) == {LifeStage.PRIMARY, LifeStage.SOCIAL_SERVICES}


def test_an_age_and_a_school_the_age_rules_out_are_refused() -> None:
    with pytest.raises(RuleViolation, match="LIFE-2"):
        life_stages_for_age(3, date(2026, 12, 2), SchoolStatus.SECONDARY)
