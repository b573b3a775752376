"""The access model: who may issue each command and make each read, in terms of the case itself.

Beside the law, not in HTTP: every entry point (API, CLI, demo, pages) goes through ``services.casework``, which
calls these pure functions inside its load-check-save, so a retry after a concurrent change re-checks against
the new version. One table per jurisdiction where the law differs (:mod:`domain.access.iceland`,
:mod:`domain.access.norway`), one for reads (:mod:`domain.access.reads`) and one for the coordinator directory
(below). ``docs/access.md`` prints the tables; the OpenAPI document is generated from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.access import iceland, norway
from domain.access import personal_data as rights
from domain.access.reads import CASE_READERS, MAY_READ, PERSONAL_DATA_READS, ReadKind, Scope, scope_for
from domain.access.relations import (
    FAMILY_ROLES,
    ROLES_OF,
    Prospect,
    Relation,
    relations_to_case,
    relations_to_prospect,
    relations_to_scope,
    relations_to_subject,
)
from domain.access.rules import AccessDenied, AccessRule, FamilyActsForItself, check_self_fields, require
from domain.access.vault import VAULT, VaultAction
from domain.values import Actor, Jurisdiction, Role

__all__ = [
    "CASE_READERS",
    "DIRECTORY",
    "FAMILY_ROLES",
    "MAY_ISSUE",
    "MAY_READ",
    "PERSONAL_DATA_READS",
    "RIGHTS",
    "ROLES_OF",
    "VAULT",
    "AccessDenied",
    "AccessRule",
    "FamilyActsForItself",
    "Prospect",
    "ReadKind",
    "Relation",
    "Scope",
    "VaultAction",
    "authorize_command",
    "authorize_directory",
    "authorize_opening",
    "may_see_case",
    "relations_to_case",
    "relations_to_scope",
    "relations_to_subject",
    "rules_for_command",
    "scope_for",
]

MAY_ISSUE: Mapping[Jurisdiction, Mapping[str, AccessRule]] = {
    Jurisdiction.ICELAND: iceland.MAY_ISSUE,
    Jurisdiction.NORWAY: norway.MAY_ISSUE,
}
DIRECTORY: Mapping[str, AccessRule] = {
    "RegisterInstitution": AccessRule("ACCESS-DIR-1", frozenset({Relation.INSTITUTION_LEAD}),
                                      "§1.7: a municipality registers its own institutions"),
    "DesignateCoordinator": AccessRule("ACCESS-DIR-2", frozenset({Relation.INSTITUTION_LEAD}),
                                       "§1.7 (seed 004): the municipality designates coordinators in its institutions"),
    "WithdrawCoordinatorDesignation": AccessRule("ACCESS-DIR-2", frozenset({Relation.INSTITUTION_LEAD}),
                                                 "§1.7: the municipality withdraws its own designations"),
}
"""The coordinator directory: the lead of the institution's municipality (for a new one: the municipality the
command names)."""
RIGHTS: Mapping[str, AccessRule] = rights.MAY_ISSUE
"""The data subject's rights (erasure, restriction, rectification, protection, archiving, subject access): the same
rules in both jurisdictions (:mod:`domain.access.personal_data`)."""


def rules_for_command(command: str) -> dict[str, AccessRule]:
    """Every rule that governs ``command`` (by jurisdiction, or ``directory``), e.g. for the OpenAPI document."""
    found = {j.value: table[command] for j, table in MAY_ISSUE.items() if command in table}
    if command in RIGHTS:
        found["rights"] = RIGHTS[command]
    if command in DIRECTORY:
        found["directory"] = DIRECTORY[command]
    return found


def may_see_case(actor: Actor, case: Any) -> bool:
    """Whether the caller may see the case at all; one who may not is answered as if it did not exist."""
    held = relations_to_case(actor, case)
    return MAY_READ[ReadKind.CASE].allows(held) or MAY_READ[ReadKind.AUDIT_CASE].allows(held) \
        or bool(held & {Relation.FORMER_CASEWORKER, Relation.CLOCK})


def authorize_command(actor: Actor, command: str, case: Any, fields: Mapping[str, Any]) -> frozenset[Relation]:
    """The caller's relationships to ``case`` if they allow ``command`` with these ``fields``; else
    :class:`AccessDenied` naming the rule and the relationships missing."""
    rule = MAY_ISSUE[case.jurisdiction].get(command) or RIGHTS.get(command)
    if rule is None:
        raise AccessDenied("ACCESS-JURISDICTION", command, (), (), reason=(
            f"{command} is not a command of the case's jurisdiction ({case.jurisdiction.value})."),
            remedy="Use the commands of the case's own jurisdiction.")
    held = relations_to_case(actor, case)
    require(rule, command, held)
    check_self_fields(rule, command, actor, fields, (*case.parent_refs, case.child_ref))
    if command in RIGHTS and "subject_ref" in fields:
        rights.check_family_subject(actor, command, fields["subject_ref"], case.child_ref)
    if command in RIGHTS and "recipient_ref" in fields:
        rights.check_family_recipient(actor, command, fields["recipient_ref"])
    return held


def authorize_opening(actor: Actor, command: str, prospect: Prospect, fields: Mapping[str, Any]) -> None:
    """Opening a case: Iceland's coordinator names themselves and their institution (ACCESS-IS-R1); in Norway the
    family asks for itself, or staff of the child's municipality record its request (ACCESS-NO-R1)."""
    rule = MAY_ISSUE[prospect.jurisdiction][command]
    held = set(relations_to_prospect(actor, prospect))
    if (actor.role is Role.COORDINATOR and fields.get("coordinator_ref") == actor.person_ref
            and actor.org_ref is not None and fields.get("coordinator_org_ref") == actor.org_ref):
        held.add(Relation.OPENING_COORDINATOR)
    require(rule, command, frozenset(held))
    check_self_fields(rule, command, actor, fields, (*prospect.parent_refs, prospect.child_ref))


def authorize_directory(actor: Actor, command: str, municipality_ref: str) -> None:
    """The coordinator directory: only the lead of the institution's municipality changes it."""
    held: frozenset[Relation] = frozenset()
    if actor.role is Role.MUNICIPALITY_LEAD and actor.municipality_ref == municipality_ref:
        held = frozenset({Relation.INSTITUTION_LEAD})
    require(DIRECTORY[command], command, held)
