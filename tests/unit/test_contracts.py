"""The published event contracts: every fact has one, every payload matches its checked-in JSON Schema
(checked with the independent ``jsonschema`` package), subjects follow the scheme, and nothing private
(birth dates, Python topics, the domain's ``ctx``) leaves the system."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import DomainEvent
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from contracts import commands as c
from contracts.events import DIRECTORY_EVENT_TYPES, EVENT_MODELS, EventEnvelopeV1, event_type_of, parse_event
from contracts.mapping import (
    ENVELOPE_SOURCES,
    PUBLISHED_TOPICS,
    STORE_FIELDS,
    MunicipalityTracker,
    PublishedEvent,
    UnknownPlacementError,
    UnmappedEventError,
    contract_for,
    contract_sources,
    mapped_event_classes,
    repository_lookup,
    to_published,
)
from contracts.subjects import (
    STREAM_SUBJECTS,
    directory_filter,
    event_type_filter,
    jurisdiction_filter,
    municipality_filter,
    municipality_token,
    subject_for,
    subject_matches,
)
from domain.case import Case
from domain.case_iceland import IcelandCase
from domain.case_norway import NorwayCase
from domain.case_norway_duties import NorwayCoordination
from domain.directory import Institution
from domain.legal_settings import LegalSettings
from domain.values import Actor, Context, EligibilityCriteria, Jurisdiction, MemberType, Role, TeamMember
from services.casework.application import Casework, CommandMeta
from services.walkthrough import START, ensure_institution, iceland_lifecycle, norway_lifecycle
from tests.unit.rights_scenario import rights_scenario

SCHEMAS = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
AGGREGATES = (IcelandCase, NorwayCase, NorwayCoordination, Case, Institution)
BIRTH_DATES = ("2008-09-15", "2016-05-02", "2007-03-01", "2006-02-01", "2007-05-05", "2007-06-06", "2007-07-07",
               "2015-01-01", "2006-08-01", "2006-01-20", "2012-05-05")
"""The birth dates the scenarios record: none may appear in any payload."""
MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"}


def facts(aggregate: type) -> list[type]:
    """The ``@event`` facts an aggregate class defines: its nested DomainEvent classes, without the two
    generic ones eventsourcing adds to every aggregate (``Event``, the base, and ``Created``, unused when
    ``__init__`` is decorated with the aggregate's own creation fact)."""
    return [value for name, value in vars(aggregate).items()
            if isinstance(value, type) and issubclass(value, DomainEvent) and name not in {"Event", "Created"}]


ALL_FACTS = [fact for aggregate in AGGREGATES for fact in facts(aggregate)]


@cache
def schema(event_type: str) -> Draft202012Validator:
    document = json.loads((SCHEMAS / f"{event_type}.v1.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)


MUNI_OF_ROLE = {Role.MUNICIPALITY_LEAD: "muni:reykjavik", Role.MUNICIPAL_STAFF: "muni:bodo"}
"""The municipality the scenarios' leads and staff act for (the access model decides by it)."""


def _meta(person: str, role: Role, day: int, org: str | None = None,
          correlation: str = "edge-scenarios") -> CommandMeta:
    return CommandMeta(Actor(person, role, org, MUNI_OF_ROLE.get(role)), START + timedelta(days=day), correlation)


def domicile_scenario(app: Casework) -> UUID:
    """An Icelandic family (a child in upper secondary school, LIFE-1) that moves from Reykjavík to Hafnarfjörður
    after the request, then gets a service."""
    coord, school, mum, child = "person:coord-is-1", "org:school-rvk-1", "person:parent-is-9", "person:child-is-9"

    def at(day: int) -> CommandMeta:
        return _meta(coord, Role.COORDINATOR, day, school, "domicile-scenario")

    case_id = app.register_contact(c.RegisterContact(
        child_ref=child, parent_refs=(mum,), birth_date=date(2007, 3, 1), municipality_ref="muni:reykjavik",
        coordinator_ref=coord, coordinator_org_ref=school, life_stage="secondary",
        conflict_of_interest_declared_none=True), at(1)).case_id
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id="request-9", requested_by_refs=(mum,), requester_roles=("parent",),
        written=True, form_doc_ref="doc:request-form-9"), at(2))
    app.change_domicile(c.ChangeDomicile(case_id=case_id, to_municipality_ref="muni:hafnarfjordur"), at(3))
    app.record_service(c.RecordService(
        case_id=case_id, service_id="svc-9", provider_org_ref=school, service_level=2,
        service_type_code="study_support", start_date=date(2024, 2, 1)), at(4))
    return case_id


def edge_scenarios(app: Casework) -> None:
    """The facts the two walkthroughs do not record: guidance, a coordinator change, first-level work,
    majority, a withdrawal, a team concluded without a plan and the complaint about it, a plain close,
    a withdrawn consent and a withdrawn designation."""
    coord, school, lead = "person:coord-is-1", "org:school-rvk-1", "person:lead-rvk"
    coord2, school2 = "person:coord-is-2", "org:school-rvk-2"

    def as_coord(day: int, who: str = coord, org: str = school) -> CommandMeta:
        return _meta(who, Role.COORDINATOR, day, org)

    ensure_institution(app, school2, "secondary_school", "muni:reykjavik", "IS", coord2,
                       _meta(lead, Role.MUNICIPALITY_LEAD, 0))
    app.designate_coordinator(c.DesignateCoordinator(org_ref=school2, person_ref="person:coord-is-3"),
                              _meta(lead, Role.MUNICIPALITY_LEAD, 0))
    app.withdraw_coordinator_designation(c.WithdrawCoordinatorDesignation(
        org_ref=school2, person_ref="person:coord-is-3"), _meta(lead, Role.MUNICIPALITY_LEAD, 1))

    def open_case(child: str, parent: str, birth_date: date, day: int) -> UUID:
        return app.register_contact(c.RegisterContact(
            child_ref=child, parent_refs=(parent,), birth_date=birth_date, municipality_ref="muni:reykjavik",
            coordinator_ref=coord, coordinator_org_ref=school, life_stage="secondary",
            conflict_of_interest_declared_none=True), as_coord(day)).case_id

    def request(case_id: UUID, parent: str, day: int, who: str = coord, org: str = school) -> None:
        app.record_integration_request(c.RecordIntegrationRequest(
            case_id=case_id, request_id=f"request-{parent}", requested_by_refs=(parent,), requester_roles=("parent",),
            written=True, form_doc_ref="doc:request-form-e"), as_coord(day, who, org))

    # first-level work, a new coordinator, and majority (born 2006-02-01: 18 on day 24)
    first = open_case("person:child-e-1", "person:parent-e-1", date(2006, 2, 1), 1)
    app.record_integration_guidance(c.RecordIntegrationGuidance(
        case_id=first, provider_org_ref="org:healthcentre-rvk-1", provider_person_ref="person:nurse-1",
        given_to="parent"), as_coord(1))  # told by the family; the nurse is not related to the case (ACCESS-IS-R2)
    app.change_coordinator(c.ChangeCoordinator(
        case_id=first, coordinator_ref=coord2, coordinator_org_ref=school2, life_stage_basis="secondary",
        conflict_of_interest_declared_none=True, handover_note_doc_ref="doc:handover-1"), as_coord(2))
    request(first, "person:parent-e-1", 3, coord2, school2)
    app.arrange_initial_assessment(c.ArrangeInitialAssessment(
        case_id=first, assessor_org_ref="org:healthcentre-rvk-1", planned_date=date(2024, 1, 20)),
        as_coord(4, coord2, school2))
    app.record_service(c.RecordService(
        case_id=first, service_id="svc-e-1", provider_org_ref=school2, service_level=1,
        service_type_code="study_support", start_date=date(2024, 1, 15)), as_coord(5, coord2, school2))
    app.record_level1_plan(c.RecordLevel1Plan(
        case_id=first, objective_refs=("doc:objective-e-1",), responsible_org_refs=(school2,),
        follow_up_date=date(2024, 3, 1)), as_coord(6, coord2, school2))
    app.end_service(c.EndService(case_id=first, service_id="svc-e-1", end_date=date(2024, 1, 30)),
                    as_coord(22, coord2, school2))
    app.record_majority(c.RecordMajority(case_id=first), _meta("person:system", Role.SYSTEM, 24))

    # the family withdraws its request
    second = open_case("person:child-e-2", "person:parent-e-2", date(2007, 5, 5), 1)
    request(second, "person:parent-e-2", 2)
    app.withdraw_integration_request(c.WithdrawIntegrationRequest(
        case_id=second, request_id="request-person:parent-e-2", withdrawn_by_ref="person:parent-e-2",
        reason_code="family_moved_on"), as_coord(3))

    # a team that ends without a plan, and the complaint to GEV about it
    third = open_case("person:child-e-3", "person:parent-e-3", date(2007, 6, 6), 1)
    cm = "person:cm-is-1"
    request(third, "person:parent-e-3", 2)
    app.record_service(c.RecordService(
        case_id=third, service_id="svc-e-3", provider_org_ref="org:social-rvk", service_level=3,
        service_type_code="family_support", start_date=date(2024, 1, 15)), as_coord(3))
    app.notify_need_for_case_manager(c.NotifyNeedForCaseManager(case_id=third, municipality_ref="muni:reykjavik"),
                                     as_coord(4))
    app.appoint_case_manager(c.AppointCaseManager(
        case_id=third, case_manager_ref=cm, municipality_ref="muni:reykjavik", org_unit_ref="org:social-rvk",
        needs_l2_l3_multilevel=True, long_term=True, works_in_social_services_or_area_of_needs=True),
        _meta(lead, Role.MUNICIPALITY_LEAD, 5))
    as_cm = _meta(cm, Role.CASE_MANAGER, 6, "org:social-rvk")
    app.establish_support_team(c.EstablishSupportTeam(case_id=third, team_id="team-e-3", members=(
        TeamMember("person:teacher-e-3", school, MemberType.SERVICE_PROVIDER_REP),
        TeamMember("person:therapist-e-3", "org:social-rvk", MemberType.SERVICE_PROVIDER_REP))), as_cm)
    app.remove_team_member(c.RemoveTeamMember(case_id=third, person_ref="person:therapist-e-3",
                                              reason_code="service_ended"), as_cm)
    app.conclude_support_team(c.ConcludeSupportTeam(case_id=third, outcome="concluded_without_plan",
                                                    justification_doc_ref="doc:no-plan-e-3"), as_cm)
    app.record_complaint(c.RecordComplaint(
        case_id=third, complaint_id="gev-e-3", complainant_ref="person:parent-e-3", complainant_capacity="user",
        subject="team_concluded_without_plan"), as_coord(10))
    app.record_complaint_outcome(c.RecordComplaintOutcome(
        case_id=third, complaint_id="gev-e-3", outcome_summary_ref="doc:gev-report-e-3",
        recommendation_codes=("draw_up_plan",), deadline_for_improvement=date(2024, 6, 1)), as_coord(60))

    # a case closed before anything happened
    fourth = open_case("person:child-e-4", "person:parent-e-4", date(2007, 7, 7), 1)
    app.close_case(c.CloseCase(case_id=fourth, closure_reason="no_further_need"), as_coord(2))

    # Norway: consent given, then withdrawn
    staff, unit, mum = "person:staff-bodo-1", "org:koordinerende-enhet-bodo", "person:parent-no-e"

    def as_staff(day: int) -> CommandMeta:
        return _meta(staff, Role.MUNICIPAL_STAFF, day, unit)

    norway = app.request_barnekoordinator(c.RequestBarnekoordinator(
        child_ref="person:child-no-e", parent_refs=(mum,), birth_date=date(2015, 1, 1), municipality_ref="muni:bodo",
        request_id="no-request-e", channel="written", requested_by_ref=mum, family_status="child_under_18"),
        as_staff(0)).case_id
    app.assess_eligibility(c.AssessEligibility(
        case_id=norway, criteria=EligibilityCriteria(True, True, True), family_views_doc_ref="doc:family-views-e",
        child_views_doc_ref="doc:child-views-e"), as_staff(5))
    app.issue_decision(c.IssueDecision(
        case_id=norway, decision_id="decision-e", decision="granted", written=True,
        justification_doc_ref="doc:decision-e", appeal_info_included=True,
        delivered_at=START + timedelta(days=7)), as_staff(6))
    app.record_consent(c.RecordConsent(case_id=norway, consent_id="consent-e", given_by_refs=(mum,),
                                       form_doc_ref="doc:consent-e"), as_staff(8))
    app.withdraw_consent(c.WithdrawConsent(case_id=norway, consent_id="consent-e", withdrawn_by_ref=mum),
                         as_staff(9))
    issue12_scenarios(app)


def issue12_scenarios(app: Casework) -> None:
    """Issue 12: a level lowered (3 → 2), the barnekoordinator's duties after the decision, and complaints on the
    grounds the law adds (the right not fulfilled; no ordinary coordinator decided within N days after 18)."""
    coord, school = "person:coord-is-1", "org:school-rvk-1"
    as_coord = _meta(coord, Role.COORDINATOR, 3, school)
    lowered = app.register_contact(c.RegisterContact(
        child_ref="person:child-e-5", parent_refs=("person:parent-e-5",), birth_date=date(2007, 6, 6),
        municipality_ref="muni:reykjavik", coordinator_ref=coord, coordinator_org_ref=school, life_stage="secondary",
        conflict_of_interest_declared_none=True), _meta(coord, Role.COORDINATOR, 1, school)).case_id
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=lowered, request_id="request-e-5", requested_by_refs=("person:parent-e-5",),
        requester_roles=("parent",), written=True, form_doc_ref="doc:request-form-e-5"), as_coord)
    for service_id, level in (("svc-e-5a", 3), ("svc-e-5b", 2)):
        app.record_service(c.RecordService(
            case_id=lowered, service_id=service_id, provider_org_ref="org:social-rvk", service_level=level,
            service_type_code="family_support", start_date=date(2024, 1, 10)), as_coord)
    app.end_service(c.EndService(case_id=lowered, service_id="svc-e-5a", end_date=date(2024, 1, 11)), as_coord)

    staff, unit, bk = "person:staff-bodo-1", "org:koordinerende-enhet-bodo", "person:bk-bodo-e"
    for child, mum, born in (("person:child-no-f", "person:parent-no-f", date(2015, 1, 1)),
                             ("person:child-no-g", "person:parent-no-g", date(2006, 1, 20))):
        case_id = app.request_barnekoordinator(c.RequestBarnekoordinator(
            child_ref=child, parent_refs=(mum,), birth_date=born, municipality_ref="muni:bodo",
            request_id=f"request-{child}", channel="oral", requested_by_ref=mum, family_status="child_under_18"),
            _meta(staff, Role.MUNICIPAL_STAFF, 0, unit)).case_id
        app.assess_eligibility(c.AssessEligibility(
            case_id=case_id, criteria=EligibilityCriteria(True, True, True), family_views_doc_ref="doc:fv",
            child_views_doc_ref="doc:cv"), _meta(staff, Role.MUNICIPAL_STAFF, 1, unit))
        app.issue_decision(c.IssueDecision(
            case_id=case_id, decision_id="grant-1", decision="granted", written=True, justification_doc_ref="doc:j",
            appeal_info_included=True, delivered_at=START + timedelta(days=2)),
            _meta(staff, Role.MUNICIPAL_STAFF, 2, unit))
        app.record_consent(c.RecordConsent(case_id=case_id, consent_id="consent-1", given_by_refs=(mum,),
                                           form_doc_ref="doc:consent"), _meta(staff, Role.MUNICIPAL_STAFF, 3, unit))
        app.appoint_barnekoordinator(c.AppointBarnekoordinator(
            case_id=case_id, coordinator_ref=bk, unit_ref=unit, family_wishes_considered=True),
            _meta(staff, Role.MUNICIPAL_STAFF, 4, unit))
    as_bk = _meta(bk, Role.COORDINATOR, 5, unit)
    app.record_guidance_given(c.RecordGuidanceGiven(
        case_id=case_id, topics=("health_and_care_services", "patient_and_user_organisations"),
        given_to_refs=("person:parent-no-g", "person:child-no-g"), summary_doc_ref="doc:guidance-g"), as_bk)
    app.communicate_referral(c.CommunicateReferral(
        case_id=case_id, kind="contact", topic="patient_and_user_organisations", target_org_ref="org:ffo",
        summary_doc_ref="doc:contact-g"), as_bk)
    app.follow_up_with_service(c.FollowUpWithService(
        case_id=case_id, target_service_org_ref="org:nav-bodo", purpose="documentation_needed",
        detail_doc_ref="doc:follow-up-g"), as_bk)
    app.initiate_reassessment(c.InitiateReassessment(
        case_id=case_id, target_service_org_ref="org:school-bodo", reason="transition", detail_doc_ref="doc:re-g"),
        as_bk)
    app.record_family_views(c.RecordFamilyViews(
        case_id=case_id, views_of_refs=("person:child-no-g",), method="conversation", summary_doc_ref="doc:v-g"),
        as_bk)
    app.link_specialist_coordinator(c.LinkSpecialistCoordinator(
        case_id=case_id, specialist_coordinator_ref="person:nlsh-coord-g", health_trust_org_ref="org:nlsh"), as_bk)
    app.receive_complaint(c.ReceiveComplaint(
        case_id=case_id, complaint_id="klage-g-1", received_by_ref=unit, ground="right_not_fulfilled"),
        _meta("person:parent-no-g", Role.PARENT, 6))
    # 18 on day 12 (2024-01-20); no decision on an ordinary coordinator 30 days later
    app.record_majority(c.RecordMajority(case_id=case_id), _meta("person:system", Role.SYSTEM, 12))
    app.receive_complaint(c.ReceiveComplaint(
        case_id=case_id, complaint_id="klage-g-2", received_by_ref=unit, ground="no_ordinary_coordinator_after_18"),
        _meta("person:parent-no-g", Role.PARENT, 43))


