"""The authorization matrix, generated from the access model: every command of each law, every role, each
scenario (present, absent, other municipality, other family, after withdrawal) is tried against ``Casework`` in
memory. A caller is let through exactly when the command's rule names one of the relationships the caller is
*expected* to hold (``access_cast``, written by hand), and every refusal stores nothing: a caller who may not
see the case gets ``CaseNotFound`` (as for a missing case), one who may gets ``AccessDenied`` naming the rule.

"Let through" means the access model did not refuse; the law may still refuse the command (409) in the case's
state, which is the domain's own business and tested elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from contracts import commands as c
from domain import access
from domain.access import AccessDenied, FamilyActsForItself, Relation
from domain.values import Actor, AdultServiceHandover, EligibilityCriteria, Jurisdiction, MemberType, Role, TeamMember
from services.api.routes import ROUTES
from services.casework.application import Casework
from services.casework.errors import CaseNotFound
from tests.unit import access_cast as cast
from tests.unit.access_cast import (
    CM,
    COORD,
    HEALTH,
    IP,
    MUM,
    NO_MUM,
    NOW,
    POPO,
    RVK,
    SCHOOL,
    SOCIAL,
    UNIT,
    Caller,
    at,
)
from tests.unit.domain.builders import plan_content

METHOD = {route.model.__name__: route.method for route in ROUTES}
FAMILY = frozenset({Role.PARENT, Role.YOUNG_PERSON})
PROVIDERS = frozenset({Role.SERVICE_PROVIDER_REP, Role.GENERAL_SERVICE_REP})
Build = Callable[[UUID, Actor], c.CaseCommand]


def _family(actor: Actor, default: str) -> str:
    """Fields naming who acts for the family name the caller when the caller is the family (ACCESS-SELF)."""
    return actor.person_ref if actor.role in FAMILY else default


def _provider(actor: Actor) -> tuple[str, str]:
    return (actor.person_ref, actor.org_ref or HEALTH) if actor.role in PROVIDERS else ("person:nurse-a", HEALTH)


D = date(2026, 5, 20)
ICELAND_COMMANDS: dict[str, Build] = {
    "RecordIntegrationGuidance": lambda case, who: c.RecordIntegrationGuidance(
        case_id=case, provider_person_ref=_provider(who)[0], provider_org_ref=_provider(who)[1], given_to="parent"),
    "SignInformationSharingRequest": lambda case, who: c.SignInformationSharingRequest(
        case_id=case, request_id="share-m", signatory_refs=(_family(who, MUM),), source_provider_org_refs=(HEALTH,),
        target_refs=(COORD.person_ref,), form_doc_ref="doc:share-m"),
    "ShareInformationWithCoordinator": lambda case, who: c.ShareInformationWithCoordinator(
        case_id=case, request_id="share-1", source_provider_org_ref=_provider(who)[1], recipient_ref=COORD.person_ref,
        summary_doc_ref="doc:summary"),
    "RecordContactWithFamily": lambda case, who: c.RecordContactWithFamily(
        case_id=case, offered_to=("parent",), contact_refs=(MUM,), response="accepted"),
    "RecordIntegrationRequest": lambda case, who: c.RecordIntegrationRequest(
        case_id=case, request_id="request-m", requested_by_refs=(_family(who, MUM),),
        requester_roles=("child",) if who.role is Role.YOUNG_PERSON else ("parent",), written=True,
        form_doc_ref="doc:request-m"),
    "WithdrawIntegrationRequest": lambda case, who: c.WithdrawIntegrationRequest(
        case_id=case, request_id="request-1", withdrawn_by_ref=_family(who, MUM)),
    "ChangeCoordinator": lambda case, who: c.ChangeCoordinator(
        case_id=case, coordinator_ref=cast.OTHER_COORD.person_ref, coordinator_org_ref=SCHOOL,
        life_stage_basis="primary", conflict_of_interest_declared_none=True),
    "ArrangeInitialAssessment": lambda case, who: c.ArrangeInitialAssessment(
        case_id=case, assessor_org_ref=HEALTH, planned_date=D),
    "RecordService": lambda case, who: c.RecordService(
        case_id=case, service_id="svc-m", provider_org_ref=SCHOOL, service_level=1, service_type_code="support",
        start_date=D),
    "EndService": lambda case, who: c.EndService(case_id=case, service_id="svc-1", end_date=D),
    "RecordLevel1Plan": lambda case, who: c.RecordLevel1Plan(
        case_id=case, objective_refs=("doc:objective",), responsible_org_refs=(SCHOOL,), follow_up_date=D),
    "NotifyNeedForCaseManager": lambda case, who: c.NotifyNeedForCaseManager(case_id=case, municipality_ref=RVK),
    "AppointCaseManager": lambda case, who: c.AppointCaseManager(
        case_id=case, case_manager_ref=cast.OTHER_CM.person_ref, municipality_ref=RVK, org_unit_ref=SOCIAL,
        needs_l2_l3_multilevel=True, long_term=True, works_in_social_services_or_area_of_needs=True),
    "EstablishSupportTeam": lambda case, who: c.EstablishSupportTeam(case_id=case, team_id="team-m", members=(
        TeamMember("person:teacher-m", SCHOOL, MemberType.SERVICE_PROVIDER_REP),)),
    "InviteGeneralServiceProvider": lambda case, who: c.InviteGeneralServiceProvider(
        case_id=case, person_ref="person:coach-m", org_ref="org:club-m", necessity_justification_ref="doc:why-m"),
    "RemoveTeamMember": lambda case, who: c.RemoveTeamMember(
        case_id=case, person_ref=cast.COACH.person_ref, reason_code="done"),
    "InviteToTeamMeeting": lambda case, who: c.InviteToTeamMeeting(
        case_id=case, meeting_id="meeting-m", invitee_refs=(MUM,), scheduled_for=D),
    "RecordTeamMeeting": lambda case, who: c.RecordTeamMeeting(
        case_id=case, meeting_id="meeting-m", attendee_refs=(MUM,), parents_attended=True, child_attended=False,
        minutes_doc_ref="doc:minutes"),
    "RecordChildViews": lambda case, who: c.RecordChildViews(
        case_id=case, method="conversation", summary_doc_ref="doc:views"),
    "AdoptSupportPlan": lambda case, who: c.AdoptSupportPlan(case_id=case, plan_id="plan-1",
                                                             content=plan_content()),
    "EvaluateSupportPlan": lambda case, who: c.EvaluateSupportPlan(
        case_id=case, plan_id="plan-1", version=1, outcome="continue", progress_doc_ref="doc:progress"),
    "ReviseSupportPlan": lambda case, who: c.ReviseSupportPlan(
        case_id=case, plan_id="plan-1", supersedes_version=1, content=plan_content()),
    "AdoptAdultTransitionPlan": lambda case, who: c.AdoptAdultTransitionPlan(
        case_id=case, plan_id="transition-1", young_person_participated=True,
        adult_service_handovers=(AdultServiceHandover("org:adult-social", "case_worker"),)),
    "ConcludeSupportTeam": lambda case, who: c.ConcludeSupportTeam(
        case_id=case, outcome="referred_back_to_coordinator", justification_doc_ref=None),
    "RecordComplaint": lambda case, who: c.RecordComplaint(
        case_id=case, complaint_id="gev-m", complainant_ref=_family(who, MUM), complainant_capacity="user",
        subject="service_quality"),
    "RecordComplaintOutcome": lambda case, who: c.RecordComplaintOutcome(
        case_id=case, complaint_id="gev-1", outcome_summary_ref="doc:gev-report"),
    "ChangeDomicile": lambda case, who: c.ChangeDomicile(case_id=case, to_municipality_ref="muni:kopavogur"),
    "RecordMajority": lambda case, who: c.RecordMajority(case_id=case),
    "CloseCase": lambda case, who: c.CloseCase(case_id=case, closure_reason="no_further_need"),
    "RecordDueDeadlines": lambda case, who: c.RecordDueDeadlines(case_id=case),
}
NORWAY_COMMANDS: dict[str, Build] = {
    "AssessEligibility": lambda case, who: c.AssessEligibility(
        case_id=case, criteria=EligibilityCriteria(True, True, True), family_views_doc_ref="doc:f",
        child_views_doc_ref="doc:c"),
    "IssueDecision": lambda case, who: c.IssueDecision(
        case_id=case, decision_id="decision-m", decision="terminated", written=True, justification_doc_ref="doc:d",
        appeal_info_included=True, delivered_at=NOW),
    "RecordConsent": lambda case, who: c.RecordConsent(
        case_id=case, consent_id="consent-m", given_by_refs=(_family(who, NO_MUM),), form_doc_ref="doc:consent-m"),
    "AppointBarnekoordinator": lambda case, who: c.AppointBarnekoordinator(
        case_id=case, coordinator_ref="person:bk-m", unit_ref=UNIT, family_wishes_considered=True),
    "IssueCoordinationInstruction": lambda case, who: c.IssueCoordinationInstruction(
        case_id=case, target_service_org_ref="org:school-bodo", instruction_type="meeting_attendance",
        detail_doc_ref="doc:instruction"),
    "AdoptIndividualPlan": lambda case, who: c.AdoptIndividualPlan(case_id=case, plan_id="ip-1", content=IP),
    "WithdrawConsent": lambda case, who: c.WithdrawConsent(
        case_id=case, consent_id="consent-1", withdrawn_by_ref=_family(who, NO_MUM)),
    "ReceiveComplaint": lambda case, who: c.ReceiveComplaint(
        case_id=case, complaint_id="klage-m", decision_id="decision-1",
        received_by_ref=who.org_ref if who.role is Role.MUNICIPAL_STAFF and who.org_ref else UNIT),
    "ReconsiderComplaint": lambda case, who: c.ReconsiderComplaint(
        case_id=case, complaint_id="klage-1", outcome="not_upheld", reasons_doc_ref="doc:reasons"),
    "ForwardComplaint": lambda case, who: c.ForwardComplaint(case_id=case, complaint_id="klage-1"),
    "RecordStatsforvalterenDecision": lambda case, who: c.RecordStatsforvalterenDecision(
        case_id=case, complaint_id="klage-1", outcome="decision_reversed", doc_ref="doc:sf"),
    "RecordMajority": ICELAND_COMMANDS["RecordMajority"],
    "CloseCase": ICELAND_COMMANDS["CloseCase"],
    "RecordDueDeadlines": ICELAND_COMMANDS["RecordDueDeadlines"],
    "RecordGuidanceGiven": lambda case, who: c.RecordGuidanceGiven(
        case_id=case, topics=("other_welfare_services",), given_to_refs=(NO_MUM,), summary_doc_ref="doc:guidance"),
    "CommunicateReferral": lambda case, who: c.CommunicateReferral(
        case_id=case, kind="referral", topic="patient_and_user_organisations", target_org_ref="org:ffo-nordland",
        summary_doc_ref="doc:referral"),
    "FollowUpWithService": lambda case, who: c.FollowUpWithService(
        case_id=case, target_service_org_ref="org:nav-bodo", purpose="assessment_sufficiency",
        detail_doc_ref="doc:follow-up"),
    "InitiateReassessment": lambda case, who: c.InitiateReassessment(
        case_id=case, target_service_org_ref="org:school-bodo", reason="needs_changed", detail_doc_ref="doc:re"),
    "RecordFamilyViews": lambda case, who: c.RecordFamilyViews(
        case_id=case, views_of_refs=(NO_MUM,), method="conversation", summary_doc_ref="doc:views"),
    "LinkSpecialistCoordinator": lambda case, who: c.LinkSpecialistCoordinator(
        case_id=case, specialist_coordinator_ref="person:nlsh-coordinator", health_trust_org_ref="org:nlsh"),
}
BUILDERS = {Jurisdiction.ICELAND: ICELAND_COMMANDS, Jurisdiction.NORWAY: NORWAY_COMMANDS}
CALLERS = {Jurisdiction.ICELAND: cast.ICELAND_CALLERS, Jurisdiction.NORWAY: cast.NORWAY_CALLERS}
STORIES = {Jurisdiction.ICELAND: cast.iceland, Jurisdiction.NORWAY: cast.norway}


class Story:
    """A case's story told once; each attempt runs on a fresh copy of its stored events (fast, isolated)."""

    def __init__(self, jurisdiction: Jurisdiction, withdrawn: bool) -> None:
        app = Casework(POPO, clock=lambda: NOW)
        self.case_id = STORIES[jurisdiction](app, withdrawn=withdrawn)
        self.events = [StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
                       for n in app.recorder.select_notifications(start=None, limit=10**6)]
        app.close()

    def fresh(self) -> Casework:
        app = Casework(POPO, clock=lambda: NOW)
        app.recorder.insert_events(self.events)
        return app


