"""The cases the dashboard tests feed: the two walkthrough lifecycles (twice each, different children) and
small stories built with ``Casework`` that exercise one dashboard each.

Municipalities: Reykjavík (the walkthrough, 2024-2026), Kópavogur (stories from 2025-03-03: a team
concluded without a plan, a 16-year-old whose plan is never reviewed and who has no transition plan, a
withdrawal after a slow first contact), Akureyri (five preschool children at level 1: one unsuppressed
cell), Bodø (the Norwegian walkthrough twice, a refusal, and an active barnekoordinator).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from contracts import commands as c
from contracts.events import EventEnvelopeV1
from domain.values import EligibilityCriteria, MemberType, ProviderRole, Role, SupportPlanContent, TeamMember
from services.casework.application import Casework, CommandMeta
from services.consumers.replay import published_events
from services.walkthrough import ensure_institution, iceland_lifecycle, norway_lifecycle
from tests.actors import acting

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
REYKJAVIK, KOPAVOGUR, AKUREYRI, BODO = "muni:reykjavik", "muni:kopavogur", "muni:akureyri", "muni:bodo"
STORY_START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
"""Day 0 of the Kópavogur, Akureyri and extra Bodø stories (a Monday)."""

KOP_SCHOOL, KOP_SOCIAL, KOP_HEALTH = "org:school-kop-1", "org:social-kop", "org:health-kop-1"
KOP_PRESCHOOL, KOP_PRIMARY = "org:preschool-kop-1", "org:primary-kop-1"
KOP_COORD, KOP_CM, KOP_LEAD = "person:coord-kop-1", "person:cm-kop-1", "person:lead-kop"
AKU_PRESCHOOL, AKU_COORD = "org:preschool-aku-1", "person:coord-aku-1"
CHILD_A, CHILD_B, CHILD_C = "person:child-kop-a", "person:child-kop-b", "person:child-kop-c"
BK_ACTIVE = "person:bk-bodo-2"


def meta(person: str, role: Role, day: int, org: str | None = None) -> CommandMeta:
    return CommandMeta(acting(person, role, org), STORY_START + timedelta(days=day))


def coordinator(day: int) -> CommandMeta:
    return meta(KOP_COORD, Role.COORDINATOR, day, KOP_SCHOOL)


def case_manager(day: int) -> CommandMeta:
    return meta(KOP_CM, Role.CASE_MANAGER, day, KOP_SOCIAL)


def build_all(app: Casework) -> list[EventEnvelopeV1]:
    """Record every story in ``app`` and return what it published, in notification order."""
    iceland_lifecycle(app, child="person:child-is-1")
    iceland_lifecycle(app, child="person:child-is-2")
    norway_lifecycle(app, child="person:child-no-1")
    norway_lifecycle(app, child="person:child-no-2")
    kopavogur_directory(app)
    closure_without_plan(app)
    seventeen_without_transition_plan(app)
    slow_contact_then_withdrawal(app)
    akureyri_preschoolers(app)
    norway_refusal_and_active_coordinator(app)
    return list(published_events(app))


def kopavogur_directory(app: Casework) -> None:
    """A designated compulsory school (its children are 10 to 16: LIFE-1), a preschool without a coordinator,
    a primary school whose only coordinator is withdrawn on day 100."""
    lead = meta(KOP_LEAD, Role.MUNICIPALITY_LEAD, 0)
    ensure_institution(app, KOP_SCHOOL, "primary_school", KOPAVOGUR, "IS", KOP_COORD, lead)
    ensure_institution(app, KOP_PRESCHOOL, "preschool", KOPAVOGUR, "IS", None, lead)
    ensure_institution(app, KOP_PRIMARY, "primary_school", KOPAVOGUR, "IS", "person:coord-kop-2", lead)
    app.withdraw_coordinator_designation(c.WithdrawCoordinatorDesignation(
        org_ref=KOP_PRIMARY, person_ref="person:coord-kop-2"), meta(KOP_LEAD, Role.MUNICIPALITY_LEAD, 100))


def _open_with_case_manager(app: Casework, child: str, birth: date, *, notify_day: int, appoint_day: int,
                            team_day: int) -> UUID:
    mum = f"{child}-mum".replace("person:child", "person:parent")
    opened = app.register_contact(c.RegisterContact(
        child_ref=child, parent_refs=(mum,), birth_date=birth, municipality_ref=KOPAVOGUR,
        coordinator_ref=KOP_COORD, coordinator_org_ref=KOP_SCHOOL, life_stage="primary",
        conflict_of_interest_declared_none=True), coordinator(0))
    case_id = opened.case_id
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id="req-1", requested_by_refs=(mum,), requester_roles=("parent",), written=True,
        form_doc_ref="doc:req-1"), coordinator(1))
    app.record_service(c.RecordService(
        case_id=case_id, service_id="svc-l3", provider_org_ref=KOP_SOCIAL, service_level=3,
        service_type_code="family_support", start_date=(STORY_START + timedelta(days=2)).date()), coordinator(2))
    app.notify_need_for_case_manager(c.NotifyNeedForCaseManager(case_id=case_id, municipality_ref=KOPAVOGUR),
                                     coordinator(notify_day))
    app.appoint_case_manager(c.AppointCaseManager(
        case_id=case_id, case_manager_ref=KOP_CM, municipality_ref=KOPAVOGUR, org_unit_ref=KOP_SOCIAL,
        needs_l2_l3_multilevel=True, long_term=True, works_in_social_services_or_area_of_needs=True),
        meta(KOP_LEAD, Role.MUNICIPALITY_LEAD, appoint_day))
    app.establish_support_team(c.EstablishSupportTeam(case_id=case_id, team_id="team-1", members=(
        TeamMember("person:teacher-kop", KOP_SCHOOL, MemberType.SERVICE_PROVIDER_REP),)), case_manager(team_day))
    return case_id


def closure_without_plan(app: Casework) -> None:
    """Child A: services at levels 2 and 3, a case manager in 2 days, a team that ends on day 20 without a
    plan (IS-INV-6); the mother complains to GEV on day 25, GEV answers on day 60."""
    case_id = _open_with_case_manager(app, CHILD_A, date(2012, 5, 5), notify_day=4, appoint_day=6, team_day=8)
    app.record_service(c.RecordService(
        case_id=case_id, service_id="svc-l2", provider_org_ref=KOP_SCHOOL, service_level=2,
        service_type_code="school_specialist", start_date=(STORY_START + timedelta(days=9)).date()), case_manager(9))
    app.conclude_support_team(c.ConcludeSupportTeam(case_id=case_id, outcome="concluded_without_plan",
                                                    justification_doc_ref="doc:why-no-plan"), case_manager(20))
    app.record_complaint(c.RecordComplaint(
        case_id=case_id, complaint_id="gev-kop-1", complainant_ref="person:parent-kop-a-mum",
        complainant_capacity="user", subject="team_concluded_without_plan"), coordinator(25))
    app.record_complaint_outcome(c.RecordComplaintOutcome(
        case_id=case_id, complaint_id="gev-kop-1", outcome_summary_ref="doc:gev-report-1"), coordinator(60))


def seventeen_without_transition_plan(app: Casework) -> None:
    """Child B, born 1 Dec 2008: case manager needed on day 3, appointed on day 10 (7 days), team on day 12,
    plan on day 30 with a review on 1 Sep 2025 that never happens (the clock records the breach on day 183), and
    no adult transition plan."""
    case_id = _open_with_case_manager(app, CHILD_B, date(2008, 12, 1), notify_day=3, appoint_day=10, team_day=12)
    app.adopt_support_plan(c.AdoptSupportPlan(case_id=case_id, plan_id="plan-b", content=SupportPlanContent(
        needs_assessment_ref="doc:needs-b", objectives=("doc:objective-b",),
        provider_roles=(ProviderRole(KOP_SOCIAL, "doc:role-b"),), evaluation_method="team_review_against_objectives",
        valid_from=date(2025, 4, 2), valid_to=date(2026, 4, 1), review_dates=(date(2025, 9, 1),),
        participants=("person:parent-kop-b-mum", KOP_CM), parents_participated=True)), case_manager(30))
    # the law's clock: the review of 1 Sep 2025 is overdue the next day (T4 breached)
    app.record_due_deadlines(c.RecordDueDeadlines(case_id=case_id), meta("person:system", Role.SYSTEM, 183))


def slow_contact_then_withdrawal(app: Casework) -> None:
    """Child C (born 2015): information shared on day 2 (a Wednesday), the family contacted on day 10:
    8 days, 6 working days; a level-1 service from day 12 to day 40; the request withdrawn on day 50."""
    mum = "person:parent-kop-c"
    case_id = app.register_contact(c.RegisterContact(
        child_ref=CHILD_C, parent_refs=(mum,), birth_date=date(2015, 1, 1), municipality_ref=KOPAVOGUR,
        coordinator_ref=KOP_COORD, coordinator_org_ref=KOP_SCHOOL, life_stage="primary",
        conflict_of_interest_declared_none=True), coordinator(0)).case_id
    app.sign_information_sharing_request(c.SignInformationSharingRequest(
        case_id=case_id, request_id="share-c", signatory_refs=(mum,), source_provider_org_refs=(KOP_HEALTH,),
        target_refs=(KOP_COORD,), form_doc_ref="doc:share-c"), coordinator(1))
    app.share_information_with_coordinator(c.ShareInformationWithCoordinator(
        case_id=case_id, request_id="share-c", source_provider_org_ref=KOP_HEALTH, recipient_ref=KOP_COORD,
        summary_doc_ref="doc:summary-c"), meta("person:nurse-kop", Role.SERVICE_PROVIDER_REP, 2, KOP_HEALTH))
    app.record_contact_with_family(c.RecordContactWithFamily(
        case_id=case_id, offered_to=("parent",), contact_refs=(mum,), response="accepted"), coordinator(10))
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id="req-c", requested_by_refs=(mum,), requester_roles=("parent",), written=True,
        form_doc_ref="doc:req-c"), coordinator(11))
    app.record_service(c.RecordService(
        case_id=case_id, service_id="svc-c", provider_org_ref=KOP_SCHOOL, service_level=1,
        service_type_code="study_support", start_date=date(2025, 3, 15)), coordinator(12))
    app.end_service(c.EndService(case_id=case_id, service_id="svc-c", end_date=date(2025, 4, 12)), coordinator(40))
    app.withdraw_integration_request(c.WithdrawIntegrationRequest(
        case_id=case_id, request_id="req-c", withdrawn_by_ref=mum), coordinator(50))


def akureyri_preschoolers(app: Casework) -> None:
    """Five children born 2020, each with one level-1 service from 10 March 2025."""
    lead = meta("person:lead-aku", Role.MUNICIPALITY_LEAD, 0)
    ensure_institution(app, AKU_PRESCHOOL, "preschool", AKUREYRI, "IS", AKU_COORD, lead)
    for n in range(1, 6):
        child, mum = f"person:child-aku-{n}", f"person:parent-aku-{n}"
        at = meta(AKU_COORD, Role.COORDINATOR, 1, AKU_PRESCHOOL)
        case_id = app.register_contact(c.RegisterContact(
            child_ref=child, parent_refs=(mum,), birth_date=date(2020, n, 1), municipality_ref=AKUREYRI,
            coordinator_ref=AKU_COORD, coordinator_org_ref=AKU_PRESCHOOL, life_stage="preschool",
            conflict_of_interest_declared_none=True), at).case_id
        app.record_integration_request(c.RecordIntegrationRequest(
            case_id=case_id, request_id="req", requested_by_refs=(mum,), requester_roles=("parent",), written=True,
            form_doc_ref="doc:req-aku"), at)
        app.record_service(c.RecordService(
            case_id=case_id, service_id="svc", provider_org_ref=AKU_PRESCHOOL, service_level=1,
            service_type_code="early_support", start_date=date(2025, 3, 10)), at)


def norway_refusal_and_active_coordinator(app: Casework) -> None:
    """Bodø: one request refused (a condition not met), one granted with a barnekoordinator still active."""
    staff = "person:staff-bodo-1"

    def as_staff(day: int) -> CommandMeta:
        return meta(staff, Role.MUNICIPAL_STAFF, day, "org:koordinerende-enhet-bodo")

    for child, met in (("person:child-no-r", False), ("person:child-no-f", True)):
        mum = f"{child}-mum".replace("person:child", "person:parent")
        case_id = app.request_barnekoordinator(c.RequestBarnekoordinator(
            child_ref=child, parent_refs=(mum,), birth_date=date(2019, 6, 1), municipality_ref=BODO,
            request_id="r-1", channel="written", requested_by_ref=mum, family_status="child_under_18"),
            as_staff(0)).case_id
        app.assess_eligibility(c.AssessEligibility(
            case_id=case_id, criteria=EligibilityCriteria(True, met, True), family_views_doc_ref="doc:fv",
            child_views_doc_ref="doc:cv"), as_staff(5))
        app.issue_decision(c.IssueDecision(
            case_id=case_id, decision_id="d-1", decision="granted" if met else "refused", written=True,
            justification_doc_ref="doc:d-1", appeal_info_included=True,
            delivered_at=STORY_START + timedelta(days=7)), as_staff(7))
        if met:
            app.record_consent(c.RecordConsent(case_id=case_id, consent_id="consent-f", given_by_refs=(mum,),
                                               form_doc_ref="doc:consent-f"), as_staff(8))
            app.appoint_barnekoordinator(c.AppointBarnekoordinator(
                case_id=case_id, coordinator_ref=BK_ACTIVE, unit_ref="org:koordinerende-enhet-bodo",
                family_wishes_considered=True), as_staff(9))