def clock_scenario(app: Casework) -> None:
    """The clock's facts: a case-manager-led 17-year-old warned at 17y0m and 17y6m (T5), a team with no plan past
    T3 (breached, then escalated), majority with T5 breached, and GEV's improvement deadline reached (T14) on the
    team concluded without a plan in :func:`edge_scenarios`."""
    coord, school, lead, cm = "person:coord-is-1", "org:school-rvk-1", "person:lead-rvk", "person:cm-is-5"
    clock = "person:system", Role.SYSTEM
    case_id = app.register_contact(c.RegisterContact(
        child_ref="person:child-e-6", parent_refs=("person:parent-e-6",), birth_date=date(2006, 8, 1),
        municipality_ref="muni:reykjavik", coordinator_ref=coord, coordinator_org_ref=school,
        life_stage="secondary", conflict_of_interest_declared_none=True),
        _meta(coord, Role.COORDINATOR, 1, school)).case_id
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id="request-e-6", requested_by_refs=("person:parent-e-6",),
        requester_roles=("parent",), written=True, form_doc_ref="doc:request-form-e"),
        _meta(coord, Role.COORDINATOR, 2, school))
    app.notify_need_for_case_manager(c.NotifyNeedForCaseManager(case_id=case_id, municipality_ref="muni:reykjavik"),
                                     _meta(coord, Role.COORDINATOR, 3, school))
    app.appoint_case_manager(c.AppointCaseManager(
        case_id=case_id, case_manager_ref=cm, municipality_ref="muni:reykjavik", org_unit_ref="org:social-rvk",
        needs_l2_l3_multilevel=True, long_term=True, works_in_social_services_or_area_of_needs=True),
        _meta(lead, Role.MUNICIPALITY_LEAD, 4))
    app.establish_support_team(c.EstablishSupportTeam(case_id=case_id, team_id="team-e-5", members=(
        TeamMember("person:teacher-e-5", school, MemberType.SERVICE_PROVIDER_REP),)),
        _meta(cm, Role.CASE_MANAGER, 5, "org:social-rvk"))
    for day in (40, 60):  # START is 2024-01-08: 17y6m on day 24; T3 (30 days) breached on day 36, escalated on 43
        app.record_due_deadlines(c.RecordDueDeadlines(case_id=case_id), _meta(*clock, day))
    app.record_majority(c.RecordMajority(case_id=case_id), _meta(*clock, 213))  # the 18th birthday was day 206
    third = app.case_of_natural_key(Jurisdiction.ICELAND, "person:child-e-3", 1)
    app.record_due_deadlines(c.RecordDueDeadlines(case_id=third), _meta(*clock, 160))  # day 145 is 2024-06-01


