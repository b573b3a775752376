"""The cast of the access-matrix tests: two cases (one per law), built through ``Casework`` in memory, and for every
role the callers the matrix tries, each with the relationships the test *expects* it to hold (written here by
hand from the case's story, not computed by the access model, so the matrix can catch the model being wrong).

Scenarios per role: ``present`` (the person the case names, or the municipality's own lead/staff), ``absent``
(same role and organisation, not named by the case), ``other_municipality`` (the role in another municipality),
``other_family`` (the role-holder of another family's case). ``after withdrawal`` is the same callers on the case
whose basis the family withdrew (expected relationships in the last column).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from contracts import commands as c
from domain.access import Relation
from domain.values import Actor, EligibilityCriteria, IndividualPlanContent, Jurisdiction, MemberType, Role, TeamMember
from services.casework.application import Casework, CommandMeta
from services.walkthrough import ensure_institution

R = Relation
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
RVK, AKUREYRI, BODO, TROMSO = "muni:reykjavik", "muni:akureyri", "muni:bodo", "muni:tromso"
SCHOOL, SCHOOL_AKU, HEALTH, SOCIAL, CLUB = ("org:school-rvk", "org:school-aku", "org:health-rvk", "org:social-rvk",
                                            "org:club-rvk")
UNIT, UNIT_TROMSO = "org:unit-bodo", "org:unit-tromso"
# Iceland: the case the matrix acts on, and another family's case beside it
MUM, DAD, CHILD = "person:mum-a", "person:dad-a", "person:child-a"
OTHER_MUM, OTHER_CHILD = "person:mum-b", "person:child-b"
COORD = Actor("person:coord-a", Role.COORDINATOR, SCHOOL)
OTHER_COORD = Actor("person:coord-b", Role.COORDINATOR, SCHOOL)
CM = Actor("person:cm-a", Role.CASE_MANAGER, SOCIAL)
OTHER_CM = Actor("person:cm-b", Role.CASE_MANAGER, SOCIAL)
TEACHER = Actor("person:teacher-a", Role.SERVICE_PROVIDER_REP, SCHOOL)
NURSE = Actor("person:nurse-a", Role.SERVICE_PROVIDER_REP, HEALTH)
COACH = Actor("person:coach-a", Role.GENERAL_SERVICE_REP, CLUB)
LEAD = Actor("person:lead-rvk", Role.MUNICIPALITY_LEAD, "org:town-hall-rvk", RVK)
STAFF = Actor("person:staff-rvk", Role.MUNICIPAL_STAFF, SOCIAL, RVK)
GEV = Actor("person:gev-1", Role.SUPERVISOR, "org:gev", jurisdiction=Jurisdiction.ICELAND)
BOFS = Actor("person:bofs-1", Role.NATIONAL_AGENCY, "org:bofs", jurisdiction=Jurisdiction.ICELAND)
CLOCK = Actor("person:system", Role.SYSTEM)
# Norway
NO_MUM, NO_CHILD, NO_OTHER_MUM = "person:mum-n", "person:child-n", "person:mum-m"
BK = Actor("person:bk-n", Role.COORDINATOR, UNIT)
NO_STAFF = Actor("person:staff-bodo", Role.MUNICIPAL_STAFF, UNIT, BODO)
NO_LEAD = Actor("person:lead-bodo", Role.MUNICIPALITY_LEAD, "org:town-hall-bodo", BODO)
STATSFORVALTER = Actor("person:sf-1", Role.SUPERVISOR, "org:statsforvalteren", jurisdiction=Jurisdiction.NORWAY)


@dataclass(frozen=True)
class Caller:
    role: Role
    scenario: str
    actor: Actor
    active: frozenset[Relation]
    """The relationships the caller holds while the basis stands."""
    withdrawn: frozenset[Relation]
    """... and after the family withdrew it."""

    @property
    def label(self) -> str:
        return f"{self.role.value}/{self.scenario}/{self.actor.person_ref}"


def _f(*relations: Relation) -> frozenset[Relation]:
    return frozenset(relations)


def _a(person: str, role: Role, org: str | None = None, muni: str | None = None,
       jurisdiction: Jurisdiction | None = None) -> Actor:
    return Actor(person, role, org, muni, jurisdiction)


NONE = _f()
ICELAND_CALLERS: tuple[Caller, ...] = (
    Caller(Role.COORDINATOR, "present", COORD, _f(R.COORDINATOR, R.SHARING_RECIPIENT), _f(R.FORMER_CASEWORKER)),
    Caller(Role.COORDINATOR, "absent", _a("person:coord-x", Role.COORDINATOR, SCHOOL), NONE, NONE),
    Caller(Role.COORDINATOR, "other_municipality", _a("person:coord-aku", Role.COORDINATOR, SCHOOL_AKU), NONE, NONE),
    # the case's coordinator acting for another institution is not its coordinator, only the sharing recipient
    Caller(Role.COORDINATOR, "other_institution", _a(COORD.person_ref, Role.COORDINATOR, SCHOOL_AKU),
           _f(R.SHARING_RECIPIENT), NONE),
    Caller(Role.COORDINATOR, "other_family", OTHER_COORD, NONE, NONE),
    Caller(Role.CASE_MANAGER, "present", CM, _f(R.CASE_MANAGER), _f(R.FORMER_CASEWORKER)),
    Caller(Role.CASE_MANAGER, "absent", _a("person:cm-x", Role.CASE_MANAGER, SOCIAL), NONE, NONE),
    Caller(Role.CASE_MANAGER, "other_municipality", _a("person:cm-aku", Role.CASE_MANAGER, "org:social-aku"),
           NONE, NONE),
    Caller(Role.CASE_MANAGER, "other_family", OTHER_CM, NONE, NONE),
    Caller(Role.SERVICE_PROVIDER_REP, "present", TEACHER, _f(R.TEAM_MEMBER, R.TEAM_PROVIDER), NONE),
    Caller(Role.SERVICE_PROVIDER_REP, "present", NURSE, _f(R.SHARING_PROVIDER), NONE),
    Caller(Role.SERVICE_PROVIDER_REP, "absent", _a("person:teacher-x", Role.SERVICE_PROVIDER_REP, SCHOOL_AKU),
           NONE, NONE),
    Caller(Role.SERVICE_PROVIDER_REP, "other_municipality", _a("person:nurse-aku", Role.SERVICE_PROVIDER_REP,
                                                              "org:health-aku"), NONE, NONE),
    Caller(Role.SERVICE_PROVIDER_REP, "other_family", _a("person:teacher-b", Role.SERVICE_PROVIDER_REP, SCHOOL),
           NONE, NONE),
    Caller(Role.GENERAL_SERVICE_REP, "present", COACH, _f(R.TEAM_MEMBER), NONE),
    Caller(Role.GENERAL_SERVICE_REP, "absent", _a("person:coach-x", Role.GENERAL_SERVICE_REP, CLUB), NONE, NONE),
    Caller(Role.PARENT, "present", _a(MUM, Role.PARENT), _f(R.PARENT), _f(R.PARENT)),
    Caller(Role.PARENT, "present", _a(DAD, Role.PARENT), _f(R.PARENT), _f(R.PARENT)),
    Caller(Role.PARENT, "absent", _a("person:mum-x", Role.PARENT), NONE, NONE),
    Caller(Role.PARENT, "other_family", _a(OTHER_MUM, Role.PARENT), NONE, NONE),
    Caller(Role.YOUNG_PERSON, "present", _a(CHILD, Role.YOUNG_PERSON), _f(R.CHILD), _f(R.CHILD)),
    Caller(Role.YOUNG_PERSON, "other_family", _a(OTHER_CHILD, Role.YOUNG_PERSON), NONE, NONE),
    Caller(Role.YOUNG_PERSON, "absent", _a(MUM, Role.YOUNG_PERSON), NONE, NONE),
    Caller(Role.MUNICIPALITY_LEAD, "present", LEAD, _f(R.DOMICILE_LEAD), _f(R.DOMICILE_LEAD)),
    Caller(Role.MUNICIPALITY_LEAD, "other_municipality", _a("person:lead-aku", Role.MUNICIPALITY_LEAD,
                                                           "org:town-hall-aku", AKUREYRI), NONE, NONE),
    Caller(Role.MUNICIPAL_STAFF, "present", STAFF, _f(R.DOMICILE_STAFF), _f(R.DOMICILE_STAFF)),
    Caller(Role.MUNICIPAL_STAFF, "other_municipality", _a("person:staff-aku", Role.MUNICIPAL_STAFF,
                                                         "org:social-aku", AKUREYRI), NONE, NONE),
    Caller(Role.SUPERVISOR, "present", GEV, _f(R.SUPERVISOR), _f(R.SUPERVISOR)),
    Caller(Role.SUPERVISOR, "other_municipality", STATSFORVALTER, NONE, NONE),
    Caller(Role.NATIONAL_AGENCY, "present", BOFS, NONE, NONE),
    Caller(Role.SYSTEM, "present", CLOCK, _f(R.CLOCK), _f(R.CLOCK)),
)
NORWAY_CALLERS: tuple[Caller, ...] = (
    Caller(Role.COORDINATOR, "present", BK, _f(R.COORDINATOR), _f(R.FORMER_CASEWORKER)),
    Caller(Role.COORDINATOR, "absent", _a("person:bk-x", Role.COORDINATOR, UNIT), NONE, NONE),
    Caller(Role.COORDINATOR, "other_municipality", _a("person:bk-tromso", Role.COORDINATOR, UNIT_TROMSO), NONE, NONE),
    Caller(Role.CASE_MANAGER, "absent", CM, NONE, NONE),
    Caller(Role.SERVICE_PROVIDER_REP, "absent", NURSE, NONE, NONE),
    Caller(Role.GENERAL_SERVICE_REP, "absent", COACH, NONE, NONE),
    Caller(Role.PARENT, "present", _a(NO_MUM, Role.PARENT), _f(R.PARENT), _f(R.PARENT)),
    Caller(Role.PARENT, "other_family", _a(NO_OTHER_MUM, Role.PARENT), NONE, NONE),
    Caller(Role.YOUNG_PERSON, "present", _a(NO_CHILD, Role.YOUNG_PERSON), _f(R.CHILD), _f(R.CHILD)),
    Caller(Role.YOUNG_PERSON, "other_family", _a(OTHER_CHILD, Role.YOUNG_PERSON), NONE, NONE),
    Caller(Role.MUNICIPALITY_LEAD, "present", NO_LEAD, _f(R.DOMICILE_LEAD), _f(R.DOMICILE_LEAD)),
    Caller(Role.MUNICIPALITY_LEAD, "other_municipality", LEAD, NONE, NONE),
    Caller(Role.MUNICIPAL_STAFF, "present", NO_STAFF, _f(R.DOMICILE_STAFF), _f(R.DOMICILE_STAFF)),
    Caller(Role.MUNICIPAL_STAFF, "other_municipality", _a("person:staff-tromso", Role.MUNICIPAL_STAFF, UNIT_TROMSO,
                                                         TROMSO), NONE, NONE),
    Caller(Role.SUPERVISOR, "present", STATSFORVALTER, _f(R.SUPERVISOR), _f(R.SUPERVISOR)),
    Caller(Role.SUPERVISOR, "other_municipality", GEV, NONE, NONE),
    Caller(Role.NATIONAL_AGENCY, "present", _a("person:bufdir-1", Role.NATIONAL_AGENCY, "org:bufdir",
                                               jurisdiction=Jurisdiction.NORWAY), NONE, NONE),
    Caller(Role.SYSTEM, "present", CLOCK, _f(R.CLOCK), _f(R.CLOCK)),
)


def at(actor: Actor, days_ago: int) -> CommandMeta:
    return CommandMeta(actor, NOW - timedelta(days=days_ago))


def _iceland_case(app: Casework, child: str, mum: str, coord: Actor, cm: Actor, dad: str | None = None) -> UUID:
    parents = (mum,) if dad is None else (mum, dad)
    case_id = app.register_contact(c.RegisterContact(
        child_ref=child, parent_refs=parents, birth_date=date(2012, 5, 1), municipality_ref=RVK,
        coordinator_ref=coord.person_ref, coordinator_org_ref=SCHOOL, life_stage="primary",
        conflict_of_interest_declared_none=True), at(coord, 90)).case_id
    app.sign_information_sharing_request(c.SignInformationSharingRequest(
        case_id=case_id, request_id="share-1", signatory_refs=(mum,), source_provider_org_refs=(HEALTH,),
        target_refs=(coord.person_ref,), form_doc_ref="doc:share-1"), at(coord, 89))
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id="request-1", requested_by_refs=(mum,), requester_roles=("parent",), written=True,
        form_doc_ref="doc:request-1"), at(coord, 88))
    app.record_service(c.RecordService(
        case_id=case_id, service_id="svc-1", provider_org_ref=SOCIAL, service_level=3,
        service_type_code="family_support", start_date=date(2026, 3, 1)), at(coord, 87))
    app.notify_need_for_case_manager(c.NotifyNeedForCaseManager(case_id=case_id, municipality_ref=RVK), at(coord, 86))
    app.appoint_case_manager(c.AppointCaseManager(
        case_id=case_id, case_manager_ref=cm.person_ref, municipality_ref=RVK, org_unit_ref=SOCIAL,
        needs_l2_l3_multilevel=True, long_term=True, works_in_social_services_or_area_of_needs=True), at(LEAD, 85))
    teacher = TEACHER.person_ref if cm is CM else "person:teacher-b"
    app.establish_support_team(c.EstablishSupportTeam(case_id=case_id, team_id="team-1", members=(
        TeamMember(teacher, SCHOOL, MemberType.SERVICE_PROVIDER_REP),)), at(cm, 84))
    if cm is CM:
        app.invite_general_service_provider(c.InviteGeneralServiceProvider(
            case_id=case_id, person_ref=COACH.person_ref, org_ref=CLUB, necessity_justification_ref="doc:why"),
            at(cm, 83))
    app.record_complaint(c.RecordComplaint(
        case_id=case_id, complaint_id="gev-1", complainant_ref=mum, complainant_capacity="user",
        subject="service_quality"), at(coord, 82))
    return case_id


def iceland(app: Casework, *, withdrawn: bool) -> UUID:
    """The Icelandic case with an active support team (case manager, teacher, coach), an active information-sharing
    request (health centre → coordinator) and a complaint; beside it another family's case."""
    for org, kind, coordinators in ((SCHOOL, "primary_school", (COORD, OTHER_COORD)),
                                    (SCHOOL_AKU, "primary_school", ())):
        muni = RVK if org == SCHOOL else AKUREYRI
        lead = LEAD if org == SCHOOL else Actor("person:lead-aku", Role.MUNICIPALITY_LEAD, "org:th-aku", AKUREYRI)
        for coordinator in coordinators:
            ensure_institution(app, org, kind, muni, "IS", coordinator.person_ref, at(lead, 100))
        ensure_institution(app, org, kind, muni, "IS", None, at(lead, 100))
    _iceland_case(app, OTHER_CHILD, OTHER_MUM, OTHER_COORD, OTHER_CM)
    case_id = _iceland_case(app, CHILD, MUM, COORD, CM, DAD)
    if withdrawn:
        app.withdraw_integration_request(c.WithdrawIntegrationRequest(
            case_id=case_id, request_id="request-1", withdrawn_by_ref=MUM), at(_a(MUM, Role.PARENT), 80))
    return case_id


