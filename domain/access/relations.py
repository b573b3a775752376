"""Who a caller is *to a case*: the relationships the access model decides by (domain.md §8.3 item 3).

A relationship is computed from the case's own state (who its coordinator, case manager and team are, whom an
active information-sharing request names, whose child it is, which municipality it belongs to) and from the
verified identity (person, role, organisation, municipality, jurisdiction). Both must agree: being a case's
coordinator gives nothing to a token issued for another role, and a token's role gives nothing without the
case naming the person (the bar: "never by role alone").

Access ends when the basis ends (domain.md §8.3 item 2): after the family withdraws the request for integration
(IS) or its consent (NO), the coordinator and case manager keep only ``FORMER_CASEWORKER`` (what the law still
needs: recording a complaint and its outcome, which outlive the case), and team members, providers and sharing
recipients lose theirs. The family and the domicile municipality (the controller) keep theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.values import Actor, Jurisdiction, MemberType, Role


class Relation(StrEnum):
    COORDINATOR = "coordinator"
    """The case's current coordinator (IS *tengiliður*, NO *barnekoordinator*) in the coordinator role; in
    Iceland also acting for the coordinator's institution (the token's ``org``)."""
    CASE_MANAGER = "case_manager"
    """Iceland: the case's current case manager (*málstjóri*) in the case-manager role."""
    TEAM_MEMBER = "team_member"
    """A professional member of the case's active support team (provider, general-service provider, a former
    coordinator who stayed on), in a matching role."""
    TEAM_PROVIDER = "team_provider"
    """A service provider's representative on the active support team (a subset of ``team_member``)."""
    SHARING_PROVIDER = "sharing_provider"
    """A representative of the provider an active information-sharing request names as the source."""
    SHARING_RECIPIENT = "sharing_recipient"
    """The coordinator or case manager an active information-sharing request names as the recipient."""
    PARENT = "parent"
    """One of the child's parents, in the parent role (the person is the token's subject)."""
    CHILD = "child"
    """The child (young person) the case is about, in the young-person role."""
    DOMICILE_STAFF = "domicile_staff"
    """Municipal staff of the child's domicile municipality (NO: its *koordinerende enhet*)."""
    DOMICILE_LEAD = "domicile_lead"
    """The lead of the child's domicile municipality."""
    FORMER_CASEWORKER = "former_caseworker"
    """The coordinator or case manager of a case whose basis the family withdrew."""
    SUPERVISOR = "supervisor"
    """The supervisory authority of the case's jurisdiction (IS GEV, NO Statsforvalteren)."""
    CLOCK = "clock"
    """The platform's own clock (the ``system`` role): time-driven facts such as majority."""
    NATIONAL_AGENCY = "national_agency"
    """The national agency of the data's jurisdiction (IS BOFS): suppressed aggregates only (§1.8, §8.3 item 8)."""
    OWN_CASES = "own_cases"
    """A coordinator or case manager reading their own caseload (the rows that name them)."""
    OPENING_COORDINATOR = "opening_coordinator"
    """Iceland, opening a case: the coordinator registering the contact names themselves and their institution."""
    INSTITUTION_LEAD = "institution_lead"
    """The coordinator directory: the lead of the institution's municipality."""
    DATA_SUBJECT = "data_subject"
    """The vault: a parent or the child reaching their own personal data (Art. 15, Art. 16)."""
    CUSTODIAN = "custodian"
    """The vault: a parent of the case, for the child's personal data (a parent acts for a child under 18)."""


