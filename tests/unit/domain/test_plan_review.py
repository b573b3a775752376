"""T4: a support plan version names its own review times (seed 000); the next review is never already past."""

from __future__ import annotations

from datetime import date

from domain.case_iceland import next_review
from domain.values import ProviderRole, SupportPlanContent


def plan(review_dates: tuple[date, ...], valid_to: date = date(2026, 8, 31)) -> SupportPlanContent:
    return SupportPlanContent("doc:needs", ("doc:objective",), (ProviderRole("org:school", "doc:role"),),
                              "team_review", date(2024, 3, 1), valid_to, review_dates)


def test_the_next_review_is_the_earliest_review_date_not_yet_past_when_the_version_is_adopted() -> None:
    content = plan((date(2024, 9, 1), date(2025, 3, 1), date(2025, 9, 1)))
    assert next_review(content, date(2024, 3, 1)) == date(2024, 9, 1)
    assert next_review(content, date(2024, 9, 9)) == date(2025, 3, 1)
    assert next_review(content, date(2025, 3, 1)) == date(2025, 3, 1)


def test_a_version_whose_review_dates_are_all_past_is_next_reviewed_when_it_expires() -> None:
    assert next_review(plan((date(2024, 9, 1),)), date(2024, 9, 9)) == date(2026, 8, 31)
    assert next_review(plan(()), date(2024, 9, 9)) == date(2026, 8, 31)