@pytest.fixture(scope="module")
def app() -> Iterator[Casework]:
    casework = Casework(env=MEMORY, legal_settings=LegalSettings(t3_plan_drafting_days=30))
    iceland_lifecycle(casework)
    norway_lifecycle(casework)
    domicile_scenario(casework)
    edge_scenarios(casework)
    clock_scenario(casework)
    rights_scenario(casework)
    yield casework


@pytest.fixture(scope="module")
def stored(app: Casework) -> list[tuple[int, Any]]:
    """Every stored fact, decoded as the relay decodes it: (notification id, domain event)."""
    return [(n.id, app.mapper.to_domain_event(n)) for n in app.recorder.select_notifications(start=None, limit=10**6,
                                                                                   topics=PUBLISHED_TOPICS)]


@pytest.fixture(scope="module")
def published(app: Casework, stored: list[tuple[int, Any]]) -> list[PublishedEvent]:
    tracker = MunicipalityTracker()
    return [tracker.to_published(event, notification_id, app.name) for notification_id, event in stored]


# ---- every fact has a contract -----------------------------------------------------------------------------
def test_the_aggregates_define_the_facts_we_expect() -> None:
    rights = 9  # the data subject's rights, facts of every case (domain.personal_data)
    assert len(facts(IcelandCase)) == 38 + rights and len(facts(NorwayCase)) == 24 + rights
    assert len(facts(Case)) == 6 + rights and len(facts(Institution)) == 3
    assert len(facts(NorwayCoordination)) == 12 + rights


