"""Why personal data is read (``X-Purpose``), and who may read for which purpose.

domain.md §8.3 item 3 asks for *purpose-bound*, relationship-based access, and item 4 logs every read with its
purpose. A purpose the caller could not have is not a purpose but a false entry in the read-access log: a parent
reading "for supervision", a coordinator "as the family". So a read is granted only for a purpose one of the
relationships that granted it may state (ACCESS-PURPOSE), and a refusal names the purposes the caller has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from domain.access.reads import ReadKind
from domain.access.relations import FAMILY_ROLES, Relation
from domain.access.rules import AccessDenied
from domain.values import Actor

R = Relation


class Purpose(StrEnum):
    """Why data is read (``X-Purpose``), recorded in the read-access log."""

    CASEWORK = "casework"
    SUPERVISION = "supervision"
    COMPLAINT = "complaint"
    OWN_CASE = "own_case"
    OVERSIGHT = "oversight"
    """A municipality's or supervisor's dashboard (the default on dashboard reads)."""


_FAMILY = frozenset({R.PARENT, R.CHILD, R.DATA_SUBJECT, R.CUSTODIAN})
_CASEWORKERS = frozenset({R.COORDINATOR, R.CASE_MANAGER, R.TEAM_MEMBER, R.TEAM_PROVIDER, R.SHARING_PROVIDER,
                          R.SHARING_RECIPIENT, R.FORMER_CASEWORKER, R.OWN_CASES, R.OPENING_COORDINATOR,
                          R.INSTITUTION_LEAD})
_MUNICIPALITY = frozenset({R.DOMICILE_STAFF, R.DOMICILE_LEAD})
_COMPLAINT_HANDLERS = frozenset({R.COORDINATOR, R.CASE_MANAGER, R.FORMER_CASEWORKER, R.SUPERVISOR})

STATED_BY: Mapping[Purpose, frozenset[Relation]] = {
    Purpose.CASEWORK: _CASEWORKERS | _MUNICIPALITY,
    Purpose.OWN_CASE: _FAMILY,
    Purpose.SUPERVISION: frozenset({R.SUPERVISOR}),
    Purpose.COMPLAINT: _COMPLAINT_HANDLERS | _FAMILY | _MUNICIPALITY,
    Purpose.OVERSIGHT: _MUNICIPALITY | {R.SUPERVISOR, R.NATIONAL_AGENCY},
}
"""casework: those who run the case and its municipality; own_case: the family about itself (Art. 15);
supervision: the supervisory authority (§1.9); complaint: the family lodging one, those who record it and its
outcome, and the supervisor deciding it (§1.10); oversight: dashboards of a municipality or jurisdiction (§6)."""


FOR_READ: Mapping[ReadKind, frozenset[Purpose]] = {
    ReadKind.CASE: frozenset({Purpose.CASEWORK, Purpose.OWN_CASE, Purpose.COMPLAINT}),
    ReadKind.AUDIT_CASE: frozenset({Purpose.SUPERVISION, Purpose.COMPLAINT}),
    ReadKind.CASELOAD: frozenset({Purpose.CASEWORK}),
    ReadKind.DASHBOARD: frozenset({Purpose.OVERSIGHT}),
    ReadKind.DASHBOARD_ROWS: frozenset({Purpose.OVERSIGHT, Purpose.CASEWORK}),
    ReadKind.NATIONAL: frozenset({Purpose.OVERSIGHT}),
    ReadKind.STATUS_REPORT: frozenset({Purpose.OVERSIGHT}),
    ReadKind.AUDIT: frozenset({Purpose.SUPERVISION, Purpose.COMPLAINT}),
    ReadKind.READ_LOG: frozenset({Purpose.SUPERVISION}),
    ReadKind.EXPORT_LOG: frozenset({Purpose.SUPERVISION}),
}
"""What each kind of read may be *for*, whoever reads: one case's data (the vault's too) for casework, the
family's own case or a complaint, never "oversight"; a dashboard for oversight; the row-level work lists for
oversight or casework; the supervisor's audit for supervision or a complaint. A purpose must suit both the read
and the reader's relationship (a black-box probe read a family's identity numbers "for oversight")."""


def acting_purpose(actor: Actor) -> Purpose:
    """The purpose of what a caller does rather than reads (stores, rectifies, opens): the family about itself,
    everyone else for casework. Writes state no ``X-Purpose``; their log rows still say why truthfully."""
    return Purpose.OWN_CASE if actor.role in FAMILY_ROLES else Purpose.CASEWORK


def purposes_of(granted_by: Iterable[Relation], kind: ReadKind | None = None) -> list[str]:
    """The purposes any of these relationships may state (for a read of ``kind``), in the enum's order."""
    held, suits = frozenset(granted_by), FOR_READ.get(kind, frozenset(Purpose)) if kind else frozenset(Purpose)
    return [p.value for p in Purpose if p in suits and not STATED_BY[p].isdisjoint(held)]


class PurposeNotAllowed(AccessDenied):
    """ACCESS-PURPOSE: the stated purpose is not one the caller's relationships to the data may state."""

    field = "X-Purpose"

    def __init__(self, purpose: Purpose, granted_by: frozenset[Relation], what: str,
                 rule_may: frozenset[Relation] | None = None, kind: ReadKind | None = None) -> None:
        allowed = purposes_of(granted_by, kind)
        held = ", ".join(sorted(r.value for r in granted_by)) or "none"
        required = STATED_BY[purpose] if rule_may is None else STATED_BY[purpose] & rule_may
        super().__init__("ACCESS-PURPOSE", what, required, granted_by, reason=(
            f"X-Purpose {purpose.value!r} is not a purpose for {what}: the caller reads as {held}, which may state "
            f"{', '.join(allowed) or 'no purpose'}."),
            remedy=f"Send X-Purpose with one of: {', '.join(allowed)}." if allowed else "")
        self.allowed = allowed


def check_purpose(purpose: Purpose, granted_by: frozenset[Relation], what: str,
                  rule_may: frozenset[Relation] | None = None, kind: ReadKind | None = None) -> None:
    """ACCESS-PURPOSE: ``purpose`` must suit the read (``kind``) and be one that a relationship granting it may
    state (``rule_may``, the read's own rule, narrows the relationships the refusal names as required)."""
    if purpose.value not in purposes_of(granted_by, kind):
        raise PurposeNotAllowed(purpose, granted_by, what, rule_may, kind)
