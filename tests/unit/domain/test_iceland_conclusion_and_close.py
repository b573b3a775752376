"""Iceland, rows 23-29 of domain.md §2.3: the team concludes (with or without a plan, at age-out), the
notice of a conclusion without a plan, complaints to GEV and their outcome, majority, and closing."""

from __future__ import annotations

from datetime import date

import pytest

from domain import farsaeld
from domain.case_iceland import IcelandCase, IcelandStatus
from domain.errors import RuleViolation
from domain.legal_settings import LegalSettings
from domain.values import AdultServiceHandover, ComplainantCapacity, ComplaintSubject, TeamOutcome
from tests.unit.domain.builders import (
    CASE_MANAGER,
    COORDINATOR,
    GEV_CLERK,
    IS_18TH_BIRTHDAY,
    IS_MOTHER,
    IS_PARENTS,
    PROVIDER_REP,
    SETTINGS,
    ctx,
    event_names,
    iceland_case,
    last_event,
    refused,
)

S = IcelandStatus


def conclude(case: IcelandCase, outcome: TeamOutcome, justification: str | None = "doc:justification-1", *,
             override: str | None = None, settings: LegalSettings = SETTINGS, days: int = 200) -> None:
    case.conclude_support_team(ctx(CASE_MANAGER, days), outcome=outcome, justification_doc_ref=justification,
                               settings=settings, override_reason_code=override)


def complain(case: IcelandCase, complaint_id: str = "gev-1", *,
             capacity: ComplainantCapacity = ComplainantCapacity.USER,
             subject: ComplaintSubject = ComplaintSubject.TEAM_CONCLUDED_WITHOUT_PLAN) -> None:
    case.record_complaint(ctx(GEV_CLERK, 220), complaint_id=complaint_id, complainant_ref=IS_MOTHER,
                          complainant_capacity=capacity, subject=subject, external_ref="gev-portal-123")


# ---- row 23: concluding the team (IS-INV-6, IS-SM, IS-R23) -----------------------------------------------
def test_a_team_whose_goals_are_met_closes_the_case() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    conclude(case, TeamOutcome.GOALS_MET)

    assert case.status is S.CLOSED
    assert not case.is_open
    assert event_names(case)[-1] == "SupportTeamConcluded"


def test_a_team_may_end_without_a_plan_only_with_a_written_justification() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-INV-6"):
        conclude(case, TeamOutcome.CONCLUDED_WITHOUT_PLAN, justification=None)


def test_a_team_with_an_active_plan_does_not_conclude_without_a_plan() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-SM"):
        conclude(case, TeamOutcome.CONCLUDED_WITHOUT_PLAN)


def test_goals_are_met_only_under_an_adopted_plan() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-SM"):
        conclude(case, TeamOutcome.GOALS_MET)


def test_the_team_does_not_conclude_at_age_out_without_an_adult_transition_plan() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-R23"):
        conclude(case, TeamOutcome.AGE_OUT)


def test_an_age_out_without_a_transition_plan_needs_an_override_the_settings_allow() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-R23"):
        conclude(case, TeamOutcome.AGE_OUT, override="family_moved_abroad",
                 settings=LegalSettings(age_out_override_allowed=False))

    conclude(case, TeamOutcome.AGE_OUT, override="family_moved_abroad")
    assert last_event(case, "SupportTeamConcluded").override_reason_code == "family_moved_abroad"
    assert case.status is S.CLOSED


def test_with_an_adult_transition_plan_the_team_concludes_at_age_out() -> None:
    case = iceland_case(S.PLAN_ACTIVE)
    case.adopt_adult_transition_plan(ctx(CASE_MANAGER, on=date(2027, 3, 1)), plan_id="transition-1",
                                     adult_service_handovers=(AdultServiceHandover("org:adult-services", "lead"),),
                                     young_person_participated=True, settings=SETTINGS)

    conclude(case, TeamOutcome.AGE_OUT, days=460)

    assert case.status is S.CLOSED


def test_a_withdrawal_ends_the_team_only_through_the_familys_withdrawal() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-R23"):
        conclude(case, TeamOutcome.WITHDRAWN)


def test_only_the_case_manager_concludes_the_support_team() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R14"):
        case.conclude_support_team(ctx(PROVIDER_REP, 200), outcome=TeamOutcome.CONCLUDED_WITHOUT_PLAN,
                                   justification_doc_ref="doc:justification-1", settings=SETTINGS)


def test_a_team_that_is_not_established_does_not_conclude() -> None:
    case = iceland_case(S.TEAM_FORMING)

    with refused(case, "IS-R19c"):
        conclude(case, TeamOutcome.CONCLUDED_WITHOUT_PLAN)


# ---- row 24: the notice of a conclusion without a plan (IS-INV-6, IS-R24) ----------------------------
def test_a_conclusion_without_a_plan_notifies_the_parents_and_the_case_manager_with_gev_complaint_info() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    conclude(case, TeamOutcome.CONCLUDED_WITHOUT_PLAN)

    assert case.status is S.CLOSED_WITHOUT_PLAN
    assert event_names(case)[-2:] == ["SupportTeamConcluded", "TeamConclusionNotified"]
    notice = last_event(case, "TeamConclusionNotified")
    assert notice.recipient_refs == (*IS_PARENTS, CASE_MANAGER.person_ref)
    assert notice.justification_doc_ref == "doc:justification-1"
    assert notice.complaint_info_included is True
    assert notice.complaint_body == "GEV"