@pytest.mark.parametrize("fact", ALL_FACTS, ids=lambda f: f.__qualname__)
def test_every_fact_has_a_contract(fact: type) -> None:
    model = contract_for(fact)
    assert issubclass(model, EventEnvelopeV1)
    assert EVENT_MODELS[event_type_of(model)] is model
    assert (SCHEMAS / f"{event_type_of(model)}.v1.json").exists()


@pytest.mark.parametrize("fact", ALL_FACTS, ids=lambda f: f.__qualname__)
def test_every_field_of_every_fact_is_published_or_deliberately_not(fact: type) -> None:
    fields = {f.name for f in dataclasses.fields(fact)}
    unaccounted = fields - contract_sources(fact) - STORE_FIELDS - ENVELOPE_SOURCES
    assert not unaccounted, f"{fact.__qualname__}: add {sorted(unaccounted)} to its contract or withhold them"
    unknown = contract_sources(fact) - fields
    assert not unknown, f"{fact.__qualname__}'s contract reads fields the fact does not have: {sorted(unknown)}"


def test_every_contract_is_the_contract_of_a_fact() -> None:
    assert {event_type_of(contract_for(fact)) for fact in ALL_FACTS} == set(EVENT_MODELS)
    assert set(mapped_event_classes()) <= set(ALL_FACTS)


