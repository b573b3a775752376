"""Builders for domain stories: a fixed clock, the cast of actors, a designated institution, and cases
advanced to a given stage of their lifecycle, so each test reads as the story it tells.

Pure domain: nothing here touches a database. Other test modules (the property-based ones too) import
from here: ``from tests.unit.domain.builders import ...``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

from domain.case_iceland import IcelandCase, IcelandStatus
from domain.case_norway import NorwayCase, NorwayStatus
from domain.directory import Institution
from domain.errors import InvalidValue, RuleViolation
from domain.legal_settings import DEFAULT_LEGAL_SETTINGS, LegalSettings
from domain.values import (
    Actor,
    Context,
    Decision,
    EligibilityCriteria,
    FamilyMember,
    FamilyStatus,
    IndividualPlanContent,
    InstitutionType,
    Jurisdiction,
    LifeStage,
    MemberType,
    ProviderRole,
    RequestChannel,
    Role,
    SupportPlanContent,
    TeamMember,
)

SETTINGS: LegalSettings = DEFAULT_LEGAL_SETTINGS

# ---- the fixed clock ---------------------------------------------------------------------------------
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""Day 0 of every story: a Monday morning. Nothing in the domain reads the wall clock; a test says when."""


def at(days: int = 0) -> datetime:
    """The moment ``days`` after day 0 of the story."""
    return T0 + timedelta(days=days)


def ctx(actor: Actor, days: int = 0, *, on: date | None = None) -> Context:
    """What a command carries: who acts, and when (``days`` after day 0, or 09:00 UTC ``on`` a date)."""
    when = datetime(on.year, on.month, on.day, 9, 0, tzinfo=UTC) if on is not None else at(days)
    return Context(actor=actor, occurred_at=when, correlation_id=f"corr-{days}")


# ---- Iceland: the family, the municipality and the professionals --------------------------------------
IS_CHILD = "person:is-child-1"
IS_MOTHER = "person:is-mother-1"
IS_FATHER = "person:is-father-1"
IS_PARENTS = (IS_MOTHER, IS_FATHER)
IS_BIRTH_DATE = date(2009, 6, 15)
"""16 on day 0, so the whole story (transition plan at 17, majority at 18) fits one child."""
IS_18TH_BIRTHDAY = date(2027, 6, 15)
REYKJAVIK = "muni:reykjavik"
KOPAVOGUR = "muni:kopavogur"

SCHOOL_ORG = "org:mh-secondary-school"
OTHER_SCHOOL_ORG = "org:fb-secondary-school"
PRIMARY_SCHOOL_ORG = "org:hagaskoli"
HEALTH_CENTRE_ORG = "org:hg-health-centre"
SOCIAL_SERVICES_ORG = "org:reykjavik-social-services"
BUP_ORG = "org:bup-child-psychiatry"
SPORTS_CLUB_ORG = "org:fram-sports-club"

COORDINATOR = Actor("person:is-coord-1", Role.COORDINATOR, SCHOOL_ORG)
NEW_COORDINATOR = Actor("person:is-coord-2", Role.COORDINATOR, OTHER_SCHOOL_ORG)
MUNICIPALITY_LEAD = Actor("person:is-lead-1", Role.MUNICIPALITY_LEAD, SOCIAL_SERVICES_ORG)
KOPAVOGUR_LEAD = Actor("person:is-lead-2", Role.MUNICIPALITY_LEAD, "org:kopavogur-social-services")
CASE_MANAGER = Actor("person:is-cm-1", Role.CASE_MANAGER, SOCIAL_SERVICES_ORG)
OTHER_CASE_MANAGER = Actor("person:is-cm-2", Role.CASE_MANAGER, SOCIAL_SERVICES_ORG)
PROVIDER_REP = Actor("person:is-bup-rep-1", Role.SERVICE_PROVIDER_REP, BUP_ORG)
GENERAL_REP = Actor("person:is-coach-1", Role.GENERAL_SERVICE_REP, SPORTS_CLUB_ORG)
MOTHER = Actor(IS_MOTHER, Role.PARENT)
GEV_CLERK = Actor("person:gev-clerk-1", Role.SUPERVISOR, "org:gev")

