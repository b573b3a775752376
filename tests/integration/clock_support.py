"""A movable clock and two children's cases for the clock's integration tests: an Icelandic case led by a case
manager without an adult transition plan, and an active Norwegian barnekoordinator case."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from contracts import commands as c
from domain.values import Actor, EligibilityCriteria, MemberType, Role, TeamMember
from services.casework.application import Casework, CommandMeta
from services.walkthrough import ensure_institution

COORD, SCHOOL = "person:coord-clock-1", "org:school-clock-1"
LEAD = Actor("person:lead-clock-1", Role.MUNICIPALITY_LEAD, "org:social-clock-1", "muni:reykjavik")
CM = Actor("person:cm-clock-1", Role.CASE_MANAGER, "org:social-clock-1")
STAFF = Actor("person:staff-clock-1", Role.MUNICIPAL_STAFF, "org:koordinerende-enhet-clock", "muni:bodo")
BARNEKOORDINATOR = "person:bk-clock-1"


class MovableClock:
    """The one clock the Casework and the clock service read: a test moves it through a child's birthdays."""

    def __init__(self, day: date) -> None:
        self.at = datetime(day.year, day.month, day.day, 7, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def move_to(self, day: date) -> None:
        self.at = datetime(day.year, day.month, day.day, 7, 0, tzinfo=UTC)


def _as(actor: Actor) -> CommandMeta:
    return CommandMeta(actor)


def iceland_case_led_by_case_manager(app: Casework, child: str, parent: str, birth_date: date) -> UUID:
    """Contact, request, the need for a case manager, the appointment and the team: no transition plan yet."""
    coordinator = Actor(COORD, Role.COORDINATOR, SCHOOL)
    ensure_institution(app, SCHOOL, "secondary_school", "muni:reykjavik", "IS", COORD, _as(LEAD))
    case_id = app.register_contact(c.RegisterContact(
        child_ref=child, parent_refs=(parent,), birth_date=birth_date, municipality_ref="muni:reykjavik",
        coordinator_ref=COORD, coordinator_org_ref=SCHOOL, life_stage="secondary",
        conflict_of_interest_declared_none=True), _as(coordinator)).case_id
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id=f"request-{child.split(':')[1]}", requested_by_refs=(parent,),
        requester_roles=("parent",), written=True, form_doc_ref="doc:request-form-clock"), _as(coordinator))
    app.notify_need_for_case_manager(c.NotifyNeedForCaseManager(case_id=case_id, municipality_ref="muni:reykjavik"),
                                     _as(coordinator))
    app.appoint_case_manager(c.AppointCaseManager(
        case_id=case_id, case_manager_ref=CM.person_ref, municipality_ref="muni:reykjavik",
        org_unit_ref="org:social-clock-1", needs_l2_l3_multilevel=True, long_term=True,
        works_in_social_services_or_area_of_needs=True), _as(LEAD))
    app.establish_support_team(c.EstablishSupportTeam(case_id=case_id, team_id=f"team-{child.split(':')[1]}",
                                                      members=(TeamMember("person:teacher-clock-1", SCHOOL,
                                                                          MemberType.SERVICE_PROVIDER_REP),)),
                               _as(CM))
    return case_id


def norway_active_case(app: Casework, child: str, parent: str, birth_date: date) -> UUID:
    """Requested, assessed, granted, consented and a barnekoordinator appointed: the right runs until 18."""
    case_id = app.request_barnekoordinator(c.RequestBarnekoordinator(
        child_ref=child, parent_refs=(parent,), birth_date=birth_date, municipality_ref="muni:bodo",
        request_id=f"no-request-{child.split(':')[1]}", channel="written", requested_by_ref=parent,
        family_status="child_under_18"), _as(STAFF)).case_id
    app.assess_eligibility(c.AssessEligibility(
        case_id=case_id, criteria=EligibilityCriteria(True, True, True), family_views_doc_ref="doc:family-views",
        child_views_doc_ref="doc:child-views"), _as(STAFF))
    app.issue_decision(c.IssueDecision(
        case_id=case_id, decision_id="decision-clock", decision="granted", written=True,
        justification_doc_ref="doc:decision-clock", appeal_info_included=True, delivered_at=app.clock()), _as(STAFF))
    app.record_consent(c.RecordConsent(case_id=case_id, consent_id="consent-clock", given_by_refs=(parent,),
                                       form_doc_ref="doc:consent-clock"), _as(STAFF))
    app.appoint_barnekoordinator(c.AppointBarnekoordinator(
        case_id=case_id, coordinator_ref=BARNEKOORDINATOR, unit_ref="org:koordinerende-enhet-clock",
        family_wishes_considered=True), _as(STAFF))
    return case_id


def clock_facts(app: Casework, case_id: UUID) -> list[tuple[str, str, str, str]]:
    """(fact, rule, deadline, warning or stage) of every clock fact and majority on the case, in order."""
    found = []
    event: Any
    for event in app.events.get(case_id):
        name = type(event).__name__
        if name.startswith("Deadline"):
            found.append((name, event.rule_id, event.deadline_id, getattr(event, "warning", "")
                          or getattr(event, "stage", "")))
        elif name == "ChildReachedMajority":
            found.append((name, "T6", "", ""))
    return found