def test_an_unknown_domain_event_is_refused_clearly() -> None:
    class NotAFact(IcelandCase.Event):
        ctx: Context

    ctx = Context(Actor("person:x", Role.SYSTEM), START)
    event = NotAFact(originator_id=UUID(int=1), originator_version=2, timestamp=START, ctx=ctx)  # type: ignore[call-arg]
    with pytest.raises(UnmappedEventError, match=r"No public contract for domain event .*NotAFact"):
        to_published(event, 1, "Casework", "muni:reykjavik")


# ---- the lifecycles, published ----------------------------------------------------------------------------
def test_the_scenarios_publish_every_event_type(published: list[PublishedEvent]) -> None:
    assert {p.contract.event_type for p in published} == set(EVENT_MODELS)


def test_every_payload_matches_its_checked_in_json_schema(published: list[PublishedEvent]) -> None:
    for p in published:
        payload = json.loads(p.payload)
        errors = sorted(schema(payload["event_type"]).iter_errors(payload), key=str)
        assert not errors, f"{p.subject}: {[e.message for e in errors]}"
        assert parse_event(p.payload) == p.contract


def test_a_payload_parsed_by_its_header_type_is_checked_against_it(published: list[PublishedEvent]) -> None:
    """A rebuild parses each payload by the type its headers name (``parse_event(payload, event_type)``): that is
    the same contract, and a payload of another type is refused, never read as the named one."""
    first, other = published[0], next(p for p in published if p.contract.event_type != published[0].contract.event_type)
    assert parse_event(first.payload, first.headers["Prosperity-Event-Type"]) == first.contract
    with pytest.raises(ValueError, match="event_type"):
        parse_event(first.payload, other.contract.event_type)
    with pytest.raises(ValueError, match="Unknown event type 'no_such_fact'"):
        parse_event(first.payload, "no_such_fact")