TEAM_MEMBERS = (
    TeamMember(PROVIDER_REP.person_ref, BUP_ORG, MemberType.SERVICE_PROVIDER_REP),
    TeamMember(COORDINATOR.person_ref, SCHOOL_ORG, MemberType.COORDINATOR),
)
"""The case manager's team: a provider's representative and the coordinator; parents join by default."""


def designated_institution(org_ref: str = SCHOOL_ORG,
                           institution_type: InstitutionType = InstitutionType.SECONDARY_SCHOOL,
                           coordinators: tuple[str, ...] = (COORDINATOR.person_ref,),
                           municipality_ref: str = REYKJAVIK,
                           jurisdiction: Jurisdiction = Jurisdiction.ICELAND) -> Institution:
    """An institution in the coordinator directory that has designated the given coordinators."""
    institution = Institution.register(ctx(MUNICIPALITY_LEAD), org_ref=org_ref, institution_type=institution_type,
                                       municipality_ref=municipality_ref, jurisdiction=jurisdiction)
    for person_ref in coordinators:
        institution.designate_coordinator(ctx(MUNICIPALITY_LEAD), person_ref)
    return institution


def register_contact(**overrides: Any) -> IcelandCase:
    """Day 0: the parents bring their 16-year-old to the coordinator of the child's secondary school."""
    kwargs: dict[str, Any] = {
        "child_ref": IS_CHILD,
        "parent_refs": IS_PARENTS,
        "birth_date": IS_BIRTH_DATE,
        "municipality_ref": REYKJAVIK,
        "coordinator_ref": COORDINATOR.person_ref,
        "coordinator_institution": designated_institution(),
        "life_stage": LifeStage.SECONDARY,
        "conflict_of_interest_declared_none": True,
        "settings": SETTINGS,
    }
    actor = overrides.pop("actor", COORDINATOR)
    kwargs.update(overrides)
    return IcelandCase.register_contact(ctx(actor), **kwargs)


def request_integration(case: IcelandCase, days: int = 2) -> None:
    """The parents sign the written request for integration: the basis for everything after (IS-G0)."""
    case.record_integration_request(ctx(COORDINATOR, days), request_id="req-1", requested_by_refs=IS_PARENTS,
                                    requester_roles=(FamilyMember.PARENT,), written=True,
                                    form_doc_ref="doc:integration-request-1", settings=SETTINGS)


def notify_need_for_case_manager(case: IcelandCase, days: int = 10) -> None:
    case.notify_need_for_case_manager(ctx(COORDINATOR, days), municipality_ref=case.municipality_ref)


def appoint_case_manager(case: IcelandCase, days: int = 14, *, actor: Actor = MUNICIPALITY_LEAD,
                         case_manager: Actor = CASE_MANAGER) -> None:
    case.appoint_case_manager(ctx(actor, days), case_manager_ref=case_manager.person_ref,
                              municipality_ref=case.municipality_ref, org_unit_ref=SOCIAL_SERVICES_ORG,
                              needs_l2_l3_multilevel=True, long_term=True,
                              works_in_social_services_or_area_of_needs=True)


def establish_team(case: IcelandCase, days: int = 20, members: tuple[TeamMember, ...] = TEAM_MEMBERS) -> None:
    case.establish_support_team(ctx(CASE_MANAGER, days), team_id="team-1", members=members)


def plan_content(**overrides: Any) -> SupportPlanContent:
    """A support plan with all five elements of seed 000: needs, objectives, roles, evaluation, duration."""
    content = SupportPlanContent(
        needs_assessment_ref="doc:needs-assessment-1",
        objectives=("doc:objective-school-attendance", "doc:objective-wellbeing"),
        provider_roles=(ProviderRole(BUP_ORG, "doc:role-bup"), ProviderRole(SCHOOL_ORG, "doc:role-school")),
        evaluation_method="quarterly_team_review",
        valid_from=date(2026, 4, 1),
        valid_to=date(2026, 12, 31),
        review_dates=(date(2026, 7, 1),),
        participants=(*IS_PARENTS, IS_CHILD),
        parents_participated=True,
        child_participated=True,
    )
    return dataclasses.replace(content, **overrides)


def adopt_plan(case: IcelandCase, days: int = 30) -> None:
    case.adopt_support_plan(ctx(CASE_MANAGER, days), plan_id="plan-1", content=plan_content())


