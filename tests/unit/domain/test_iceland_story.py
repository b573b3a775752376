"""Iceland happy paths, told end to end: a child's integration of services from the first contact with the
school's coordinator to the close of the episode, and a support team that ends without a plan."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.case_iceland import IcelandStatus
from domain.values import (
    AdultServiceHandover,
    ComplainantCapacity,
    ComplaintSubject,
    EvaluationOutcome,
    FamilyMember,
    IntegrationTrack,
    OfferResponse,
    TeamOutcome,
)
from tests.unit.domain.builders import (
    BUP_ORG,
    CASE_MANAGER,
    COORDINATOR,
    GEV_CLERK,
    IS_CHILD,
    IS_MOTHER,
    IS_PARENTS,
    MUNICIPALITY_LEAD,
    PROVIDER_REP,
    REYKJAVIK,
    SCHOOL_ORG,
    SETTINGS,
    SOCIAL_SERVICES_ORG,
    TEAM_MEMBERS,
    ctx,
    event_names,
    iceland_case,
    last_event,
    plan_content,
    register_contact,
)

S = IcelandStatus


def test_full_iceland_lifecycle_from_first_contact_to_conclusion_with_goals_met() -> None:
    # The parents bring their 16-year-old to the coordinator designated by the secondary school.
    case = register_contact()
    assert case.id.version == 4  # random: nobody can compute a case id from a child's ref

    # They authorise child psychiatry (BUP) to send what it knows to the coordinator, and it does.
    case.sign_information_sharing_request(ctx(COORDINATOR, 1), request_id="share-1", signatory_refs=IS_PARENTS,
                                          source_provider_org_refs=(BUP_ORG,),
                                          target_refs=(COORDINATOR.person_ref,), form_doc_ref="doc:sharing-1")
    case.share_information_with_coordinator(ctx(PROVIDER_REP, 2), request_id="share-1",
                                            source_provider_org_ref=BUP_ORG, recipient_ref=COORDINATOR.person_ref,
                                            summary_doc_ref="doc:bup-summary-1")
    case.record_contact_with_family(ctx(COORDINATOR, 3), offered_to=(FamilyMember.PARENT, FamilyMember.CHILD),
                                    contact_refs=(*IS_PARENTS, IS_CHILD), response=OfferResponse.ACCEPTED)

    # The written request: integration begins, led by the coordinator at the first level.
    case.record_integration_request(ctx(COORDINATOR, 4), request_id="req-1", requested_by_refs=IS_PARENTS,
                                    requester_roles=(FamilyMember.PARENT,), written=True,
                                    form_doc_ref="doc:request-1", settings=SETTINGS)
    assert (case.status, case.track) == (S.INTEGRATION_ACTIVE_L1, IntegrationTrack.COORDINATOR_LED)

    # Services at the first level, then specialised services: the level is raised.
    case.record_service(ctx(COORDINATOR, 5), service_id="svc-school-counselling", provider_org_ref=SCHOOL_ORG,
                        service_level=1, service_type_code="counselling", start_date=date(2026, 3, 9))
    case.record_service(ctx(COORDINATOR, 8), service_id="svc-bup", provider_org_ref=BUP_ORG, service_level=3,
                        service_type_code="child_psychiatry", start_date=date(2026, 3, 16))
    assert case.highest_level == 3
    raised: list[Any] = [e for e in case.pending_events if type(e).__name__ == "LevelRaised"]
    assert [(e.from_level, e.to_level) for e in raised] == [(None, 1), (1, 3)]

    # Long-term multi-level needs: the coordinator tells the domicile municipality, which appoints a case manager.
    case.notify_need_for_case_manager(ctx(COORDINATOR, 10), municipality_ref=REYKJAVIK)
    case.appoint_case_manager(ctx(MUNICIPALITY_LEAD, 14), case_manager_ref=CASE_MANAGER.person_ref,
                              municipality_ref=REYKJAVIK, org_unit_ref=SOCIAL_SERVICES_ORG,
                              needs_l2_l3_multilevel=True, long_term=True,
                              works_in_social_services_or_area_of_needs=True)
    assert (case.status, case.track) == (S.TEAM_FORMING, IntegrationTrack.CASE_MANAGER_LED)

    # The case manager forms the team and calls its first meeting, with the family invited.
    case.establish_support_team(ctx(CASE_MANAGER, 20), team_id="team-1", members=TEAM_MEMBERS)
    case.invite_to_team_meeting(ctx(CASE_MANAGER, 21), meeting_id="meeting-1",
                                invitee_refs=(*IS_PARENTS, IS_CHILD, PROVIDER_REP.person_ref),
                                scheduled_for=date(2026, 3, 30))
    case.record_team_meeting(ctx(CASE_MANAGER, 28), meeting_id="meeting-1",
                             attendee_refs=(*IS_PARENTS, IS_CHILD, CASE_MANAGER.person_ref), parents_attended=True,
                             child_attended=True, minutes_doc_ref="doc:minutes-1", decision_codes=("draft_plan",))

    # The support plan, its evaluation (revise) and the revision as version 2.
    case.adopt_support_plan(ctx(CASE_MANAGER, 30), plan_id="plan-1", content=plan_content())
    assert (case.status, case.plan_version) == (S.PLAN_ACTIVE, 1)
    case.evaluate_support_plan(ctx(CASE_MANAGER, 121), plan_id="plan-1", version=1,
                               outcome=EvaluationOutcome.REVISE, progress_doc_ref="doc:progress-1")
    case.revise_support_plan(ctx(CASE_MANAGER, 125), plan_id="plan-1", supersedes_version=1,
                             content=plan_content(valid_to=date(2027, 6, 1), review_dates=(date(2026, 12, 1),)))
    assert case.plan_version == 2

    # Before 18 the team plans the services after adulthood, with the young person.
    case.adopt_adult_transition_plan(ctx(CASE_MANAGER, on=date(2026, 12, 1)), plan_id="transition-1",
                                     adult_service_handovers=(
                                         AdultServiceHandover("org:reykjavik-adult-services", "case_worker"),),
                                     young_person_participated=True, settings=SETTINGS)

    # Goals met: the team concludes and the episode closes.
    case.conclude_support_team(ctx(CASE_MANAGER, 400), outcome=TeamOutcome.GOALS_MET,
                               justification_doc_ref="doc:conclusion-1", settings=SETTINGS)
    assert case.status is S.CLOSED and not case.is_open

    assert event_names(case) == [
        "ContactRegistered",
        "InformationSharingRequestSigned",
        "InformationSharedWithCoordinator",
        "IntegrationOffered",
        "IntegrationRequested",
        "ServiceRecorded", "LevelRaised",
        "ServiceRecorded", "LevelRaised",
        "CaseManagerNeedNotified",
        "CaseManagerAppointed",
        "SupportTeamEstablished",
        "TeamMeetingInvitationSent",
        "SupportTeamMeetingHeld",
        "SupportPlanAdopted",
        "SupportPlanEvaluated",
        "SupportPlanRevised",
        "AdultTransitionPlanAdopted",
        "SupportTeamConcluded",
    ]
    assert case.version == len(case.pending_events)
    assert last_event(case, "SupportTeamConcluded").outcome is TeamOutcome.GOALS_MET


def test_a_team_concluded_without_a_plan_notifies_parents_and_case_manager_of_the_gev_complaint_route() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    case.conclude_support_team(ctx(CASE_MANAGER, 90), outcome=TeamOutcome.CONCLUDED_WITHOUT_PLAN,
                               justification_doc_ref="doc:why-no-plan-1", settings=SETTINGS)

    assert case.status is S.CLOSED_WITHOUT_PLAN
    assert event_names(case)[-2:] == ["SupportTeamConcluded", "TeamConclusionNotified"]
    concluded = last_event(case, "SupportTeamConcluded")
    assert (concluded.team_id, concluded.outcome) == ("team-1", TeamOutcome.CONCLUDED_WITHOUT_PLAN)
    notice = last_event(case, "TeamConclusionNotified")
    assert set(notice.recipient_refs) == {*IS_PARENTS, CASE_MANAGER.person_ref}
    assert notice.justification_doc_ref == "doc:why-no-plan-1"
    assert notice.complaint_info_included is True
    assert notice.complaint_body == "GEV"

    # The mother complains to GEV; the complaint outlives the closed case, and GEV's outcome is recorded.
    case.record_complaint(ctx(GEV_CLERK, 100), complaint_id="gev-1", complainant_ref=IS_MOTHER,
                          complainant_capacity=ComplainantCapacity.USER,
                          subject=ComplaintSubject.TEAM_CONCLUDED_WITHOUT_PLAN)
    case.record_complaint_outcome(ctx(GEV_CLERK, 160), complaint_id="gev-1", outcome_summary_ref="doc:gev-report-1",
                                  recommendation_codes=("reconvene_team",), deadline_for_improvement=date(2026, 9, 1))
    assert event_names(case)[-2:] == ["ComplaintLodged", "ComplaintOutcomeRecorded"]
