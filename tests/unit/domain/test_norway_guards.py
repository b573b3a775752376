"""Norway, domain.md §2.4: the barnekoordinator right (pbrl § 2-5 c, hol § 7-2 a): who may request it, the
assessment, the written decision, consent, appointment, what the coordinator may instruct, the individual
plan (forskrift § 19), complaints (pbrl ch. 7), majority and closing. Every guard refuses and records nothing."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.case_norway import NorwayCase, NorwayStatus
from domain.values import (
    Actor,
    Decision,
    EligibilityCriteria,
    FamilyStatus,
    InstructionType,
    ReconsiderationOutcome,
    StatsforvalterenOutcome,
)
from tests.unit.domain.builders import (
    BARNEKOORDINATOR,
    COORDINATING_UNIT,
    HABILITATION_ORG,
    NO_18TH_BIRTHDAY,
    NO_MOTHER,
    NO_STAFF,
    SETTINGS,
    STATSFORVALTER_CLERK,
    appoint_barnekoordinator,
    assess,
    at,
    consent,
    ctx,
    event_names,
    individual_plan,
    last_event,
    norway_case,
    refused,
    rejected_as_invalid,
    request_barnekoordinator,
)

N = NorwayStatus


def issue(case: NorwayCase, decision: Decision, decision_id: str = "dec-2", *, written: bool = True,
          justification: str | None = "doc:justification-2", appeal_info: bool = True,
          delivered_at: datetime | None = None, days: int = 30) -> None:
    case.issue_decision(ctx(NO_STAFF, days), decision_id=decision_id, decision=decision, written=written,
                        justification_doc_ref=justification, appeal_info_included=appeal_info,
                        delivered_at=delivered_at or at(days), settings=SETTINGS)


def instruct(case: NorwayCase, instruction_type: InstructionType = InstructionType.MEETING_ATTENDANCE,
             actor: Actor = BARNEKOORDINATOR) -> None:
    case.issue_coordination_instruction(ctx(actor, 25), target_service_org_ref=HABILITATION_ORG,
                                        instruction_type=instruction_type, detail_doc_ref="doc:instruction-1")


def receive_complaint(case: NorwayCase, complaint_id: str = "klage-1", decision_id: str = "dec-1",
                      days: int = 20) -> None:
    case.receive_complaint(ctx(NO_STAFF, days), complaint_id=complaint_id, decision_id=decision_id,
                           received_by_ref=COORDINATING_UNIT, settings=SETTINGS)


def reconsider(case: NorwayCase, outcome: ReconsiderationOutcome, complaint_id: str = "klage-1",
               days: int = 25) -> None:
    case.reconsider_complaint(ctx(NO_STAFF, days), complaint_id=complaint_id, outcome=outcome,
                              reasons_doc_ref="doc:reconsideration-1")


def refused_case_with_complaint() -> NorwayCase:
    case = norway_case(N.REFUSED)
    receive_complaint(case)
    return case


# ---- the request (NO-R1) ---------------------------------------------------------------------------------
def test_a_request_for_a_child_needs_the_childs_birth_date() -> None:
    with refused(None, "NO-R1"):
        request_barnekoordinator(birth_date=None)


def test_the_barnekoordinator_right_is_for_families_with_a_child_under_18() -> None:
    with refused(None, "NO-R1"):
        request_barnekoordinator(birth_date=date(2007, 1, 1))


def test_a_family_expecting_a_child_may_request_before_the_child_is_born() -> None:
    case = request_barnekoordinator(birth_date=None, family_status=FamilyStatus.EXPECTING_PREGNANCY)

    case.assess_eligibility(ctx(NO_STAFF, 7), criteria=EligibilityCriteria(True, True, True),
                            diagnosis_required=False, family_views_doc_ref="doc:family-views-1",
                            child_views_doc_ref=None)

    assert case.status is N.ASSESSED


# ---- the assessment (NO-R2, NO-R2b) ----------------------------------------------------------------------
def test_the_assessment_may_not_require_a_diagnosis() -> None:
    case = norway_case(N.REQUESTED)

    with refused(case, "NO-R2"):
        case.assess_eligibility(ctx(NO_STAFF, 7), criteria=EligibilityCriteria(True, True, True),
                                diagnosis_required=True, family_views_doc_ref="doc:family-views-1",
                                child_views_doc_ref="doc:child-views-1")


@pytest.mark.parametrize(("family_views", "child_views"), [(None, "doc:child-views-1"), ("doc:family-views-1", None)])
def test_the_assessment_records_the_views_of_the_family_and_of_the_child(family_views: str | None,
                                                                        child_views: str | None) -> None:
    case = norway_case(N.REQUESTED)

    with refused(case, "NO-R2b"):
        case.assess_eligibility(ctx(NO_STAFF, 7), criteria=EligibilityCriteria(True, True, True),
                                diagnosis_required=False, family_views_doc_ref=family_views,
                                child_views_doc_ref=child_views)


def test_the_right_is_assessed_once_per_request() -> None:
    case = norway_case(N.ASSESSED)

    with refused(case, "NO-SM"):
        assess(case, days=8)


# ---- the decision (NO-R3, NO-R3b, NO-SM) ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("written", "justification", "appeal_info"),
    [(False, "doc:justification-2", True), (True, None, True), (True, "", True), (True, "doc:justification-2", False)],
)
def test_a_decision_is_written_with_reasons_and_information_on_the_right_to_complain(
        written: bool, justification: str | None, appeal_info: bool) -> None:
    case = norway_case(N.ASSESSED)

    with refused(case, "NO-R3"):
        issue(case, Decision.GRANTED, written=written, justification=justification, appeal_info=appeal_info)


def test_a_decision_is_issued_once() -> None:
    case = norway_case(N.ACTIVE)

    with refused(case, "NO-R3"):
        issue(case, Decision.TERMINATED, decision_id="dec-1")


@pytest.mark.parametrize(
    "criteria",
    [EligibilityCriteria(False, True, True), EligibilityCriteria(True, False, True),
     EligibilityCriteria(True, True, False)],
)
def test_a_barnekoordinator_is_granted_only_when_every_condition_is_met(criteria: EligibilityCriteria) -> None:
    case = norway_case(N.REQUESTED)
    assess(case, criteria)

    with refused(case, "NO-R3b"):
        issue(case, Decision.GRANTED)

    issue(case, Decision.REFUSED)
    assert case.status is N.REFUSED


def test_no_decision_before_the_assessment() -> None:
    case = norway_case(N.REQUESTED)

    with refused(case, "NO-SM"):
        issue(case, Decision.GRANTED)


def test_only_an_active_coordinator_is_changed() -> None:
    case = norway_case(N.ASSESSED)

    with refused(case, "NO-SM"):
        issue(case, Decision.CHANGED)


def test_a_refusal_stands_until_a_complaint_changes_it() -> None:
    case = norway_case(N.REFUSED)

    with refused(case, "NO-SM"):
        issue(case, Decision.GRANTED)


def test_a_refusal_upheld_by_statsforvalteren_still_stands() -> None:
    case = refused_case_with_complaint()
    reconsider(case, ReconsiderationOutcome.NOT_UPHELD)
    case.forward_complaint(ctx(NO_STAFF, 26), complaint_id="klage-1")
    case.record_statsforvalteren_decision(ctx(STATSFORVALTER_CLERK, 60), complaint_id="klage-1",
                                          outcome=StatsforvalterenOutcome.MUNICIPALITY_UPHELD,
                                          doc_ref="doc:sf-decision-1")

    with refused(case, "NO-SM"):
        issue(case, Decision.GRANTED, days=61)


def refused_ordinary_coordinator_after_18() -> NorwayCase:
    case = norway_case(N.ACTIVE)
    case.record_majority(ctx(NO_STAFF, on=NO_18TH_BIRTHDAY), settings=SETTINGS)
    issue(case, Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED, days=2245)
    assert case.status is N.ENDED
    return case


def test_a_refusal_of_an_ordinary_coordinator_after_18_stands_until_a_complaint_changes_it() -> None:
    case = refused_ordinary_coordinator_after_18()

    with refused(case, "NO-SM"):
        issue(case, Decision.ORDINARY_COORDINATOR_AFTER_18_GRANTED, decision_id="dec-3", days=2250)


def test_an_upheld_complaint_about_a_refusal_after_18_lets_the_municipality_grant_an_ordinary_coordinator() -> None:
    case = refused_ordinary_coordinator_after_18()
    receive_complaint(case, decision_id="dec-2", days=2250)
    reconsider(case, ReconsiderationOutcome.UPHELD, days=2251)

    with refused(case, "NO-SM"):  # the complaint reopens the after-18 question, not the barnekoordinator right
        issue(case, Decision.GRANTED, decision_id="dec-3", days=2255)
    issue(case, Decision.ORDINARY_COORDINATOR_AFTER_18_GRANTED, decision_id="dec-3", days=2255)

    assert case.status is N.ADULT_COORDINATOR
    assert case.is_open
    assert case.coordinator_ref is None  # the refusal ended the coordination

    case.appoint_barnekoordinator(ctx(NO_STAFF, 2256), coordinator_ref="person:adult-coordinator",
                                  unit_ref="org:koordinerende-enhet", family_wishes_considered=True)
    assert case.status is N.ADULT_COORDINATOR
    assert case.coordinator_ref == "person:adult-coordinator"


def test_the_delivery_time_of_a_decision_is_timezone_aware() -> None:
    case = norway_case(N.ASSESSED)

    with rejected_as_invalid(case, "delivered_at"):
        issue(case, Decision.GRANTED, delivered_at=datetime(2026, 4, 1, 12, 0))


# ---- consent (NO-R4, NO-G0) ------------------------------------------------------------------------------
@pytest.mark.parametrize("given_by", [(), (BARNEKOORDINATOR.person_ref,), (NO_MOTHER, NO_STAFF.person_ref)])
def test_consent_is_given_by_the_parents_or_whoever_consents_for_the_child(given_by: tuple[str, ...]) -> None:
    case = norway_case(N.GRANTED)

    with refused(case, "NO-R4"):
        case.record_consent(ctx(NO_STAFF, 16), consent_id="consent-1", given_by_refs=given_by,
                            scope_service_org_refs=(HABILITATION_ORG,), form_doc_ref="doc:consent-form-1")


def test_consent_is_not_recorded_on_an_ended_case() -> None:
    case = norway_case(N.REQUESTED)
    case.record_majority(ctx(NO_STAFF, on=NO_18TH_BIRTHDAY), settings=SETTINGS)
    assert case.status is N.ENDED

    with refused(case, "NO-SM"):
        consent(case)


def test_only_the_consent_that_was_given_can_be_withdrawn() -> None:
    case = norway_case(N.GRANTED)

    with refused(case, "NO-G0"):
        case.withdraw_consent(ctx(NO_STAFF, 17), consent_id="consent-1", withdrawn_by_ref=NO_MOTHER)

    consent(case)
    with refused(case, "NO-G0"):
        case.withdraw_consent(ctx(NO_STAFF, 17), consent_id="consent-other", withdrawn_by_ref=NO_MOTHER)


# ---- appointment (NO-SM, NO-R4, NO-R5) -------------------------------------------------------------------
def test_a_barnekoordinator_is_appointed_only_after_a_grant() -> None:
    case = norway_case(N.ASSESSED, with_consent=True)

    with refused(case, "NO-SM"):
        appoint_barnekoordinator(case)


def test_a_barnekoordinator_is_assigned_only_after_the_family_has_consented() -> None:
    case = norway_case(N.GRANTED)

    with refused(case, "NO-R4"):
        appoint_barnekoordinator(case)


def test_the_familys_wishes_are_considered_when_the_coordinator_is_chosen() -> None:
    case = norway_case(N.GRANTED, with_consent=True)

    with refused(case, "NO-R5"):
        case.appoint_barnekoordinator(ctx(NO_STAFF, 20), coordinator_ref=BARNEKOORDINATOR.person_ref,
                                      unit_ref=COORDINATING_UNIT, family_wishes_considered=False)


# ---- coordination (NO-G0, NO-SM, NO-R6) ------------------------------------------------------------------
@pytest.mark.parametrize("allowed", [InstructionType.INFORMATION_EXCHANGE, InstructionType.MEETING_ATTENDANCE,
                                     InstructionType.TIMING])
def test_the_barnekoordinator_instructs_services_on_exchange_meetings_and_timing(allowed: InstructionType) -> None:
    case = norway_case(N.ACTIVE)

    instruct(case, allowed)

    assert last_event(case, "CoordinationInstructionIssued").instruction_type is allowed


@pytest.mark.parametrize("forbidden", [InstructionType.SERVICE_CONTENT, InstructionType.SERVICE_METHOD])
def test_a_barnekoordinator_may_not_instruct_which_services_are_provided_or_how(forbidden: InstructionType) -> None:
    case = norway_case(N.ACTIVE)

    with refused(case, "NO-R6"):
        instruct(case, forbidden)


def test_only_the_familys_coordinator_instructs_services() -> None:
    case = norway_case(N.ACTIVE)

    with refused(case, "NO-R6"):
        instruct(case, actor=NO_STAFF)


def test_coordination_stops_when_consent_is_withdrawn() -> None:
    case = norway_case(N.ACTIVE)
    case.withdraw_consent(ctx(NO_STAFF, 22), consent_id="consent-1", withdrawn_by_ref=NO_MOTHER)

    with refused(case, "NO-G0"):
        instruct(case)
    with refused(case, "NO-G0"):
        case.adopt_individual_plan(ctx(BARNEKOORDINATOR, 25), plan_id="ip-1", content=individual_plan())


def test_no_coordination_before_a_coordinator_is_appointed() -> None:
    case = norway_case(N.GRANTED, with_consent=True)

    with refused(case, "NO-SM"):
        instruct(case)


# ---- the individual plan (NO-R7) -------------------------------------------------------------------------
def test_the_coordinator_adopts_an_individual_plan_with_the_nine_items() -> None:
    case = norway_case(N.ACTIVE)

    case.adopt_individual_plan(ctx(BARNEKOORDINATOR, 40), plan_id="ip-1", content=individual_plan())
    case.adopt_individual_plan(ctx(BARNEKOORDINATOR, 200), plan_id="ip-2", content=individual_plan())

    assert case.plan_id == "ip-2"
    assert last_event(case, "IndividualPlanAdopted").replaces_earlier is True


@pytest.mark.parametrize("missing_consent", ["recipient_consent_to_plan", "recipient_consent_to_sharing"])
def test_the_individual_plan_needs_the_recipients_consent_to_the_plan_and_to_sharing(missing_consent: str) -> None:
    case = norway_case(N.ACTIVE)

    with refused(case, "NO-R7") as error:
        case.adopt_individual_plan(ctx(BARNEKOORDINATOR, 40), plan_id="ip-1",
                                   content=individual_plan(**{missing_consent: False}))
    assert "no. 8" in error.value.reason


@pytest.mark.parametrize(
    ("item", "missing"),
    [
        ("1 goals", {"goals_resources_and_needs_ref": None}),
        ("2 participants", {"participants": ()}),
        ("3 responsible", {"responsible_for_coordination_ref": None}),
        ("4 contributions", {"contributions_ref": None}),
        ("5 measures", {"measures_ref": None}),
        ("6 how measures", {"implementation_ref": None}),
        ("7 plan period", {"plan_period_to": None}),
        ("7 plan period", {"revision_dates": ()}),
        ("9 cooperation", {"cooperation_with_other_services_ref": None}),
    ],
)
def test_the_individual_plan_holds_every_item_of_forskrift_section_19(item: str, missing: dict[str, object]) -> None:
    case = norway_case(N.ACTIVE)

    with refused(case, "NO-R7") as error:
        case.adopt_individual_plan(ctx(BARNEKOORDINATOR, 40), plan_id="ip-1", content=individual_plan(**missing))
    assert item in error.value.reason


# ---- complaints (NO-R9, NO-R10, NO-R11, NO-R12) -------------------------------------------------------------
def test_a_complaint_names_a_decision_issued_in_this_case() -> None:
    case = norway_case(N.REFUSED)

    with refused(case, "NO-R9"):
        receive_complaint(case, decision_id="dec-of-another-case")


def test_a_grant_gives_the_family_nothing_to_complain_about() -> None:
    case = norway_case(N.GRANTED)

    with refused(case, "NO-R9"):
        receive_complaint(case)


def test_a_complaint_is_received_once() -> None:
    case = refused_case_with_complaint()

    with refused(case, "NO-R9"):
        receive_complaint(case, days=21)


def test_a_complaint_after_four_weeks_is_recorded_and_marked_late() -> None:
    case = norway_case(N.REFUSED)

    receive_complaint(case, days=14 + 29)

    assert last_event(case, "ComplaintReceived").within_deadline is False


def test_the_municipality_reconsiders_only_a_complaint_it_has_received_and_only_once() -> None:
    case = refused_case_with_complaint()

    with refused(case, "NO-R10"):
        reconsider(case, ReconsiderationOutcome.UPHELD, complaint_id="klage-unknown")

    reconsider(case, ReconsiderationOutcome.NOT_UPHELD)
    with refused(case, "NO-R10"):
        reconsider(case, ReconsiderationOutcome.UPHELD)


def test_a_complaint_the_municipality_upheld_is_not_forwarded_to_statsforvalteren() -> None:
    case = refused_case_with_complaint()
    reconsider(case, ReconsiderationOutcome.UPHELD)

    with refused(case, "NO-R11"):
        case.forward_complaint(ctx(NO_STAFF, 26), complaint_id="klage-1")


def test_a_complaint_is_forwarded_only_after_the_municipality_reconsidered_it() -> None:
    case = refused_case_with_complaint()

    with refused(case, "NO-R11"):
        case.forward_complaint(ctx(NO_STAFF, 26), complaint_id="klage-1")
    with refused(case, "NO-R11"):
        case.forward_complaint(ctx(NO_STAFF, 26), complaint_id="klage-unknown")


def test_statsforvalteren_decides_only_a_forwarded_complaint_and_only_once() -> None:
    case = refused_case_with_complaint()
    reconsider(case, ReconsiderationOutcome.NOT_UPHELD)

    with refused(case, "NO-R12"):
        case.record_statsforvalteren_decision(ctx(STATSFORVALTER_CLERK, 60), complaint_id="klage-1",
                                              outcome=StatsforvalterenOutcome.DECISION_REVERSED,
                                              doc_ref="doc:sf-decision-1")

    case.forward_complaint(ctx(NO_STAFF, 26), complaint_id="klage-1")
    case.record_statsforvalteren_decision(ctx(STATSFORVALTER_CLERK, 60), complaint_id="klage-1",
                                          outcome=StatsforvalterenOutcome.DECISION_REVERSED,
                                          doc_ref="doc:sf-decision-1")
    with refused(case, "NO-R12"):
        case.record_statsforvalteren_decision(ctx(STATSFORVALTER_CLERK, 61), complaint_id="klage-1",
                                              outcome=StatsforvalterenOutcome.MUNICIPALITY_UPHELD,
                                              doc_ref="doc:sf-decision-2")


# ---- change and termination ----------------------------------------------------------------------------
def test_a_changed_coordinator_is_appointed_anew_under_the_same_consent() -> None:
    case = norway_case(N.ACTIVE)

    issue(case, Decision.CHANGED)
    assert (case.status, case.coordinator_ref) == (N.GRANTED, None)

    appoint_barnekoordinator(case, days=35)
    assert case.status is N.ACTIVE


def test_a_terminated_coordination_stands_until_a_complaint_changes_it() -> None:
    case = norway_case(N.ACTIVE)
    issue(case, Decision.TERMINATED)

    with refused(case, "NO-SM"):
        issue(case, Decision.GRANTED, decision_id="dec-3", days=31)

    receive_complaint(case, decision_id="dec-2", days=32)
    reconsider(case, ReconsiderationOutcome.UPHELD, days=33)
    issue(case, Decision.GRANTED, decision_id="dec-3", days=40)
    assert case.status is N.GRANTED


# ---- majority and close (NO-R1, NO-SM) -------------------------------------------------------------------
def test_majority_is_not_recorded_before_the_18th_birthday() -> None:
    case = norway_case(N.ACTIVE)

    with refused(case, "NO-R1"):
        case.record_majority(ctx(NO_STAFF, on=date(2032, 4, 19)), settings=SETTINGS)


def test_majority_needs_the_childs_birth_date() -> None:
    case = request_barnekoordinator(birth_date=None, family_status=FamilyStatus.EXPECTING_ADOPTION)

    with refused(case, "NO-R1"):
        case.record_majority(ctx(NO_STAFF, on=NO_18TH_BIRTHDAY), settings=SETTINGS)


def test_majority_is_recorded_once() -> None:
    case = norway_case(N.ACTIVE)
    case.record_majority(ctx(NO_STAFF, on=NO_18TH_BIRTHDAY), settings=SETTINGS)

    with refused(case, "NO-SM"):
        case.record_majority(ctx(NO_STAFF, on=date(2032, 4, 21)), settings=SETTINGS)

    issue(case, Decision.ORDINARY_COORDINATOR_AFTER_18_GRANTED, days=2246)
    with refused(case, "NO-SM"):
        case.record_majority(ctx(NO_STAFF, on=date(2032, 5, 21)), settings=SETTINGS)


def test_majority_before_coordination_began_ends_the_case() -> None:
    case = norway_case(N.ASSESSED)

    case.record_majority(ctx(NO_STAFF, on=NO_18TH_BIRTHDAY), settings=SETTINGS)

    assert case.status is N.ENDED
    with refused(case, "NO-SM"):
        case.record_majority(ctx(NO_STAFF, on=date(2032, 4, 21)), settings=SETTINGS)


def test_a_case_is_not_closed_while_the_barnekoordinator_is_active() -> None:
    case = norway_case(N.ACTIVE)

    with refused(case, "NO-SM"):
        case.close_case(ctx(NO_STAFF, 90), closure_reason="family_moved")


def test_a_closed_case_is_not_closed_again() -> None:
    case = norway_case(N.REFUSED)
    case.close_case(ctx(NO_STAFF, 90), closure_reason="complaint_window_passed")
    assert case.status is N.CLOSED
    assert event_names(case)[-1] == "CaseClosed"

    with refused(case, "NO-SM"):
        case.close_case(ctx(NO_STAFF, 91), closure_reason="complaint_window_passed")