@pytest.mark.parametrize(
    ("recipients", "justification"),
    [
        ((IS_MOTHER, CASE_MANAGER.person_ref), "doc:justification-1"),  # a parent left out
        (IS_PARENTS, "doc:justification-1"),  # the case manager left out
        ((*IS_PARENTS, CASE_MANAGER.person_ref), None),  # no justification
    ],
)
def test_the_conclusion_notice_must_reach_both_parents_and_the_case_manager_with_the_justification(
        recipients: tuple[str, ...], justification: str | None) -> None:
    """IS-R24 cannot be broken through the aggregate: it computes the recipients itself and IS-INV-6 has already
    required the justification. The rule is shown refusing on its own, as the aggregate calls it."""
    with pytest.raises(RuleViolation) as error:
        farsaeld.require_conclusion_notice(recipients, IS_PARENTS, CASE_MANAGER.person_ref, justification)
    assert error.value.rule_id == "IS-R24"


# ---- rows 25-26: complaints to GEV (IS-R25, IS-R25b, IS-R26) --------------------------------------------
def test_the_parents_complaint_about_a_conclusion_without_a_plan_is_recorded_after_the_case_closed() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)
    conclude(case, TeamOutcome.CONCLUDED_WITHOUT_PLAN)

    complain(case)

    lodged = last_event(case, "ComplaintLodged")
    assert (lodged.body, lodged.subject) == ("GEV", ComplaintSubject.TEAM_CONCLUDED_WITHOUT_PLAN)


def test_gev_accepts_complaints_only_from_the_user_or_their_representative() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)
    conclude(case, TeamOutcome.CONCLUDED_WITHOUT_PLAN)

    with refused(case, "IS-R25"):
        complain(case, capacity=ComplainantCapacity.OTHER)


def test_a_complaint_about_a_conclusion_without_a_plan_needs_such_a_conclusion() -> None:
    case = iceland_case(S.PLAN_ACTIVE)
    conclude(case, TeamOutcome.GOALS_MET)

    with refused(case, "IS-R25b"):
        complain(case)

    complain(case, subject=ComplaintSubject.SERVICE_QUALITY)


def test_a_complaint_is_recorded_once() -> None:
    case = iceland_case(S.PLAN_ACTIVE)
    complain(case, subject=ComplaintSubject.SERVICE_QUALITY)

    with refused(case, "IS-R25"):
        complain(case, subject=ComplaintSubject.OTHER)


def test_gevs_outcome_is_recorded_once_for_a_recorded_complaint() -> None:
    case = iceland_case(S.PLAN_ACTIVE)
    complain(case, subject=ComplaintSubject.SERVICE_QUALITY)

    with refused(case, "IS-R26"):
        case.record_complaint_outcome(ctx(GEV_CLERK, 300), complaint_id="gev-unknown",
                                      outcome_summary_ref="doc:gev-report-1")

    case.record_complaint_outcome(ctx(GEV_CLERK, 300), complaint_id="gev-1", outcome_summary_ref="doc:gev-report-1",
                                  recommendation_codes=("improve_meeting_minutes",),
                                  deadline_for_improvement=date(2027, 3, 1))
    assert case.complaints == {"gev-1": True}

    with refused(case, "IS-R26"):
        case.record_complaint_outcome(ctx(GEV_CLERK, 301), complaint_id="gev-1",
                                      outcome_summary_ref="doc:gev-report-2")


# ---- row 28: majority (IS-R28) ---------------------------------------------------------------------------
def test_on_the_18th_birthday_the_episode_closes_and_records_whether_a_transition_plan_existed() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    case.record_majority(ctx(COORDINATOR, on=IS_18TH_BIRTHDAY), settings=SETTINGS)

    assert case.status is S.CLOSED
    assert case.closed_on == IS_18TH_BIRTHDAY
    assert last_event(case, "ChildReachedMajority").transition_plan_existed is False


def test_majority_is_not_recorded_before_the_18th_birthday() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-R28"):
        case.record_majority(ctx(COORDINATOR, on=date(2027, 6, 14)), settings=SETTINGS)


def test_majority_needs_the_childs_birth_date() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1, birth_date=None)

    with refused(case, "IS-R28"):
        case.record_majority(ctx(COORDINATOR, on=IS_18TH_BIRTHDAY), settings=SETTINGS)


def test_majority_is_recorded_once() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    case.record_majority(ctx(COORDINATOR, on=IS_18TH_BIRTHDAY), settings=SETTINGS)

    with refused(case, "IS-SM"):
        case.record_majority(ctx(COORDINATOR, on=date(2027, 6, 16)), settings=SETTINGS)


# ---- row 29: closing the case (IS-R29) -------------------------------------------------------------------
def test_a_coordinator_led_case_closes_when_no_team_works_on_it() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    case.close_case(ctx(COORDINATOR, 90), closure_reason="needs_met_at_level_1")

    assert case.status is S.CLOSED
    assert event_names(case)[-1] == "CaseClosed"


@pytest.mark.parametrize("stage", [S.TEAM_ACTIVE_NO_PLAN, S.PLAN_ACTIVE])
def test_a_case_is_not_closed_while_its_support_team_is_active(stage: IcelandStatus) -> None:
    case = iceland_case(stage)

    with refused(case, "IS-R29"):
        case.close_case(ctx(CASE_MANAGER, 90), closure_reason="needs_met")


def test_a_closed_case_is_not_closed_again() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    case.close_case(ctx(COORDINATOR, 90), closure_reason="needs_met_at_level_1")

    with refused(case, "IS-SM"):
        case.close_case(ctx(COORDINATOR, 91), closure_reason="needs_met_at_level_1")


def test_a_withdrawn_case_is_not_closed_again() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    case.withdraw_integration_request(ctx(COORDINATOR, 5), request_id="req-1", withdrawn_by_ref=IS_MOTHER)

    with refused(case, "IS-SM"):
        case.close_case(ctx(COORDINATOR, 6), closure_reason="withdrawn")
