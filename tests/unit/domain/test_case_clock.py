"""The case's clock (TIME-1, TIME-2) and the dates a command carries (DATE-2 to DATE-4), in the domain.

A fact is not dated before the latest fact of its case (a late entry may go back to that point), nor before the
child's birth; the rules that depend on a date judge it at the fact's date. The check runs when a command records a
fact, never when a case is replayed: a history recorded before the clock existed still loads, and a snapshot taken
then restores without the floor, which the case's next fact sets.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest
from eventsourcing.application import Application

from domain import bounds
from domain.case_iceland import IcelandCase, IcelandStatus
from domain.case_norway import NorwayStatus
from domain.errors import InvalidValue
from domain.values import Context, ViewsMethod
from services.casework.transcodings import DomainJSONTranscoder, register_domain_transcodings
from tests.unit.domain.builders import (
    BUP_ORG,
    CASE_MANAGER,
    COORDINATOR,
    IS_BIRTH_DATE,
    NO_MOTHER,
    NO_STAFF,
    at,
    ctx,
    iceland_case,
    norway_case,
    plan_content,
    register_contact,
)


def invalid(field: str, rule: str) -> Any:
    return pytest.raises(InvalidValue, match=rf"^{field}: {rule}")


# ---- TIME-1 -----------------------------------------------------------------------------------------------
def test_a_fact_dated_before_the_cases_latest_fact_is_refused_and_records_nothing() -> None:
    case = iceland_case(IcelandStatus.INTEGRATION_ACTIVE_L1)
    version, latest, pending = case.version, case.latest_occurred_at, len(case.pending_events)
    assert latest == at(2)
    with invalid("occurred_at", "TIME-1"):
        case.record_child_views(ctx(COORDINATOR, 1), method=ViewsMethod.CONVERSATION, summary_doc_ref="doc:v-1")
    assert (case.version, case.latest_occurred_at, len(case.pending_events)) == (version, latest, pending)


def test_a_late_entry_may_go_back_to_the_latest_fact_and_within_the_clock_tolerance() -> None:
    case = iceland_case(IcelandStatus.INTEGRATION_ACTIVE_L1)
    case.record_child_views(Context(COORDINATOR, at(2)), method=ViewsMethod.CONVERSATION, summary_doc_ref="doc:v-1")
    case.record_child_views(Context(COORDINATOR, at(2) - bounds.CLOCK_SKEW), method=ViewsMethod.DRAWING,
                            summary_doc_ref="doc:v-2")
    assert case.latest_occurred_at == at(2)  # the floor is the latest time, not the last one entered


def test_the_clock_is_checked_for_every_fact_of_both_laws() -> None:
    case = norway_case(NorwayStatus.ACTIVE)
    with invalid("occurred_at", "TIME-1"):
        case.withdraw_consent(ctx(NO_STAFF, 1), consent_id="consent-1", withdrawn_by_ref=NO_MOTHER)
    requested = norway_case(NorwayStatus.REQUESTED)
    with invalid("occurred_at", "TIME-1"):
        requested.close_case(ctx(NO_STAFF, -1), closure_reason="moved")


# ---- TIME-2 and replays -------------------------------------------------------------------------------------
def test_a_fact_before_the_childs_birth_is_refused_even_without_a_floor() -> None:
    case = iceland_case(IcelandStatus.INTEGRATION_ACTIVE_L1)
    case.latest_occurred_at = None  # as restored from a snapshot taken before the clock existed
    born = Context(COORDINATOR, at(0).replace(year=IS_BIRTH_DATE.year, month=IS_BIRTH_DATE.month,
                                              day=IS_BIRTH_DATE.day) - timedelta(days=1))
    with invalid("occurred_at", "TIME-2"):
        case.record_child_views(born, method=ViewsMethod.CONVERSATION, summary_doc_ref="doc:v-1")


class _Cases(Application[Any]):
    snapshotting_intervals = {IcelandCase: 3}  # noqa: RUF012

    def construct_transcoder(self) -> DomainJSONTranscoder:
        transcoder = DomainJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: Any) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)


def test_replay_never_re_judges_history_and_an_old_snapshot_restores_without_a_floor() -> None:
    app = _Cases(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    case = iceland_case(IcelandStatus.INTEGRATION_ACTIVE_L1)
    case.latest_occurred_at = None  # a history recorded before the clock: a later fact dated earlier
    case.record_child_views(ctx(COORDINATOR, 1), method=ViewsMethod.CONVERSATION, summary_doc_ref="doc:v-1")
    app.save(case)
    loaded: IcelandCase = app.repository.get(case.id)
    assert loaded.version == case.version and loaded.latest_occurred_at == at(2)  # replayed, not refused

    assert app.snapshots is not None
    snapshot: Any = next(iter(app.snapshots.get(case.id, desc=True, limit=1)))
    state = dict(snapshot.state)
    state.pop("latest_occurred_at"), state.pop("class_version", None)  # what v1 stored
    restored: Any = dataclasses.replace(snapshot, state=state).mutate(None)
    assert restored.latest_occurred_at is None
    restored.record_child_views(ctx(COORDINATOR, 5), method=ViewsMethod.DRAWING, summary_doc_ref="doc:v-2")
    assert restored.latest_occurred_at == at(5)


# ---- DATE-2 to DATE-4 ---------------------------------------------------------------------------------------
def test_review_dates_before_the_plans_adoption_are_refused_not_dropped() -> None:
    case = iceland_case(IcelandStatus.TEAM_ACTIVE_NO_PLAN)
    early = plan_content(review_dates=(date(2026, 7, 1), at(29).date()))
    with invalid(r"content\.review_dates\.1", "DATE-2"):
        case.adopt_support_plan(ctx(CASE_MANAGER, 30), plan_id="plan-1", content=early)
    far = plan_content(valid_to=date(2032, 1, 1))
    with invalid(r"content\.valid_to", "DATE-2"):
        case.adopt_support_plan(ctx(CASE_MANAGER, 30), plan_id="plan-1", content=far)
    assert case.plan_version is None


def test_planned_dates_are_after_the_fact_and_within_the_horizon() -> None:
    case = iceland_case(IcelandStatus.INTEGRATION_ACTIVE_L1)
    with invalid("planned_date", "DATE-2"):
        case.arrange_initial_assessment(ctx(COORDINATOR, 5), assessor_org_ref=BUP_ORG, planned_date=at(4).date())
    with invalid("planned_date", "DATE-2"):
        case.arrange_initial_assessment(ctx(COORDINATOR, 5), assessor_org_ref=BUP_ORG,
                                        planned_date=bounds.horizon(at(5).date()) + timedelta(days=1))
    case.arrange_initial_assessment(ctx(COORDINATOR, 5), assessor_org_ref=BUP_ORG,
                                    planned_date=bounds.horizon(at(5).date()))


def test_a_service_cannot_start_before_the_child_was_born() -> None:
    case = iceland_case(IcelandStatus.INTEGRATION_ACTIVE_L1)
    with invalid("start_date", "DATE-4"):
        case.record_service(ctx(COORDINATOR, 5), service_id="svc-1", provider_org_ref=BUP_ORG, service_level=2,
                            service_type_code="therapy", start_date=IS_BIRTH_DATE - timedelta(days=1))


@pytest.mark.parametrize(("birth_date", "why"), [(at(1).date(), "after"), (date(1990, 1, 1), "at most 25 years")])
def test_a_birth_date_after_the_day_it_is_recorded_or_long_before_is_refused(birth_date: date, why: str) -> None:
    with invalid("birth_date", f"DATE-3: .*{why}"):
        register_contact(birth_date=birth_date)