def test_subjects_follow_the_scheme(published: list[PublishedEvent]) -> None:
    for p in published:
        contract = p.contract
        prefix = "directory.v1" if contract.event_type in DIRECTORY_EVENT_TYPES else "cases.v1"
        assert contract.jurisdiction is not None
        assert p.subject == (f"{prefix}.{contract.jurisdiction.lower()}."
                             f"{contract.municipality_ref.removeprefix('muni:')}.{contract.event_type}")
        assert any(subject_matches(pattern, p.subject) for pattern in STREAM_SUBJECTS)
    subjects = {p.subject for p in published}
    assert "cases.v1.is.reykjavik.support_team_concluded" in subjects
    assert "cases.v1.no.bodo.barnekoordinator_consent_recorded" in subjects
    assert "directory.v1.is.reykjavik.coordinator_designated" in subjects


def test_headers_carry_the_deduplication_id_and_the_type(published: list[PublishedEvent]) -> None:
    for p in published:
        assert p.headers == {
            "Nats-Msg-Id": f"Casework:{p.contract.notification_id}",
            "Prosperity-Event-Type": p.contract.event_type,
            "Prosperity-Schema": "v1",
            "Prosperity-Correlation-Id": p.contract.correlation_id,
        }
        assert p.contract.event_id == f"{p.contract.case_id}:{p.contract.case_version}"
    assert len({p.headers["Nats-Msg-Id"] for p in published}) == len(published)


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_no_payload_carries_a_birth_date_a_topic_or_the_domain_context(published: list[PublishedEvent]) -> None:
    for p in published:
        text = p.payload.decode()
        assert not any(birth_date in text for birth_date in BIRTH_DATES), p.subject
        assert "domain." not in text and "IcelandCase" not in text and "NorwayCase" not in text, p.subject
        keys = set(_keys(json.loads(text)))
        assert not keys & {"ctx", "birth_date", "originator_id", "originator_topic", "_type_", "_data_"}, p.subject
    years = {(p.contract.event_type, json.loads(p.payload)["birth_year"]) for p in published
             if p.contract.event_type in {"contact_registered", "barnekoordinator_requested"}}
    assert years == {("contact_registered", year) for year in (2008, 2007, 2006, 2012)} | {
        ("barnekoordinator_requested", 2016), ("barnekoordinator_requested", 2015),
        ("barnekoordinator_requested", 2006)}