def _norway_case(app: Casework, child: str, mum: str, staff: Actor, muni: str) -> UUID:
    case_id = app.request_barnekoordinator(c.RequestBarnekoordinator(
        child_ref=child, parent_refs=(mum,), birth_date=date(2016, 5, 2), municipality_ref=muni,
        request_id="request-1", channel="oral", requested_by_ref=mum, family_status="child_under_18"),
        at(staff, 90)).case_id
    app.assess_eligibility(c.AssessEligibility(
        case_id=case_id, criteria=EligibilityCriteria(True, True, True), family_views_doc_ref="doc:family",
        child_views_doc_ref="doc:child"), at(staff, 89))
    app.issue_decision(c.IssueDecision(
        case_id=case_id, decision_id="decision-1", decision="granted", written=True, justification_doc_ref="doc:d1",
        appeal_info_included=True, delivered_at=NOW - timedelta(days=88)), at(staff, 88))
    app.record_consent(c.RecordConsent(case_id=case_id, consent_id="consent-1", given_by_refs=(mum,),
                                       form_doc_ref="doc:consent-1"), at(staff, 87))
    return case_id


def norway(app: Casework, *, withdrawn: bool) -> UUID:
    """The Norwegian case with an appointed barnekoordinator and the family's consent; beside it another family's
    case in Tromsø."""
    tromso_staff = Actor("person:staff-tromso", Role.MUNICIPAL_STAFF, UNIT_TROMSO, TROMSO)
    _norway_case(app, OTHER_CHILD, NO_OTHER_MUM, tromso_staff, TROMSO)
    case_id = _norway_case(app, NO_CHILD, NO_MUM, NO_STAFF, BODO)
    app.appoint_barnekoordinator(c.AppointBarnekoordinator(case_id=case_id, coordinator_ref=BK.person_ref,
                                                           unit_ref=UNIT, family_wishes_considered=True),
                                 at(NO_STAFF, 86))
    if withdrawn:
        app.withdraw_consent(c.WithdrawConsent(case_id=case_id, consent_id="consent-1", withdrawn_by_ref=NO_MUM),
                             at(_a(NO_MUM, Role.PARENT), 80))
    return case_id


IP = IndividualPlanContent(
    goals_resources_and_needs_ref="doc:g", participants=(NO_MUM,), responsible_for_coordination_ref="doc:r",
    contributions_ref="doc:c", measures_ref="doc:m", implementation_ref="doc:i", plan_period_from=date(2026, 6, 1),
    plan_period_to=date(2027, 5, 31), revision_dates=(date(2026, 12, 1),), recipient_consent_to_plan=True,
    recipient_consent_to_sharing=True, cooperation_with_other_services_ref="doc:co")
