"""The shape of the access model: a rule per command or read, who may (as relationships), and the refusal.

A rule names the relationships that allow it; holding any one of them is enough. Rule ids are stable
(``ACCESS-IS-R13`` is the access rule of row 13 of domain.md §2.3, beside the law's own ``IS-R13``), so a 403,
a read-log row and the OpenAPI document all cite the same rule.

Fields naming who acts for the family (``withdrawn_by_ref``, ``complainant_ref``, ``requested_by_ref``,
``requested_by_refs``, ``given_by_refs``, ``signatory_refs``) must name the caller when the caller *is* the
family (ACCESS-SELF): a parent acts for themselves, never in another person's name. Staff recording what a
family member said or signed name that person; the law's own rules (IS-R3, IS-R6, IS-R7, NO-R4) check that
they are the family. Fields naming who acts for a provider (``provider_person_ref``, ``source_provider_org_ref``)
must name the caller (and their organisation) when a provider's representative issues the command.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.access.relations import FAMILY_ROLES, Relation
from domain.errors import DomainError
from domain.values import Actor, Role


@dataclass(frozen=True)
class AccessRule:
    rule_id: str
    may: frozenset[Relation]
    """Holding any one of these relationships allows it."""
    basis: str
    """Why these and only these: the source in domain.md (§1 actors, §8.3 privacy) or the law."""
    family_self_fields: tuple[str, ...] = ()
    """Fields that must name the caller when the caller is a parent or the child (ACCESS-SELF)."""
    provider_self_fields: Mapping[str, str] = field(default_factory=dict)
    """Field → ``person`` or ``org``: must be the caller (or the caller's organisation) when a provider's
    representative issues the command (ACCESS-SELF)."""
    family_in_field: str | None = None
    """A field that must name one of the case's family whoever issues it (NO consent withdrawal)."""
    family_role_field: str | None = None
    """A field stating in which capacity the family acts: a parent acts as ``parent``, the child as ``child``
    (ACCESS-SELF), so a young person cannot make a request look like the parents' (IS-R6, a child alone)."""
    public: bool = False
    """Answered to anyone, without signing in (no personal data, nothing about any case: seed 003's "who is my
    coordinator")."""

    def allows(self, held: Iterable[Relation]) -> bool:
        return not self.may.isdisjoint(held)


def _names(relations: Iterable[Relation]) -> list[str]:
    return sorted(r.value for r in relations)


class AccessDenied(DomainError):
    """The caller lacks every relationship the rule asks for (HTTP 403, or 404 when the caller may not even
    see the case: a case one may not see answers like one that does not exist)."""

    def __init__(self, rule_id: str, what: str, required: Iterable[Relation], held: Iterable[Relation],
                 reason: str | None = None, remedy: str = "") -> None:
        self.rule_id, self.what = rule_id, what
        self.required, self.held = _names(required), _names(held)
        self.reason = reason or (f"{what} needs one of the relationships {', '.join(self.required)} to the case; "
                                 f"the caller has {', '.join(self.held) or 'none'}.")
        self.remedy = remedy or "Ask a person who holds one of those relationships to the case."
        super().__init__(f"[{rule_id}] {self.reason}")


class FamilyActsForItself(AccessDenied):
    """ACCESS-SELF: a body field naming who acts does not name the caller."""

    def __init__(self, what: str, field_name: str, actor: Actor) -> None:
        super().__init__("ACCESS-SELF", what, (), (), reason=(
            f"{field_name} must name the caller ({actor.person_ref}, as a {actor.role.value}) when a "
            f"{actor.role.value} issues {what}."),
            remedy=f"Send your own reference (or capacity) in {field_name}; nobody acts in another person's name.")
        self.field = field_name


def _as_refs(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def check_self_fields(rule: AccessRule, what: str, actor: Actor, fields: Mapping[str, Any],
                      family: tuple[str, ...] | None) -> None:
    """ACCESS-SELF: the body may not make a family member or a provider act in someone else's name."""
    if actor.role in FAMILY_ROLES:
        for name in rule.family_self_fields:
            if name in fields and _as_refs(fields[name]) != (actor.person_ref,):
                raise FamilyActsForItself(what, name, actor)
    capacity = rule.family_role_field
    if actor.role in FAMILY_ROLES and capacity is not None and capacity in fields:
        stated = tuple(str(getattr(v, "value", v)) for v in _as_refs(fields[capacity]))
        if stated != ("parent" if actor.role is Role.PARENT else "child",):
            raise FamilyActsForItself(what, capacity, actor)
    if actor.role in (Role.SERVICE_PROVIDER_REP, Role.GENERAL_SERVICE_REP):
        for name, kind in rule.provider_self_fields.items():
            caller = actor.person_ref if kind == "person" else actor.org_ref
            if name in fields and fields[name] != caller:
                raise FamilyActsForItself(what, name, actor)
    if rule.family_in_field is not None and family is not None and fields.get(rule.family_in_field) not in family:
        raise AccessDenied("ACCESS-SELF", what, (), (), reason=(
            f"{rule.family_in_field} must name one of the child's family (a parent or the child)."),
            remedy="Name the family member who acts.")


def require(rule: AccessRule, what: str, held: frozenset[Relation]) -> None:
    if not rule.allows(held):
        raise AccessDenied(rule.rule_id, what, rule.may, held)