ICELAND_STAGES = (
    IcelandStatus.CONTACT,
    IcelandStatus.INTEGRATION_ACTIVE_L1,
    IcelandStatus.AWAITING_CASE_MANAGER,
    IcelandStatus.TEAM_FORMING,
    IcelandStatus.TEAM_ACTIVE_NO_PLAN,
    IcelandStatus.PLAN_ACTIVE,
)
"""The open stages an Iceland case can be advanced to, in lifecycle order."""


def iceland_case(stage: IcelandStatus = IcelandStatus.CONTACT, **contact: Any) -> IcelandCase:
    """An Iceland case advanced along the happy path until it is in ``stage``; ``contact`` overrides the
    first contact (``birth_date=None``, say)."""
    steps = (request_integration, notify_need_for_case_manager, appoint_case_manager, establish_team, adopt_plan)
    case = register_contact(**contact)
    for step in steps[:ICELAND_STAGES.index(stage)]:
        step(case)
    assert case.status is stage
    return case


# ---- Norway: the family, the municipality and the barnekoordinator ------------------------------------
NO_CHILD = "person:no-child-1"
NO_MOTHER = "person:no-mother-1"
NO_FATHER = "person:no-father-1"
NO_PARENTS = (NO_MOTHER, NO_FATHER)
NO_BIRTH_DATE = date(2014, 4, 20)
NO_18TH_BIRTHDAY = date(2032, 4, 20)
BODO = "muni:bodo"
COORDINATING_UNIT = "org:bodo-koordinerende-enhet"
HABILITATION_ORG = "org:nordland-habilitering"

NO_STAFF = Actor("person:no-staff-1", Role.MUNICIPAL_STAFF, COORDINATING_UNIT)
BARNEKOORDINATOR = Actor("person:no-bk-1", Role.COORDINATOR, COORDINATING_UNIT)
NO_MOTHER_ACTOR = Actor(NO_MOTHER, Role.PARENT)
STATSFORVALTER_CLERK = Actor("person:sf-clerk-1", Role.SUPERVISOR, "org:statsforvalteren-nordland")

ALL_MET = EligibilityCriteria(True, True, True)


def request_barnekoordinator(child_ref: str = NO_CHILD, **overrides: Any) -> NorwayCase:
    """Day 0: a parent asks the municipality for a barnekoordinator, orally; staff record it."""
    kwargs: dict[str, Any] = {
        "child_ref": child_ref,
        "parent_refs": NO_PARENTS,
        "birth_date": NO_BIRTH_DATE,
        "municipality_ref": BODO,
        "request_id": f"bk-req-{child_ref.split(':')[1]}",
        "channel": RequestChannel.ORAL,
        "requested_by_ref": NO_MOTHER,
        "family_status": FamilyStatus.CHILD_UNDER_18,
        "settings": SETTINGS,
    }
    kwargs.update(overrides)
    return NorwayCase.request_barnekoordinator(ctx(NO_STAFF), **kwargs)


def assess(case: NorwayCase, criteria: EligibilityCriteria = ALL_MET, days: int = 7) -> None:
    case.assess_eligibility(ctx(NO_STAFF, days), criteria=criteria, diagnosis_required=False,
                            family_views_doc_ref="doc:family-views-1", child_views_doc_ref="doc:child-views-1")


def decide(case: NorwayCase, decision: Decision, decision_id: str = "dec-1", days: int = 14) -> None:
    """A written decision with reasons and appeal information, delivered the day it is issued."""
    case.issue_decision(ctx(NO_STAFF, days), decision_id=decision_id, decision=decision, written=True,
                        justification_doc_ref=f"doc:justification-{decision_id}", appeal_info_included=True,
                        delivered_at=at(days), settings=SETTINGS)


def consent(case: NorwayCase, days: int = 16, consent_id: str = "consent-1") -> None:
    case.record_consent(ctx(NO_STAFF, days), consent_id=consent_id, given_by_refs=NO_PARENTS,
                        scope_service_org_refs=(HABILITATION_ORG, "org:bodo-school"),
                        form_doc_ref="doc:consent-form-1")


def appoint_barnekoordinator(case: NorwayCase, days: int = 20) -> None:
    case.appoint_barnekoordinator(ctx(NO_STAFF, days), coordinator_ref=BARNEKOORDINATOR.person_ref,
                                  unit_ref=COORDINATING_UNIT, family_wishes_considered=True)