STORY_CACHE: dict[tuple[Jurisdiction, bool], Story] = {}


def story(jurisdiction: Jurisdiction, withdrawn: bool) -> Story:
    key = (jurisdiction, withdrawn)
    if key not in STORY_CACHE:
        STORY_CACHE[key] = Story(jurisdiction, withdrawn)
    return STORY_CACHE[key]


def whole_store(app: Casework) -> list[tuple[Any, ...]]:
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state))
            for n in app.recorder.select_notifications(start=None, limit=10**6)]


def attempt(app: Casework, command: c.CaseCommand, actor: Actor) -> Exception | None:
    try:
        getattr(app, METHOD[type(command).__name__])(command, at(actor, 1))
    except Exception as error:  # the outcome is what is asserted
        return error
    return None


def expected_relations(caller: Caller, withdrawn: bool) -> frozenset[Relation]:
    return caller.withdrawn if withdrawn else caller.active


MATRIX = [(j, withdrawn, name) for j in (Jurisdiction.ICELAND, Jurisdiction.NORWAY) for withdrawn in (False, True)
          for name in BUILDERS[j]]


def test_the_matrix_covers_every_case_command_of_both_laws() -> None:
    for jurisdiction, table in access.MAY_ISSUE.items():
        opening = {"RegisterContact", "RequestBarnekoordinator"}
        assert set(BUILDERS[jurisdiction]) == set(table) - opening, jurisdiction
    for jurisdiction, callers in CALLERS.items():
        assert {caller.role for caller in callers} == set(Role), jurisdiction


