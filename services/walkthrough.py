"""Two complete episodes, one under each law, driven through the ``Casework`` application.

Used by ``prosperity walkthrough`` to show what the system records, and by the integration tests as the
full lifecycles they run against PostgreSQL. Every reference is pseudonymous; dates are in the past,
spread over the episode as they would be in a municipality (facts are recorded with when they happened).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from contracts import commands as c
from domain.values import (
    Actor,
    AdultServiceHandover,
    EligibilityCriteria,
    IndividualPlanContent,
    MemberType,
    ProviderRole,
    Role,
    SupportPlanContent,
    TeamMember,
)
from services.casework.application import Casework, CommandMeta
from services.casework.errors import AlreadyExists

START = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)


class _Clock:
    """Meta for each step: the acting person and a day offset into the episode."""

    def __init__(self, start: datetime, correlation_id: str) -> None:
        self.start, self.correlation_id = start, correlation_id

    def __call__(self, person: str, role: Role, day: int, org: str | None = None,
                 muni: str | None = None) -> CommandMeta:
        return CommandMeta(Actor(person, role, org, muni), self.start + timedelta(days=day), self.correlation_id)


def ensure_institution(app: Casework, org_ref: str, institution_type: str, municipality_ref: str,
                       jurisdiction: str, coordinator_ref: str | None, meta: CommandMeta) -> None:
    """Register an institution and designate a coordinator unless that is already on the record."""
    with contextlib.suppress(AlreadyExists):
        app.register_institution(c.RegisterInstitution(org_ref=org_ref, institution_type=institution_type,
                                                       municipality_ref=municipality_ref,
                                                       jurisdiction=jurisdiction), meta)
    if coordinator_ref and not app.get_institution(org_ref).is_designated(coordinator_ref):
        app.designate_coordinator(c.DesignateCoordinator(org_ref=org_ref, person_ref=coordinator_ref), meta)


def iceland_lifecycle(app: Casework, child: str = "person:child-is-1", episode: int = 1) -> UUID:
    """Contact → information sharing → request → services → case manager → team → plan → evaluation →
    revision → adult transition plan → conclusion (goals met) → complaint, for a child born 2008."""
    at = _Clock(START, f"walkthrough-is-{child}")
    mum, dad, coord, cm, lead = "person:parent-is-1", "person:parent-is-2", "person:coord-is-1", "person:cm-is-1", \
        "person:lead-rvk"
    school, health = "org:school-rvk-1", "org:healthcentre-rvk-1"
    as_lead = ("org:town-hall-rvk", "muni:reykjavik")
    ensure_institution(app, school, "secondary_school", "muni:reykjavik", "IS", coord,
                       at(lead, Role.MUNICIPALITY_LEAD, 0, *as_lead))
    opened = app.register_contact(c.RegisterContact(
        child_ref=child, parent_refs=(mum, dad), birth_date=date(2008, 9, 15), municipality_ref="muni:reykjavik",
        coordinator_ref=coord, coordinator_org_ref=school, life_stage="secondary",
        conflict_of_interest_declared_none=True, initiated_by="provider_guidance", episode=episode,
        school_status="secondary"),  # born in September 2008: in upper secondary a year early (LIFE-1, LIFE-2)
        at(coord, Role.COORDINATOR, 0, school))
    case_id = opened.case_id
    app.sign_information_sharing_request(c.SignInformationSharingRequest(
        case_id=case_id, request_id="share-1", signatory_refs=(mum,), source_provider_org_refs=(health,),
        target_refs=(coord,), form_doc_ref="doc:share-form-1"), at(coord, Role.COORDINATOR, 2, school))
    app.share_information_with_coordinator(c.ShareInformationWithCoordinator(
        case_id=case_id, request_id="share-1", source_provider_org_ref=health, recipient_ref=coord,
        summary_doc_ref="doc:health-summary-1"), at("person:nurse-1", Role.SERVICE_PROVIDER_REP, 5, health))
    app.record_contact_with_family(c.RecordContactWithFamily(
        case_id=case_id, offered_to=("parent", "child"), contact_refs=(mum, child), response="accepted"),
        at(coord, Role.COORDINATOR, 7, school))
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id="request-1", requested_by_refs=(mum, child), requester_roles=("parent", "child"),
        written=True, form_doc_ref="doc:request-form-1"), at(coord, Role.COORDINATOR, 9, school))
    app.record_service(c.RecordService(
        case_id=case_id, service_id="svc-1", provider_org_ref=school, service_level=1,
        service_type_code="study_support", start_date=date(2024, 1, 22)), at(coord, Role.COORDINATOR, 14, school))
    app.record_service(c.RecordService(
        case_id=case_id, service_id="svc-2", provider_org_ref="org:social-rvk", service_level=3,
        service_type_code="family_support", start_date=date(2024, 2, 1)), at(coord, Role.COORDINATOR, 24, school))
    app.notify_need_for_case_manager(c.NotifyNeedForCaseManager(case_id=case_id, municipality_ref="muni:reykjavik"),
                                     at(coord, Role.COORDINATOR, 25, school))
    app.appoint_case_manager(c.AppointCaseManager(
        case_id=case_id, case_manager_ref=cm, municipality_ref="muni:reykjavik", org_unit_ref="org:social-rvk",
        needs_l2_l3_multilevel=True, long_term=True, works_in_social_services_or_area_of_needs=True),
        at(lead, Role.MUNICIPALITY_LEAD, 30, *as_lead))

    def as_cm(day: int) -> CommandMeta:
        return at(cm, Role.CASE_MANAGER, day, "org:social-rvk")

    app.establish_support_team(c.EstablishSupportTeam(case_id=case_id, team_id="team-1", members=(
        TeamMember("person:teacher-1", school, MemberType.SERVICE_PROVIDER_REP),
        TeamMember(coord, school, MemberType.COORDINATOR),
        TeamMember(child, None, MemberType.CHILD))), as_cm(35))
    app.invite_general_service_provider(c.InviteGeneralServiceProvider(
        case_id=case_id, person_ref="person:coach-1", org_ref="org:sportsclub-1",
        necessity_justification_ref="doc:why-coach-1"), as_cm(36))
    app.invite_to_team_meeting(c.InviteToTeamMeeting(
        case_id=case_id, meeting_id="meeting-1", invitee_refs=(mum, dad, child, "person:teacher-1", coord),
        scheduled_for=date(2024, 2, 20)), as_cm(37))
    app.record_team_meeting(c.RecordTeamMeeting(
        case_id=case_id, meeting_id="meeting-1", attendee_refs=(mum, child, "person:teacher-1", coord, cm),
        parents_attended=True, child_attended=True, minutes_doc_ref="doc:minutes-1"), as_cm(43))
    app.record_child_views(c.RecordChildViews(case_id=case_id, method="conversation",
                                              summary_doc_ref="doc:child-views-1"), as_cm(43))
    plan = SupportPlanContent(
        needs_assessment_ref="doc:needs-1", objectives=("doc:objective-1", "doc:objective-2"),
        provider_roles=(ProviderRole(school, "doc:role-school"), ProviderRole("org:social-rvk", "doc:role-social")),
        evaluation_method="team_review_against_objectives", valid_from=date(2024, 3, 1),
        valid_to=date(2025, 2, 28), review_dates=(date(2024, 9, 1),), participants=(mum, child, cm),
        parents_participated=True, child_participated=True)
    app.adopt_support_plan(c.AdoptSupportPlan(case_id=case_id, plan_id="plan-1", content=plan), as_cm(50))
    app.evaluate_support_plan(c.EvaluateSupportPlan(
        case_id=case_id, plan_id="plan-1", version=1, outcome="revise", progress_doc_ref="doc:progress-1",
        next_review_date=date(2025, 3, 1)), as_cm(240))
    revised = SupportPlanContent(**{**plan.__dict__, "valid_to": date(2026, 8, 31),
                                     "review_dates": (date(2025, 3, 1),)})
    app.revise_support_plan(c.ReviseSupportPlan(case_id=case_id, plan_id="plan-1", supersedes_version=1,
                                                content=revised), as_cm(245))
    app.adopt_adult_transition_plan(c.AdoptAdultTransitionPlan(
        case_id=case_id, plan_id="transition-1",
        adult_service_handovers=(AdultServiceHandover("org:adult-social-rvk", "case_worker"),),
        young_person_participated=True), as_cm(800))
    app.conclude_support_team(c.ConcludeSupportTeam(case_id=case_id, outcome="goals_met",
                                                    justification_doc_ref="doc:closing-1"), as_cm(950))
    app.record_complaint(c.RecordComplaint(
        case_id=case_id, complaint_id="gev-1", complainant_ref=mum, complainant_capacity="user",
        subject="service_quality", external_ref="GEV-2026-17"), at(coord, Role.COORDINATOR, 960, school))
    return case_id


def norway_lifecycle(app: Casework, child: str = "person:child-no-1", episode: int = 1) -> UUID:
    """Request (oral) → assessment → written decision (granted, with the 4-week appeal deadline) → consent →
    appointment → coordination instruction → individual plan → termination → complaint → reconsideration
    (not upheld) → forwarded → Statsforvalteren reverses → granted again."""
    at = _Clock(START, f"walkthrough-no-{child}")
    staff, mum, bk = "person:staff-bodo-1", "person:parent-no-1", "person:bk-bodo-1"
    unit = "org:koordinerende-enhet-bodo"

    def as_staff(day: int) -> CommandMeta:
        return at(staff, Role.MUNICIPAL_STAFF, day, unit, "muni:bodo")

    opened = app.request_barnekoordinator(c.RequestBarnekoordinator(
        child_ref=child, parent_refs=(mum,), birth_date=date(2016, 5, 2), municipality_ref="muni:bodo",
        request_id="no-request-1", channel="oral", requested_by_ref=mum, family_status="child_under_18",
        episode=episode), as_staff(0))
    case_id = opened.case_id
    app.assess_eligibility(c.AssessEligibility(
        case_id=case_id, criteria=EligibilityCriteria(True, True, True), family_views_doc_ref="doc:family-views-1",
        child_views_doc_ref="doc:child-views-no-1"), as_staff(10))
    delivered = START + timedelta(days=15)
    app.issue_decision(c.IssueDecision(
        case_id=case_id, decision_id="decision-1", decision="granted", written=True,
        justification_doc_ref="doc:decision-1", appeal_info_included=True, delivered_at=delivered), as_staff(14))
    app.record_consent(c.RecordConsent(case_id=case_id, consent_id="consent-1", given_by_refs=(mum,),
                                       scope_service_org_refs=("org:school-bodo-1", "org:health-bodo-1"),
                                       form_doc_ref="doc:consent-1"), as_staff(16))
    app.appoint_barnekoordinator(c.AppointBarnekoordinator(case_id=case_id, coordinator_ref=bk, unit_ref=unit,
                                                           family_wishes_considered=True), as_staff(18))
    app.issue_coordination_instruction(c.IssueCoordinationInstruction(
        case_id=case_id, target_service_org_ref="org:school-bodo-1", instruction_type="meeting_attendance",
        detail_doc_ref="doc:instruction-1"), at(bk, Role.COORDINATOR, 25, unit))
    app.adopt_individual_plan(c.AdoptIndividualPlan(case_id=case_id, plan_id="ip-1", content=IndividualPlanContent(
        goals_resources_and_needs_ref="doc:ip-goals", participants=(mum, child, bk),
        responsible_for_coordination_ref="doc:ip-responsible", contributions_ref="doc:ip-contributions",
        measures_ref="doc:ip-measures", implementation_ref="doc:ip-implementation",
        plan_period_from=date(2024, 2, 15), plan_period_to=date(2025, 2, 14), revision_dates=(date(2024, 8, 15),),
        recipient_consent_to_plan=True, recipient_consent_to_sharing=True,
        cooperation_with_other_services_ref="doc:ip-cooperation")), at(bk, Role.COORDINATOR, 40, unit))
    app.issue_decision(c.IssueDecision(
        case_id=case_id, decision_id="decision-2", decision="terminated", written=True,
        justification_doc_ref="doc:decision-2", appeal_info_included=True,
        delivered_at=START + timedelta(days=300)), as_staff(299))
    app.receive_complaint(c.ReceiveComplaint(case_id=case_id, complaint_id="klage-1", decision_id="decision-2",
                                             received_by_ref=unit), as_staff(310))
    app.reconsider_complaint(c.ReconsiderComplaint(case_id=case_id, complaint_id="klage-1", outcome="not_upheld",
                                                   reasons_doc_ref="doc:reconsideration-1"), as_staff(320))
    app.forward_complaint(c.ForwardComplaint(case_id=case_id, complaint_id="klage-1"), as_staff(321))
    app.record_statsforvalteren_decision(c.RecordStatsforvalterenDecision(
        case_id=case_id, complaint_id="klage-1", outcome="decision_reversed", doc_ref="doc:statsforvalteren-1"),
        as_staff(380))  # the municipality records what Statsforvalteren decided (supervisors never write)
    app.issue_decision(c.IssueDecision(
        case_id=case_id, decision_id="decision-3", decision="granted", written=True,
        justification_doc_ref="doc:decision-3", appeal_info_included=True,
        delivered_at=START + timedelta(days=386)), as_staff(385))
    return case_id