def individual_plan(**overrides: Any) -> IndividualPlanContent:
    """An individual plan with all nine items of forskrift § 19, consented to by the recipient."""
    content = IndividualPlanContent(
        goals_resources_and_needs_ref="doc:ip-goals",
        participants=(*NO_PARENTS, BARNEKOORDINATOR.person_ref),
        responsible_for_coordination_ref="doc:ip-responsible",
        contributions_ref="doc:ip-contributions",
        measures_ref="doc:ip-measures",
        implementation_ref="doc:ip-implementation",
        plan_period_from=date(2026, 5, 1),
        plan_period_to=date(2027, 4, 30),
        revision_dates=(date(2026, 11, 1),),
        recipient_consent_to_plan=True,
        recipient_consent_to_sharing=True,
        cooperation_with_other_services_ref="doc:ip-cooperation",
    )
    return dataclasses.replace(content, **overrides)


NORWAY_STAGES = (NorwayStatus.REQUESTED, NorwayStatus.ASSESSED, NorwayStatus.GRANTED, NorwayStatus.ACTIVE)


def norway_case(stage: NorwayStatus = NorwayStatus.REQUESTED, *, with_consent: bool | None = None) -> NorwayCase:
    """A Norway case advanced to ``stage`` (or REFUSED: assessed, then refused). Consent is recorded on the way
    to ACTIVE; ``with_consent`` records it (or not) in the earlier stages."""
    case = request_barnekoordinator()
    if stage is NorwayStatus.REFUSED:
        assess(case, EligibilityCriteria(True, False, True))
        decide(case, Decision.REFUSED)
    else:
        target = NORWAY_STAGES.index(stage)
        if target >= 1:
            assess(case)
        if target >= 2:
            decide(case, Decision.GRANTED)
        if with_consent or (with_consent is None and target >= 3):
            consent(case)
        if target >= 3:
            appoint_barnekoordinator(case)
    assert case.status is stage
    return case


# ---- refusal: the rule is cited and nothing is recorded -----------------------------------------------
@contextmanager
def refused(aggregate: Aggregate | None, rule_id: str) -> Iterator[pytest.ExceptionInfo[RuleViolation]]:
    """Expect the command in the block to be refused under ``rule_id`` and to record nothing: the aggregate's
    version, its pending events and its lifecycle state are as they were. ``None`` when no aggregate exists
    yet (a refused creation command simply creates nothing)."""
    version = aggregate.version if aggregate is not None else None
    pending = len(aggregate.pending_events) if aggregate is not None else None
    status = getattr(aggregate, "status", None)
    with pytest.raises(RuleViolation) as error:
        yield error
    assert error.value.rule_id == rule_id, f"expected {rule_id}, got {error.value}"
    if aggregate is not None:
        assert aggregate.version == version, "a refused command must not advance the version"
        assert len(aggregate.pending_events) == pending, "a refused command must record no event"
        assert getattr(aggregate, "status", None) == status, "a refused command must not change the state"


@contextmanager
def rejected_as_invalid(aggregate: Aggregate | None, field: str,
                        rule_prefix: str = "") -> Iterator[pytest.ExceptionInfo[InvalidValue]]:
    """Expect a malformed value (``InvalidValue`` naming ``field``) and nothing recorded."""
    version = aggregate.version if aggregate is not None else None
    pending = len(aggregate.pending_events) if aggregate is not None else None
    with pytest.raises(InvalidValue) as error:
        yield error
    assert error.value.field == field, f"expected field {field}, got {error.value}"
    assert error.value.rule.startswith(rule_prefix), f"expected rule {rule_prefix}, got {error.value.rule}"
    if aggregate is not None:
        assert aggregate.version == version
        assert len(aggregate.pending_events) == pending


def event_names(aggregate: Aggregate) -> list[str]:
    """The names of the facts the aggregate has recorded but not yet saved, oldest first."""
    return [type(e).__name__ for e in aggregate.pending_events]


def last_event(aggregate: Aggregate, name: str) -> Any:
    """The most recent pending event of the given name."""
    matching = [e for e in aggregate.pending_events if type(e).__name__ == name]
    assert matching, f"no {name} event among {event_names(aggregate)}"
    return matching[-1]
