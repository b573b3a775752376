"""The dashboard's pure parts: suppression, percentiles, age bands and half-years, and the projection's
promise that each fact writes only its own aggregate's rows (what makes it order-tolerant)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.dashboard.calendar import (
    AGE_BANDS,
    age_band,
    half_year,
    local_day,
    report_date,
    transition_window_birth_years,
)
from projections.dashboard.projection import DashboardProjection
from projections.dashboard.stats import percentile_cont, suppress
from services.casework.application import Casework
from services.consumers.replay import published_events
from services.walkthrough import iceland_lifecycle, norway_lifecycle


# ---- small-cell suppression --------------------------------------------------------------------------
@pytest.mark.parametrize(("count", "shown"), [(0, "0"), (1, "<5"), (4, "<5"), (5, "5"), (123, "123")])
def test_counts_of_one_to_four_are_suppressed_and_zero_stays_zero(count: int, shown: str) -> None:
    assert suppress(count) == shown


def test_the_suppression_threshold_is_configurable_and_counts_are_never_negative() -> None:
    assert suppress(9, threshold=10) == "<10"
    assert suppress(10, threshold=10) == "10"
    with pytest.raises(ValueError):
        suppress(-1)
    with pytest.raises(ValueError):
        suppress(3, threshold=0)


# ---- percentiles -------------------------------------------------------------------------------------
def test_percentile_of_nothing_is_none_like_postgresql_null() -> None:
    assert percentile_cont([], 0.5) is None


def test_percentile_of_one_value_is_that_value_at_every_fraction() -> None:
    assert {percentile_cont([7], f) for f in (0.0, 0.5, 0.9, 1.0)} == {7.0}


def test_percentile_interpolates_linearly_between_ranks() -> None:
    assert percentile_cont([2, 7], 0.5) == 4.5
    assert percentile_cont([2, 7], 0.9) == pytest.approx(6.5)
    assert percentile_cont([5, 1, 3], 0.5) == 3.0  # unsorted input
    assert percentile_cont([1, 2, 3, 4], 0.9) == pytest.approx(3.7)
    assert percentile_cont([-3, 3], 0.5) == 0.0  # T4 lateness can be negative (early evaluations)


def test_percentile_ends_are_the_minimum_and_maximum() -> None:
    assert percentile_cont([4, 1, 9], 0.0) == 1.0
    assert percentile_cont([4, 1, 9], 1.0) == 9.0


@pytest.mark.parametrize("fraction", [-0.1, 1.1])
def test_percentile_fraction_outside_zero_to_one_is_refused(fraction: float) -> None:
    with pytest.raises(ValueError):
        percentile_cont([1, 2], fraction)


@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=40), st.floats(0, 1), st.floats(0, 1))
def test_percentile_stays_within_the_values_and_grows_with_the_fraction(values: list[int], a: float, b: float) -> None:
    low, high = sorted((a, b))
    p_low, p_high = percentile_cont(values, low), percentile_cont(values, high)
    assert p_low is not None and p_high is not None
    assert min(values) <= p_low <= p_high + 1e-9 <= max(values) + 1e-9


# ---- ages, days and half-years -----------------------------------------------------------------------
@pytest.mark.parametrize(("birth_year", "band"), [
    (2025, "0-5"), (2020, "0-5"), (2019, "6-12"), (2013, "6-12"), (2012, "13-15"), (2010, "13-15"),
    (2009, "16-17"), (2008, "16-17"), (2007, "18+"), (None, "unknown"), (2027, "unknown")])
def test_age_bands_use_the_age_reached_in_the_year(birth_year: int | None, band: str) -> None:
    assert age_band(birth_year, date(2025, 6, 1)) == band
    assert band in AGE_BANDS


def test_half_years_and_their_report_dates_follow_reykjavik() -> None:
    assert half_year(2025, 1) == (date(2025, 1, 1), date(2025, 6, 30))
    assert half_year(2025, 2) == (date(2025, 7, 1), date(2025, 12, 31))
    assert report_date(2025, 1) == date(2025, 7, 1)
    assert report_date(2025, 2) == date(2026, 1, 1)


def test_a_norwegian_fact_just_after_midnight_counts_on_its_local_day() -> None:
    late_utc = datetime(2025, 3, 4, 23, 30, tzinfo=UTC)
    assert local_day(late_utc, "NO") == date(2025, 3, 5)
    assert local_day(late_utc, "IS") == date(2025, 3, 4)
    assert local_day(late_utc, None) == date(2025, 3, 4)


@pytest.mark.parametrize(("on", "years"), [
    (date(2026, 1, 1), (2008, 2009)),  # born after 2008-01-01 (not 18) and by 2009-07-01 (16.5)
    (date(2026, 6, 1), (2008, 2009)),
    (date(2025, 12, 31), (2008, 2009)),  # 18 on 2025-12-31 if born 2007-12-31: only 2008 on is under 18
    (date(2026, 8, 31), (2008, 2010)),  # 16.5 if born by 2010-02-28 (no 31 February)
])
def test_the_transition_window_covers_every_birth_year_that_may_be_16_5_to_18(
        on: date, years: tuple[int, int]) -> None:
    assert transition_window_birth_years(on) == years


# ---- the projection writes only its own aggregate's rows ---------------------------------------------
class RefusingView:
    """A view that fails if read: ``apply`` must need nothing but the event and SQL."""

    def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> tuple[Any, ...] | None:
        raise AssertionError("apply read the view")

    def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        raise AssertionError("apply read the view")

    def remembered(self, case_id: Any) -> dict[str, Any]:
        return {}  # remembers nothing: every apply reads what it needs, as in a transaction of its own


def test_every_statement_is_keyed_by_the_facts_own_aggregate() -> None:
    app = Casework(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    iceland_lifecycle(app)
    norway_lifecycle(app)
    projection, seen = DashboardProjection(), set()
    for event in published_events(app):
        for statement in projection.apply(event, RefusingView()):
            params = statement.params.values() if isinstance(statement.params, dict) else statement.params
            assert event.case_id in list(params), (event.event_type, statement.sql)
            assert statement.sql.split()[0] in {"INSERT", "UPDATE"}
            seen.add(event.event_type)
    assert {"contact_registered", "support_plan_revised", "complaint_received", "institution_registered"} <= seen