@pytest.mark.parametrize(("jurisdiction", "withdrawn", "command"), MATRIX,
                         ids=[f"{j.value}-{'withdrawn' if w else 'active'}-{n}" for j, w, n in MATRIX])
def test_a_command_is_let_through_exactly_where_the_access_model_says(jurisdiction: Jurisdiction, withdrawn: bool,
                                                                       command: str) -> None:
    told = story(jurisdiction, withdrawn)
    rule = access.MAY_ISSUE[jurisdiction][command]
    app = told.fresh()
    for caller in CALLERS[jurisdiction]:
        held = expected_relations(caller, withdrawn)
        allowed = bool(rule.may & held)
        before = whole_store(app)
        error = attempt(app, BUILDERS[jurisdiction][command](told.case_id, caller.actor), caller.actor)
        refused = isinstance(error, AccessDenied | CaseNotFound)
        assert refused is not allowed, (caller.label, sorted(held), rule.rule_id, repr(error))
        if refused:
            assert whole_store(app) == before, caller.label
            if held:  # may see the case: told which relationship is missing, and by which rule
                assert isinstance(error, AccessDenied) and error.rule_id == rule.rule_id, (caller.label, error)
                assert error.required == sorted(r.value for r in rule.may)
            else:  # may not see it: answered exactly as for a case that does not exist
                assert isinstance(error, CaseNotFound) and error.case_id == told.case_id, (caller.label, error)
        elif whole_store(app) != before:
            app = told.fresh()  # the command was recorded: the next caller starts from the story again


