"""Norway happy paths, told end to end: a family's barnekoordinator from the oral request to the ordinary
coordinator after 18, and a second family's refusal taken through the complaint route to Statsforvalteren."""

from __future__ import annotations

from datetime import timedelta

from domain.case_norway import NorwayStatus
from domain.values import (
    Decision,
    EligibilityCriteria,
    InstructionType,
    ReconsiderationOutcome,
    StatsforvalterenOutcome,
)
from tests.unit.domain.builders import (
    BARNEKOORDINATOR,
    COORDINATING_UNIT,
    HABILITATION_ORG,
    NO_18TH_BIRTHDAY,
    NO_PARENTS,
    NO_STAFF,
    SETTINGS,
    STATSFORVALTER_CLERK,
    at,
    ctx,
    event_names,
    individual_plan,
    last_event,
    request_barnekoordinator,
)

N = NorwayStatus


def test_full_norway_lifecycle_from_request_to_an_ordinary_coordinator_after_18() -> None:
    # A parent asks orally; staff record the request.
    case = request_barnekoordinator()
    assert case.id.version == 4  # random: nobody can compute a case id from a child's ref
    assert (case.status, case.parent_refs) == (N.REQUESTED, NO_PARENTS)

    # The municipality assesses the three conditions with the family's and the child's views, no diagnosis.
    case.assess_eligibility(ctx(NO_STAFF, 7), criteria=EligibilityCriteria(True, True, True),
                            diagnosis_required=False, family_views_doc_ref="doc:family-views-1",
                            child_views_doc_ref="doc:child-views-1")
    assert (case.status, case.criteria) == (N.ASSESSED, EligibilityCriteria(True, True, True))

    # A written grant, delivered two days later: the complaint deadline is four weeks from delivery.
    delivered_at = at(16)
    case.issue_decision(ctx(NO_STAFF, 14), decision_id="dec-1", decision=Decision.GRANTED, written=True,
                        justification_doc_ref="doc:grant-reasons-1", appeal_info_included=True,
                        delivered_at=delivered_at, settings=SETTINGS)
    decision = last_event(case, "BarnekoordinatorDecisionIssued")
    assert decision.appeal_deadline == delivered_at + timedelta(weeks=4)
    assert decision.appeal_body == "Statsforvalteren"
    assert decision.delivered_at == delivered_at
    assert (case.status, case.decisions["dec-1"][0]) == (N.GRANTED, Decision.GRANTED)

    # The parents consent, and the coordinator is appointed with their wishes considered.
    case.record_consent(ctx(NO_STAFF, 18), consent_id="consent-1", given_by_refs=NO_PARENTS,
                        scope_service_org_refs=(HABILITATION_ORG, "org:bodo-school"), form_doc_ref="doc:consent-1")
    case.appoint_barnekoordinator(ctx(NO_STAFF, 20), coordinator_ref=BARNEKOORDINATOR.person_ref,
                                  unit_ref=COORDINATING_UNIT, family_wishes_considered=True)
    assert (case.status, case.coordinator_ref) == (N.ACTIVE, BARNEKOORDINATOR.person_ref)

    # The coordinator tells habilitation to attend the next meeting, then adopts the individual plan.
    case.issue_coordination_instruction(ctx(BARNEKOORDINATOR, 25), target_service_org_ref=HABILITATION_ORG,
                                        instruction_type=InstructionType.MEETING_ATTENDANCE,
                                        detail_doc_ref="doc:instruction-1")
    case.adopt_individual_plan(ctx(BARNEKOORDINATOR, 45), plan_id="ip-1", content=individual_plan())
    assert case.plan_id == "ip-1"

    # At 18 the barnekoordinator right ends; the municipality assesses and grants an ordinary coordinator.
    case.record_majority(ctx(NO_STAFF, on=NO_18TH_BIRTHDAY), settings=SETTINGS)
    assert (case.status, case.coordinator_ref) == (N.ORDINARY_COORDINATOR_ASSESSMENT, BARNEKOORDINATOR.person_ref)
    assert last_event(case, "ChildReachedMajority").transition_plan_existed is True
    case.issue_decision(ctx(NO_STAFF, on=NO_18TH_BIRTHDAY), decision_id="dec-2",
                        decision=Decision.ORDINARY_COORDINATOR_AFTER_18_GRANTED, written=True,
                        justification_doc_ref="doc:adult-coordinator-1", appeal_info_included=True,
                        delivered_at=at(2241), settings=SETTINGS)
    assert case.status is N.ADULT_COORDINATOR
    case.issue_coordination_instruction(ctx(BARNEKOORDINATOR, 2250), target_service_org_ref=HABILITATION_ORG,
                                        instruction_type=InstructionType.TIMING, detail_doc_ref="doc:instruction-2")

    assert event_names(case) == [
        "BarnekoordinatorRequested",
        "BarnekoordinatorEligibilityAssessed",
        "BarnekoordinatorDecisionIssued",
        "BarnekoordinatorConsentRecorded",
        "BarnekoordinatorAppointed",
        "CoordinationInstructionIssued",
        "IndividualPlanAdopted",
        "ChildReachedMajority",
        "BarnekoordinatorDecisionIssued",
        "CoordinationInstructionIssued",
    ]