ROLES_OF: dict[Relation, frozenset[Role]] = {
    Relation.COORDINATOR: frozenset({Role.COORDINATOR}), Relation.CASE_MANAGER: frozenset({Role.CASE_MANAGER}),
    Relation.TEAM_MEMBER: frozenset({Role.COORDINATOR, Role.SERVICE_PROVIDER_REP, Role.GENERAL_SERVICE_REP}),
    Relation.TEAM_PROVIDER: frozenset({Role.SERVICE_PROVIDER_REP}),
    Relation.SHARING_PROVIDER: frozenset({Role.SERVICE_PROVIDER_REP}),
    Relation.SHARING_RECIPIENT: frozenset({Role.COORDINATOR, Role.CASE_MANAGER}),
    Relation.PARENT: frozenset({Role.PARENT}), Relation.CHILD: frozenset({Role.YOUNG_PERSON}),
    Relation.DOMICILE_STAFF: frozenset({Role.MUNICIPAL_STAFF}),
    Relation.DOMICILE_LEAD: frozenset({Role.MUNICIPALITY_LEAD}),
    Relation.FORMER_CASEWORKER: frozenset({Role.COORDINATOR, Role.CASE_MANAGER}),
    Relation.SUPERVISOR: frozenset({Role.SUPERVISOR}), Relation.CLOCK: frozenset({Role.SYSTEM}),
    Relation.NATIONAL_AGENCY: frozenset({Role.NATIONAL_AGENCY}),
    Relation.OWN_CASES: frozenset({Role.COORDINATOR, Role.CASE_MANAGER}),
    Relation.OPENING_COORDINATOR: frozenset({Role.COORDINATOR}),
    Relation.INSTITUTION_LEAD: frozenset({Role.MUNICIPALITY_LEAD}),
    Relation.DATA_SUBJECT: frozenset({Role.PARENT, Role.YOUNG_PERSON}),
    Relation.CUSTODIAN: frozenset({Role.PARENT}),
}
"""The roles in which each relationship can be held (the token's role must be one of them): what the OpenAPI
document states as "which roles may call it"."""
STAFF_ROLES = frozenset({Role.COORDINATOR, Role.CASE_MANAGER, Role.SERVICE_PROVIDER_REP, Role.GENERAL_SERVICE_REP,
                         Role.MUNICIPALITY_LEAD, Role.MUNICIPAL_STAFF, Role.SUPERVISOR, Role.NATIONAL_AGENCY})
FAMILY_ROLES = frozenset({Role.PARENT, Role.YOUNG_PERSON})
_PROFESSIONAL_MEMBER_ROLE = {MemberType.SERVICE_PROVIDER_REP: {Role.SERVICE_PROVIDER_REP},
                             MemberType.GENERAL_SERVICE_REP: {Role.GENERAL_SERVICE_REP},
                             MemberType.COORDINATOR: {Role.COORDINATOR}}
_PERSON_RELATIONS = frozenset({Relation.COORDINATOR, Relation.CASE_MANAGER, Relation.TEAM_MEMBER,
                               Relation.TEAM_PROVIDER, Relation.SHARING_PROVIDER, Relation.SHARING_RECIPIENT})


@dataclass(frozen=True)
class Prospect:
    """A case about to be opened, as far as access is concerned: whose child, where (from the command)."""

    jurisdiction: Jurisdiction
    child_ref: str
    parent_refs: tuple[str, ...]
    municipality_ref: str


def family_relations(actor: Actor, child_ref: str, parent_refs: tuple[str, ...]) -> set[Relation]:
    if actor.role is Role.PARENT and actor.person_ref in parent_refs:
        return {Relation.PARENT}
    if actor.role is Role.YOUNG_PERSON and actor.person_ref == child_ref:
        return {Relation.CHILD}
    return set()


def municipal_relations(actor: Actor, municipality_ref: str) -> set[Relation]:
    if actor.municipality_ref is None or actor.municipality_ref != municipality_ref:
        return set()
    if actor.role is Role.MUNICIPALITY_LEAD:
        return {Relation.DOMICILE_LEAD}
    if actor.role is Role.MUNICIPAL_STAFF:
        return {Relation.DOMICILE_STAFF}
    return set()


def basis_withdrawn(case: Any) -> bool:
    """IS: the family withdrew the request for integration; NO: it withdrew the consent it had given."""
    if case.jurisdiction is Jurisdiction.ICELAND:
        return bool(str(case.status) == "withdrawn")
    return case.consent_id is None and getattr(case, "coordinator_ref", None) is not None


def _team_relations(actor: Actor, case: Any) -> set[Relation]:
    team: Mapping[str, MemberType] = getattr(case, "team_members", {}) or {}
    if not getattr(case, "team_active", False) or actor.person_ref not in team:
        return set()
    member_type = team[actor.person_ref]
    if actor.role not in _PROFESSIONAL_MEMBER_ROLE.get(member_type, set()):
        return set()
    found = {Relation.TEAM_MEMBER}
    if member_type is MemberType.SERVICE_PROVIDER_REP:
        found.add(Relation.TEAM_PROVIDER)
    return found


