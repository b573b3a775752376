"""Who may exercise, decide and see the data subject's rights on a case (both laws alike; domain.md §8).

Rule ids are ``ACCESS-PRIV-<n>``, beside the law's own rules ``PRIV-<n>`` in :mod:`domain.personal_data` (which say
what a right may do; these say who may ask). The controller is the domicile municipality (domain.md §8.3 item 10):
its lead decides an erasure request and archives; its staff (the municipality's privacy desk) record requests,
restrictions and protections; the case's caseworkers rectify what they recorded. The family asks for itself
(ACCESS-PRIV-SELF): a parent for themselves or for the child, the child for itself, nobody for another parent.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.access.reads import MAY_READ, ReadKind
from domain.access.relations import Relation
from domain.access.rules import AccessDenied, AccessRule
from domain.values import Actor, Role

R = Relation
_FAMILY = frozenset({R.PARENT, R.CHILD})
_MUNICIPALITY = frozenset({R.DOMICILE_STAFF, R.DOMICILE_LEAD})
_CASEWORKERS = frozenset({R.COORDINATOR, R.CASE_MANAGER})
_CONTROLLER = "§8.3 item 10: the municipality is the controller"

MAY_ISSUE: Mapping[str, AccessRule] = {
    "ReceiveErasureRequest": AccessRule("ACCESS-PRIV-1", _FAMILY | _MUNICIPALITY | _CASEWORKERS,
                                        "GDPR Art. 17, §8.2: the family asks; staff record a request they received"),
    "DecideErasureRequest": AccessRule("ACCESS-PRIV-2", frozenset({R.DOMICILE_LEAD}),
                                       f"{_CONTROLLER}; its lead decides (refused under the archives duty, §8.2)"),
    "RestrictProcessing": AccessRule("ACCESS-PRIV-3", _MUNICIPALITY, f"GDPR Art. 18; {_CONTROLLER}"),
    "LiftProcessingRestriction": AccessRule("ACCESS-PRIV-3", _MUNICIPALITY, f"GDPR Art. 18(3); {_CONTROLLER}"),
    "RectifyData": AccessRule("ACCESS-PRIV-4", _CASEWORKERS | _MUNICIPALITY,
                              "GDPR Art. 16: who recorded the case corrects it, by a compensating fact"),
    "ProtectIdentity": AccessRule("ACCESS-PRIV-5", _MUNICIPALITY | _CASEWORKERS,
                                  "§8.3 item 7: protected addresses or identities (Primero's hidden_name)"),
    "LiftIdentityProtection": AccessRule("ACCESS-PRIV-5", frozenset({R.DOMICILE_LEAD}),
                                         "§8.3 item 7: lifting a protection is the controller's decision"),
    "ArchiveCase": AccessRule("ACCESS-PRIV-6", frozenset({R.DOMICILE_LEAD, R.CLOCK}),
                              "§8.2: after the retention period the controller (or the daily clock) archives"),
    "SubjectAccessRequest": AccessRule("ACCESS-PRIV-7", _FAMILY | _MUNICIPALITY,
                                            "GDPR Art. 15, §8.3 item 5: the subject, or the controller for them"),
}
"""The commands of the data subject's rights, the same in both jurisdictions."""

SUBJECT_ACCESS = MAY_ISSUE["SubjectAccessRequest"]
"""Producing a subject access export is the same right as recording it: one rule for both (ACCESS-PRIV-7)."""
PROTECTED_IDENTITY = AccessRule("ACCESS-PRIV-8", _CASEWORKERS | {R.DOMICILE_LEAD},
                                "§8.3 item 7: a protected identity is seen by the case's caseworkers and the "
                                "controller's lead only (and by the person themselves)")
EXPORT_LOG = MAY_READ[ReadKind.EXPORT_LOG]
"""Reading the export log (ACCESS-PRIV-9) is a read kind like the read log's."""
SUBJECT_FIELDS = ("subject_ref",)


def check_family_subject(actor: Actor, command: str, subject_ref: object, child_ref: str) -> None:
    """ACCESS-PRIV-SELF: a parent exercises a right for themselves or for the child, the child for itself."""
    if actor.role not in (Role.PARENT, Role.YOUNG_PERSON) or subject_ref == actor.person_ref:
        return
    if actor.role is Role.PARENT and subject_ref == child_ref:
        return
    raise AccessDenied("ACCESS-PRIV-SELF", command, (), (), reason=(
        f"subject_ref must be the caller ({actor.person_ref})"
        + (" or the child" if actor.role is Role.PARENT else "") + f" when a {actor.role.value} asks."),
        remedy="Ask for your own data (or, as a parent, your child's); another person asks for theirs.")


def check_family_recipient(actor: Actor, command: str, recipient_ref: object) -> None:
    """ACCESS-PRIV-SELF: a family member's own request is answered to them, never sent on to someone else."""
    if actor.role in (Role.PARENT, Role.YOUNG_PERSON) and recipient_ref != actor.person_ref:
        raise AccessDenied("ACCESS-PRIV-SELF", command, (), (), reason=(
            f"recipient_ref must be the caller ({actor.person_ref}) when a {actor.role.value} asks."),
            remedy="Ask for the export to be sent to yourself.")


def may_see_protected(held: frozenset[Relation], actor: Actor, subject_ref: str) -> bool:
    """ACCESS-PRIV-8: whether the caller sees a protected subject's data (the person always sees their own)."""
    return PROTECTED_IDENTITY.allows(held) or actor.person_ref == subject_ref