def test_a_refusal_is_complained_about_reconsidered_forwarded_and_reversed_by_statsforvalteren() -> None:
    # A second family: the municipality finds the condition of serious illness not met and refuses.
    case = request_barnekoordinator("person:no-child-2")
    case.assess_eligibility(ctx(NO_STAFF, 7), criteria=EligibilityCriteria(True, False, True),
                            diagnosis_required=False, family_views_doc_ref="doc:family-views-2",
                            child_views_doc_ref="doc:child-views-2")
    case.issue_decision(ctx(NO_STAFF, 14), decision_id="dec-1", decision=Decision.REFUSED, written=True,
                        justification_doc_ref="doc:refusal-reasons-1", appeal_info_included=True,
                        delivered_at=at(14), settings=SETTINGS)
    assert (case.status, case.new_decision_allowed) == (N.REFUSED, False)

    # The family complains within four weeks; the unit reconsiders and does not uphold it.
    case.receive_complaint(ctx(NO_STAFF, 30), complaint_id="klage-1", decision_id="dec-1",
                           received_by_ref=COORDINATING_UNIT, settings=SETTINGS)
    assert last_event(case, "ComplaintReceived").within_deadline is True
    case.reconsider_complaint(ctx(NO_STAFF, 40), complaint_id="klage-1", outcome=ReconsiderationOutcome.NOT_UPHELD,
                              reasons_doc_ref="doc:reconsideration-1")

    # It goes to Statsforvalteren, who reverses the refusal.
    case.forward_complaint(ctx(NO_STAFF, 41), complaint_id="klage-1")
    assert last_event(case, "ComplaintForwardedToStatsforvalteren").forwarded_to == "Statsforvalteren"
    case.record_statsforvalteren_decision(ctx(STATSFORVALTER_CLERK, 90), complaint_id="klage-1",
                                          outcome=StatsforvalterenOutcome.DECISION_REVERSED,
                                          doc_ref="doc:statsforvalteren-1")

    # The municipality now grants the barnekoordinator.
    case.issue_decision(ctx(NO_STAFF, 95), decision_id="dec-2", decision=Decision.GRANTED, written=True,
                        justification_doc_ref="doc:grant-reasons-2", appeal_info_included=True,
                        delivered_at=at(96), settings=SETTINGS)
    assert case.status is N.GRANTED

    assert event_names(case) == [
        "BarnekoordinatorRequested",
        "BarnekoordinatorEligibilityAssessed",
        "BarnekoordinatorDecisionIssued",
        "ComplaintReceived",
        "ComplaintReconsidered",
        "ComplaintForwardedToStatsforvalteren",
        "StatsforvalterenDecisionRecorded",
        "BarnekoordinatorDecisionIssued",
    ]