def test_named_meanings_of_the_design_card(published: list[PublishedEvent]) -> None:
    by_type = {p.contract.event_type: p.contract for p in published}
    for consent in ("integration_requested", "barnekoordinator_consent_recorded"):
        assert "Consent given" in (EVENT_MODELS[consent].__doc__ or "")
    assert "Level raised" in (EVENT_MODELS["level_raised"].__doc__ or "")
    assert "Member invited" in (EVENT_MODELS["support_team_member_invited"].__doc__ or "")
    assert "Plan evaluated" in (EVENT_MODELS["support_plan_evaluated"].__doc__ or "")
    for complaint in ("complaint_lodged", "complaint_received"):
        assert "Complaint lodged" in (EVENT_MODELS[complaint].__doc__ or "")
    assert by_type["adult_transition_plan_adopted"].rule_id == "IS-INV-7"
    assert by_type["barnekoordinator_decision_issued"].legal_basis == "pbrl § 2-5 c; hol § 7-2 a"
    assert by_type["contact_registered"].legal_basis == "Act 86/2021"
    assert by_type["coordinator_designated"].legal_basis is None


# ---- municipalities ----------------------------------------------------------------------------------------
def test_a_case_follows_its_domicile(app: Casework, published: list[PublishedEvent]) -> None:
    moved = [p for p in published if p.contract.correlation_id == "domicile-scenario"]
    assert [p.subject for p in moved] == [
        "cases.v1.is.reykjavik.contact_registered",
        "cases.v1.is.reykjavik.integration_requested",
        "cases.v1.is.hafnarfjordur.domicile_changed",
        "cases.v1.is.hafnarfjordur.service_recorded",
        "cases.v1.is.hafnarfjordur.level_raised",
    ]