SELF_FIELD_COMMANDS = [(j, name, field) for j, table in access.MAY_ISSUE.items() for name, rule in table.items()
                       for field in rule.family_self_fields if name in BUILDERS[j]]


@pytest.mark.parametrize(("jurisdiction", "command", "field"), SELF_FIELD_COMMANDS,
                         ids=[f"{j.value}-{n}-{f}" for j, n, f in SELF_FIELD_COMMANDS])
def test_a_parent_may_not_act_in_another_persons_name(jurisdiction: Jurisdiction, command: str, field: str) -> None:
    """ACCESS-SELF: a parent of the case naming the other parent (or anyone) as the one who acts is refused."""
    told = story(jurisdiction, False)
    parent = Actor(MUM if jurisdiction is Jurisdiction.ICELAND else NO_MUM, Role.PARENT)
    other = "person:someone-else"
    built = BUILDERS[jurisdiction][command](told.case_id, parent)
    value = getattr(built, field)
    forged = built.model_copy(update={field: (other,) if isinstance(value, tuple) else other})
    app = told.fresh()
    before = whole_store(app)
    error = attempt(app, forged, parent)
    assert isinstance(error, FamilyActsForItself) and error.field == field, repr(error)
    assert error.rule_id == "ACCESS-SELF" and whole_store(app) == before


