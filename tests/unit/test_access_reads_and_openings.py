"""The rest of the matrix: reads of a case (every caller, both laws, before and after withdrawal, with the
read-log row checked, granted or refused), the scoped reads (dashboards, national, audit, read log, caseload)
by every role, and the commands that open a case or change the coordinator directory."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from contracts import commands as c
from domain import access
from domain.access import AccessDenied, ReadKind, Relation
from domain.access.purposes import purposes_of
from domain.values import Actor, Jurisdiction, Role
from services.casework.errors import CaseNotFound
from services.casework.read_log import MemoryReadLog, Outcome, Purpose
from services.casework.reads import CaseReads
from tests.unit import access_cast as cast
from tests.unit.access_cast import AKUREYRI, BODO, RVK, SCHOOL, SCHOOL_AKU, Caller, at
from tests.unit.test_access_matrix import CALLERS, expected_relations, story, whole_store

R = Relation
CASE_KINDS = (ReadKind.CASE, ReadKind.AUDIT_CASE)
READS = [(j, w, k) for j in (Jurisdiction.ICELAND, Jurisdiction.NORWAY) for w in (False, True) for k in CASE_KINDS]


def stated_purpose(granting: frozenset[Relation], kind: ReadKind, default: Purpose = Purpose.CASEWORK) -> Purpose:
    """A purpose that suits the read and the granting relationships (ACCESS-PURPOSE); ``default`` for a caller they
    refuse."""
    return Purpose(purposes_of(granting, kind)[0]) if granting else default


@pytest.mark.parametrize(("jurisdiction", "withdrawn", "kind"), READS,
                         ids=[f"{j.value}-{'withdrawn' if w else 'active'}-{k.value}" for j, w, k in READS])
def test_a_case_read_is_granted_exactly_where_the_model_says_and_every_attempt_is_logged(
        jurisdiction: Jurisdiction, withdrawn: bool, kind: ReadKind) -> None:
    told = story(jurisdiction, withdrawn)
    app, log = told.fresh(), MemoryReadLog()
    reads = CaseReads(app, log)
    rule = access.MAY_READ[kind]
    for caller in CALLERS[jurisdiction]:
        granting = rule.may & expected_relations(caller, withdrawn)
        allowed, purpose = bool(granting), stated_purpose(granting, kind)
        try:
            case = reads.case(caller.actor, told.case_id, purpose=purpose, kind=kind, correlation_id="c-1")
        except CaseNotFound as missing:
            assert not allowed and missing.case_id == told.case_id, caller.label
            outcome = Outcome.REFUSED
        else:
            assert allowed and case.id == told.case_id, caller.label
            outcome = Outcome.GRANTED
        row = log.rows[-1]
        assert (row["subject"], row["role"], row["org_ref"], row["case_id"], row["outcome"]) == (
            caller.actor.person_ref, caller.actor.role.value, caller.actor.org_ref, told.case_id, outcome.value)
        assert row["reason"].startswith(rule.rule_id) and row["purpose"] == purpose.value
        assert row["jurisdiction"] == jurisdiction.value and row["correlation_id"] == "c-1"
    assert len(log.rows) == len(CALLERS[jurisdiction])


def test_a_read_of_a_case_that_does_not_exist_is_logged_as_not_found() -> None:
    told = story(Jurisdiction.ICELAND, False)
    log = MemoryReadLog()
    institution = told.fresh().get_institution(SCHOOL).id
    for missing in (UUID(int=7), institution):
        with pytest.raises(CaseNotFound):
            CaseReads(told.fresh(), log).case(cast.COORD, missing, purpose=Purpose.CASEWORK)
    assert [(r["case_id"], r["outcome"], r["reason"]) for r in log.rows] == [
        (UUID(int=7), "refused", "not_found"), (institution, "refused", "not_found")]


SCOPE_OF_ROLE: dict[Role, frozenset[Relation]] = {
    Role.MUNICIPALITY_LEAD: frozenset({R.DOMICILE_LEAD}), Role.MUNICIPAL_STAFF: frozenset({R.DOMICILE_STAFF}),
    Role.SUPERVISOR: frozenset({R.SUPERVISOR}), Role.NATIONAL_AGENCY: frozenset({R.NATIONAL_AGENCY}),
    Role.COORDINATOR: frozenset({R.OWN_CASES}), Role.CASE_MANAGER: frozenset({R.OWN_CASES}),
}
"""What each role holds towards the data of its own municipality, jurisdiction or caseload (from its claims)."""
SCOPED = (ReadKind.CASELOAD, ReadKind.DASHBOARD, ReadKind.DASHBOARD_ROWS, ReadKind.NATIONAL, ReadKind.AUDIT,
          ReadKind.READ_LOG)


def _with_claims(role: Role) -> Actor:
    return Actor(f"person:{role.value}-1", role, "org:o-1", RVK, Jurisdiction.ICELAND)


@pytest.mark.parametrize("kind", SCOPED, ids=[k.value for k in SCOPED])
def test_scoped_reads_by_every_role(kind: ReadKind) -> None:
    told = story(Jurisdiction.ICELAND, False)
    log = MemoryReadLog()
    reads = CaseReads(told.fresh(), log)
    rule = access.MAY_READ[kind]
    for role in Role:
        actor = _with_claims(role)
        granting = rule.may & SCOPE_OF_ROLE.get(role, frozenset())
        allowed, before = bool(granting), len(log.rows)
        try:
            purpose = stated_purpose(granting, kind, Purpose.OVERSIGHT)
            scope = reads.scope(actor, kind, resource=kind.value, purpose=purpose)
        except AccessDenied as denied:
            assert not allowed and denied.rule_id == rule.rule_id, (kind, role)
            (row,) = log.rows[before:]
            assert (row["subject"], row["outcome"], row["reason"]) == (actor.person_ref, "refused", rule.rule_id)
            continue
        assert allowed, (kind, role)
        assert len(log.rows) == before  # a scope is no read yet; the rows shown are logged one by one
        if role in (Role.MUNICIPALITY_LEAD, Role.MUNICIPAL_STAFF):
            assert (scope.municipality_ref, scope.jurisdiction) == (RVK, None)
        elif role in (Role.SUPERVISOR, Role.NATIONAL_AGENCY):
            assert (scope.municipality_ref, scope.jurisdiction) == (None, Jurisdiction.ICELAND)
        else:
            assert scope.person_ref == actor.person_ref


def test_a_municipality_asking_for_another_municipalitys_figures_is_refused() -> None:
    reads = CaseReads(story(Jurisdiction.ICELAND, False).fresh(), log := MemoryReadLog())
    with pytest.raises(AccessDenied) as denied:
        reads.scope(cast.LEAD, ReadKind.DASHBOARD_ROWS, resource="plans_due", purpose=Purpose.OVERSIGHT,
                    asked_municipality=AKUREYRI)
    assert denied.value.rule_id == "ACCESS-SCOPE" and log.rows[-1]["outcome"] == "refused"
    supervisor = reads.scope(cast.GEV, ReadKind.DASHBOARD, resource="x", purpose=Purpose.OVERSIGHT,
                             asked_municipality=AKUREYRI)
    assert (supervisor.municipality_ref, supervisor.jurisdiction) == (AKUREYRI, Jurisdiction.ICELAND)


# ---- opening a case and the coordinator directory --------------------------------------------------------------
def _contact(child: str = "person:child-new", coordinator: str = cast.COORD.person_ref,
             org: str = SCHOOL) -> c.RegisterContact:
    return c.RegisterContact(child_ref=child, parent_refs=("person:mum-new",), birth_date=date(2014, 1, 1),
                             municipality_ref=RVK, coordinator_ref=coordinator, coordinator_org_ref=org,
                             life_stage="primary", conflict_of_interest_declared_none=True)


def _request(requested_by: str = "person:mum-new", child: str = "person:child-new") -> c.RequestBarnekoordinator:
    return c.RequestBarnekoordinator(child_ref=child, parent_refs=("person:mum-new",), birth_date=date(2016, 1, 1),
                                     municipality_ref=BODO, request_id="r-1", channel="written",
                                     requested_by_ref=requested_by, family_status="child_under_18")


OPENERS: list[tuple[str, Actor, bool]] = [
    ("the coordinator naming themselves and their institution", cast.COORD, True),
    ("a coordinator naming another coordinator", cast.OTHER_COORD, False),
    ("the coordinator for another institution", Actor(cast.COORD.person_ref, Role.COORDINATOR, SCHOOL_AKU), False),
    *[(f"a {role.value}", _with_claims(role), False) for role in Role if role is not Role.COORDINATOR],
]


@pytest.mark.parametrize(("who", "actor", "allowed"), OPENERS, ids=[o[0] for o in OPENERS])
def test_who_may_open_an_icelandic_case(who: str, actor: Actor, allowed: bool) -> None:
    app = story(Jurisdiction.ICELAND, False).fresh()
    before = whole_store(app)
    error = attempt_open(app, _contact(), actor)
    assert (error is None) is allowed, (who, repr(error))
    if not allowed:
        assert isinstance(error, AccessDenied) and error.rule_id == "ACCESS-IS-R1" and whole_store(app) == before


def attempt_open(app: Any, command: c.Command, actor: Actor) -> Exception | None:
    method = {c.RegisterContact: app.register_contact, c.RequestBarnekoordinator: app.request_barnekoordinator,
              c.RegisterInstitution: app.register_institution, c.DesignateCoordinator: app.designate_coordinator,
              c.WithdrawCoordinatorDesignation: app.withdraw_coordinator_designation}[type(command)]
    try:
        method(command, at(actor, 1))
    except Exception as error:  # the outcome is what is asserted
        return error
    return None


REQUESTERS: list[tuple[str, Actor, c.RequestBarnekoordinator, bool]] = [
    ("staff of the child's kommune", cast.NO_STAFF, _request(), True),
    ("staff of another kommune", Actor("person:staff-tromso", Role.MUNICIPAL_STAFF, "org:u", "muni:tromso"),
     _request(), False),
    ("the parent asking for themselves", Actor("person:mum-new", Role.PARENT), _request(), True),
    ("the parent in another's name", Actor("person:mum-new", Role.PARENT), _request("person:dad-new"), False),
    ("a stranger claiming to ask", Actor("person:stranger", Role.PARENT), _request(), False),
    ("the child asking", Actor("person:child-new", Role.YOUNG_PERSON), _request("person:child-new"), True),
    ("the lead", cast.NO_LEAD, _request(), False),
    ("a coordinator", cast.BK, _request(), False),
]


@pytest.mark.parametrize(("who", "actor", "command", "allowed"), REQUESTERS, ids=[r[0] for r in REQUESTERS])
def test_who_may_request_a_barnekoordinator(who: str, actor: Actor, command: c.RequestBarnekoordinator,
                                            allowed: bool) -> None:
    app = story(Jurisdiction.NORWAY, False).fresh()
    before = whole_store(app)
    error = attempt_open(app, command, actor)
    assert (error is None) is allowed, (who, repr(error))
    if not allowed:
        assert isinstance(error, AccessDenied) and error.rule_id in {"ACCESS-NO-R1", "ACCESS-SELF"}
        assert whole_store(app) == before


DIRECTORY: list[tuple[str, Actor, bool]] = [
    ("the lead of the institution's municipality", cast.LEAD, True),
    ("the lead of another municipality", Actor("person:lead-aku", Role.MUNICIPALITY_LEAD, "org:th", AKUREYRI), False),
    *[(f"a {role.value}", Actor(f"person:{role.value}-1", role, "org:o-1", RVK, Jurisdiction.ICELAND), False)
      for role in Role if role is not Role.MUNICIPALITY_LEAD],
]


@pytest.mark.parametrize(("who", "actor", "allowed"), DIRECTORY, ids=[d[0] for d in DIRECTORY])
def test_who_may_change_the_coordinator_directory(who: str, actor: Actor, allowed: bool) -> None:
    for command in (c.RegisterInstitution(org_ref="org:school-new", institution_type="preschool",
                                          municipality_ref=RVK, jurisdiction="IS"),
                    c.DesignateCoordinator(org_ref=SCHOOL, person_ref="person:coord-new"),
                    c.WithdrawCoordinatorDesignation(org_ref=SCHOOL, person_ref=cast.OTHER_COORD.person_ref)):
        app = story(Jurisdiction.ICELAND, False).fresh()
        before = whole_store(app)
        error = attempt_open(app, command, actor)
        assert (error is None) is allowed, (who, type(command).__name__, repr(error))
        if not allowed:
            assert isinstance(error, AccessDenied) and error.rule_id.startswith("ACCESS-DIR-")
            assert whole_store(app) == before


def test_every_caller_of_the_cast_holds_what_the_model_computes() -> None:
    """The hand-written expectations and the model agree on the stories (a cross-check of both)."""
    for jurisdiction in (Jurisdiction.ICELAND, Jurisdiction.NORWAY):
        for withdrawn in (False, True):
            told = story(jurisdiction, withdrawn)
            case = told.fresh().get_case(told.case_id)
            for caller in CALLERS[jurisdiction]:
                assert access.relations_to_case(caller.actor, case) == expected_relations(caller, withdrawn), (
                    jurisdiction, withdrawn, caller.label)


def test_callers_are_generated_for_every_role_and_scenario() -> None:
    scenarios = {(caller.role, caller.scenario) for callers in CALLERS.values() for caller in callers}
    for role in (Role.COORDINATOR, Role.PARENT, Role.MUNICIPALITY_LEAD, Role.MUNICIPAL_STAFF):
        assert {s for r, s in scenarios if r is role} >= {"present", "other_municipality"} or \
            {s for r, s in scenarios if r is role} >= {"present", "other_family"}, role
    assert all(isinstance(caller, Caller) for callers in CALLERS.values() for caller in callers)


def test_every_relationship_is_held_only_in_its_roles() -> None:
    assert set(access.ROLES_OF) == set(Relation)
    for jurisdiction in (Jurisdiction.ICELAND, Jurisdiction.NORWAY):
        told = story(jurisdiction, False)
        case = told.fresh().get_case(told.case_id)
        for caller in CALLERS[jurisdiction]:
            for relation in access.relations_to_case(caller.actor, case):
                assert caller.actor.role in access.ROLES_OF[relation], (caller.label, relation)