def test_a_relay_restarting_mid_log_finds_municipalities_by_lookup_or_seed(
        app: Casework, stored: list[tuple[int, Any]], published: list[PublishedEvent]) -> None:
    # restart right after the move: the new tracker has seen neither the case open nor move
    moved_at = next(i for i, p in enumerate(published) if p.contract.event_type == "domicile_changed")
    tail = moved_at + 1
    from_lookup = MunicipalityTracker(lookup=repository_lookup(app.repository))
    assert [from_lookup.to_published(e, n, app.name) for n, e in stored[tail:]] == published[tail:]
    assert published[tail].subject == "cases.v1.is.hafnarfjordur.service_recorded"

    bare = MunicipalityTracker()
    notification_id, event = stored[tail]
    with pytest.raises(UnknownPlacementError, match="seed it"):
        bare.to_published(event, notification_id, app.name)
    bare.seed(event.originator_id, "muni:hafnarfjordur", "IS")
    assert bare.to_published(event, notification_id, app.name) == published[tail]
    assert bare.municipality_of(event.originator_id) == "muni:hafnarfjordur"
    assert bare.observe(event) == "muni:hafnarfjordur"


def test_to_published_takes_the_municipality_from_the_caller(stored: list[tuple[int, Any]]) -> None:
    notification_id, event = next((n, e) for n, e in stored if type(e).__name__ == "SupportTeamConcluded")
    published = to_published(event, notification_id, "Casework", "muni:reykjavik")
    assert published.subject == "cases.v1.is.reykjavik.support_team_concluded"
    assert published.contract.rule_id is None and published.contract.jurisdiction == "IS"
    designated_id, designated = next((n, e) for n, e in stored if type(e).__name__ == "CoordinatorDesignated")
    with pytest.raises(UnknownPlacementError, match="jurisdiction"):
        to_published(designated, designated_id, "Casework", "muni:reykjavik")
    directory = to_published(designated, designated_id, "Casework", "muni:reykjavik", jurisdiction="IS")
    assert directory.subject == "directory.v1.is.reykjavik.coordinator_designated"


# ---- subjects and filters ----------------------------------------------------------------------------------
def test_filters_for_agencies(published: list[PublishedEvent]) -> None:
    subjects = [p.subject for p in published]

    def matching(pattern: str) -> set[str]:
        return {s for s in subjects if subject_matches(pattern, s)}

    assert municipality_filter("IS", "muni:reykjavik") == "cases.v1.is.reykjavik.>"
    assert matching("cases.v1.is.reykjavik.>") == {s for s in subjects if s.startswith("cases.v1.is.reykjavik.")}
    assert event_type_filter("complaint_lodged") == "cases.v1.*.*.complaint_lodged"
    assert matching(event_type_filter("complaint_lodged")) == {"cases.v1.is.reykjavik.complaint_lodged"}
    assert event_type_filter("complaint_received", "NO") == "cases.v1.no.*.complaint_received"
    assert jurisdiction_filter("NO") == "cases.v1.no.>"
    assert all(s.startswith("cases.v1.no.bodo.") for s in matching(jurisdiction_filter("NO")))
    assert event_type_filter("coordinator_designated") == "directory.v1.*.*.coordinator_designated"
    assert directory_filter() == "directory.v1.>"
    assert directory_filter("IS", "muni:reykjavik") == "directory.v1.is.reykjavik.>"
    assert directory_filter(municipality_ref="muni:bodo") == "directory.v1.*.bodo.>"


def test_municipality_tokens_are_safe_nats_tokens() -> None:
    assert municipality_token("muni:reykjavik") == "reykjavik"
    assert municipality_token("muni:oslo.bydel-1") == "oslo_bydel-1"
    assert subject_for("case_closed", "NO", "muni:oslo.bydel-1") == "cases.v1.no.oslo_bydel-1.case_closed"
    for bad in ("reykjavik", "muni:"):
        with pytest.raises(ValueError, match="municipality reference"):
            municipality_token(bad)
    with pytest.raises(ValueError, match="Unknown event type"):
        subject_for("no_such_event", "IS", "muni:reykjavik")
    with pytest.raises(ValueError, match="jurisdiction"):
        subject_for("case_closed", "SE", "muni:stockholm")