def test_staff_withdrawing_consent_must_name_the_family() -> None:
    told = story(Jurisdiction.NORWAY, False)
    app = told.fresh()
    before = whole_store(app)
    error = attempt(app, c.WithdrawConsent(case_id=told.case_id, consent_id="consent-1",
                                           withdrawn_by_ref="person:staff-bodo"), cast.NO_STAFF)
    assert isinstance(error, AccessDenied) and error.rule_id == "ACCESS-SELF"
    assert whole_store(app) == before


def test_a_provider_shares_only_from_its_own_organisation() -> None:
    told = story(Jurisdiction.ICELAND, False)
    app = told.fresh()
    before = whole_store(app)
    error = attempt(app, c.ShareInformationWithCoordinator(
        case_id=told.case_id, request_id="share-1", source_provider_org_ref=SCHOOL, recipient_ref=COORD.person_ref,
        summary_doc_ref="doc:s"), cast.NURSE)
    assert isinstance(error, AccessDenied) and error.rule_id == "ACCESS-SELF"
    assert whole_store(app) == before
    assert attempt(app, c.ShareInformationWithCoordinator(
        case_id=told.case_id, request_id="share-1", source_provider_org_ref=HEALTH, recipient_ref=COORD.person_ref,
        summary_doc_ref="doc:s"), cast.NURSE) is None


def test_a_retry_after_a_concurrent_change_checks_access_again() -> None:
    """The case manager's command races the family's withdrawal: the first attempt loses the write, and the
    retry, on the new version, is refused by the access model (the basis ended), not recorded."""
    told = story(Jurisdiction.ICELAND, False)
    app = told.fresh()
    original = app.repository.get
    raced: list[bool] = []

    def racing_get(aggregate_id: Any, **kwargs: Any) -> Any:
        found = original(aggregate_id, **kwargs)
        if aggregate_id == told.case_id and not raced:
            raced.append(True)
            app.withdraw_integration_request(c.WithdrawIntegrationRequest(
                case_id=told.case_id, request_id="request-1", withdrawn_by_ref=MUM), at(Actor(MUM, Role.PARENT), 1))
        return found

    before = app.get_case(told.case_id).version
    app.repository.get = racing_get  # type: ignore[method-assign]
    error = attempt(app, ICELAND_COMMANDS["RecordChildViews"](told.case_id, CM), CM)
    assert isinstance(error, AccessDenied) and error.rule_id == "ACCESS-IS-R18", repr(error)
    assert error.held == ["former_caseworker"]
    assert app.get_case(told.case_id).version == before + 2  # only the withdrawal and processing stopped


def test_a_young_person_cannot_request_integration_as_a_parent() -> None:
    """ACCESS-SELF on the capacity: the child alone may not make its request look like the parents' (IS-R6)."""
    told = story(Jurisdiction.ICELAND, False)
    app = told.fresh()
    child = Actor(cast.CHILD, Role.YOUNG_PERSON)
    before = whole_store(app)
    error = attempt(app, c.RecordIntegrationRequest(
        case_id=told.case_id, request_id="request-c", requested_by_refs=(cast.CHILD,), requester_roles=("parent",),
        written=True, form_doc_ref="doc:r"), child)
    assert isinstance(error, FamilyActsForItself) and error.field == "requester_roles"
    assert whole_store(app) == before