def _sharing_relations(actor: Actor, case: Any) -> set[Relation]:
    found: set[Relation] = set()
    for source_org, target in (getattr(case, "sharing_requests", {}) or {}).values():
        if actor.role is Role.SERVICE_PROVIDER_REP and actor.org_ref is not None and actor.org_ref == source_org:
            found.add(Relation.SHARING_PROVIDER)
        if actor.role in (Role.COORDINATOR, Role.CASE_MANAGER) and actor.person_ref == target:
            found.add(Relation.SHARING_RECIPIENT)
    return found


def _caseworker_relations(actor: Actor, case: Any) -> set[Relation]:
    found: set[Relation] = set()
    is_coordinator = actor.role is Role.COORDINATOR and actor.person_ref == getattr(case, "coordinator_ref", None)
    if is_coordinator and case.jurisdiction is Jurisdiction.ICELAND:
        is_coordinator = actor.org_ref is not None and actor.org_ref == case.coordinator_org_ref
    if is_coordinator:
        found.add(Relation.COORDINATOR)
    if actor.role is Role.CASE_MANAGER and actor.person_ref == getattr(case, "case_manager_ref", None):
        found.add(Relation.CASE_MANAGER)
    return found


def relations_to_case(actor: Actor, case: Any) -> frozenset[Relation]:
    """The caller's current relationships with ``case`` (an ``IcelandCase`` or ``NorwayCase``)."""
    found = family_relations(actor, case.child_ref, case.parent_refs)
    found |= municipal_relations(actor, case.municipality_ref)
    if actor.role is Role.SUPERVISOR and actor.jurisdiction is case.jurisdiction:
        found.add(Relation.SUPERVISOR)
    if actor.role is Role.SYSTEM:
        found.add(Relation.CLOCK)
    caseworker = _caseworker_relations(actor, case)
    if basis_withdrawn(case):
        return frozenset(found | ({Relation.FORMER_CASEWORKER} if caseworker else set()))
    return frozenset(found | caseworker | _team_relations(actor, case) | _sharing_relations(actor, case))


def relations_to_prospect(actor: Actor, prospect: Prospect) -> frozenset[Relation]:
    """Relationships with a case being opened: the family named in the command, the domicile municipality."""
    return frozenset(family_relations(actor, prospect.child_ref, prospect.parent_refs)
                     | municipal_relations(actor, prospect.municipality_ref))


def relations_to_scope(actor: Actor) -> frozenset[Relation]:
    """Relationships with a scope of data rather than one case: one's municipality, one's jurisdiction, one's
    own caseload. The scope itself (which municipality, which jurisdiction) comes from the same token."""
    found: set[Relation] = set()
    if actor.municipality_ref is not None:
        found |= municipal_relations(actor, actor.municipality_ref)
    if actor.jurisdiction is not None and actor.role is Role.SUPERVISOR:
        found.add(Relation.SUPERVISOR)
    if actor.jurisdiction is not None and actor.role is Role.NATIONAL_AGENCY:
        found.add(Relation.NATIONAL_AGENCY)
    if actor.role in (Role.COORDINATOR, Role.CASE_MANAGER):
        found.add(Relation.OWN_CASES)
    return frozenset(found)


def person_relations() -> frozenset[Relation]:
    """The relationships held by naming the person on the case (not by family or municipality)."""
    return _PERSON_RELATIONS


def relations_to_subject(actor: Actor, case: Any, subject_ref: str) -> frozenset[Relation]:
    """The caller's relationships to one data subject of ``case`` (the vault): the case relationships, where
    the family's count only for their own data (``data_subject``) and a parent's for the child's (``custodian``)."""
    held = set(relations_to_case(actor, case)) - {Relation.PARENT, Relation.CHILD}
    family = family_relations(actor, case.child_ref, case.parent_refs)
    if family and actor.person_ref == subject_ref:
        held.add(Relation.DATA_SUBJECT)
    if Relation.PARENT in family and subject_ref == case.child_ref:
        held.add(Relation.CUSTODIAN)
    return frozenset(held)
