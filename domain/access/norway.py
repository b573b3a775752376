"""Norway (barnekoordinator, pbrl § 2-5 c, hol § 7-2 a): who may issue each command, in terms of the case.

The municipality's *koordinerende enhet* (municipal staff of the child's municipality) decides; the appointed
barnekoordinator coordinates while the family's consent stands; the family asks, consents and complains.
Rule ids are ``ACCESS-NO-R<n>``, numbered as the law's own rows in :mod:`domain.barnekoordinator` where one
exists (R1 request, R2 assessment, R3 decision, R4 consent, R6 instruction, R7 plan, R9-R12 complaints); R5 is
the appointment, R8 the consent's withdrawal, R13 closing and R14 majority; R15-R20 the coordinator's duties
after the decision (guidance, referral, follow-up, reassessment, views, the specialist coordinator's link).
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.access.relations import Relation
from domain.access.rules import AccessRule

R = Relation
_FAMILY = frozenset({R.PARENT, R.CHILD})
_MUNICIPALITY = frozenset({R.DOMICILE_STAFF, R.DOMICILE_LEAD})
_DUTIES = "seed 002: the case's barnekoordinator's own duties, while the family's consent stands"
_UNIT = "§1.7: the municipality's koordinerende enhet decides, in writing, and reconsiders complaints first"


def _rule(row: int, may: frozenset[Relation], basis: str, **extra: object) -> AccessRule:
    return AccessRule(f"ACCESS-NO-R{row}", may, basis, **extra)  # type: ignore[arg-type]


MAY_ISSUE: Mapping[str, AccessRule] = {
    "RequestBarnekoordinator": _rule(
        1, _FAMILY | {R.DOMICILE_STAFF}, "§1.1 (seed 002): the family asks, orally or in writing; staff of the "
        "child's municipality record an oral request", family_self_fields=("requested_by_ref",)),
    "AssessEligibility": _rule(2, frozenset({R.DOMICILE_STAFF}), _UNIT),
    "IssueDecision": _rule(3, _MUNICIPALITY, _UNIT),
    "RecordConsent": _rule(
        4, _FAMILY | {R.DOMICILE_STAFF, R.COORDINATOR}, "§1.1: the parents (or whoever consents for the child) "
        "consent; staff record the signed form", family_self_fields=("given_by_refs",)),
    "AppointBarnekoordinator": _rule(5, _MUNICIPALITY, "§1.7: the municipality appoints, weighing the family's "
                                     "wishes"),
    "IssueCoordinationInstruction": _rule(6, frozenset({R.COORDINATOR}), "§1.4 (seed 002): the barnekoordinator "
                                          "instructs the services, while the consent stands"),
    "AdoptIndividualPlan": _rule(7, frozenset({R.COORDINATOR}), "§1.4: the barnekoordinator coordinates the plan"),
    "WithdrawConsent": _rule(
        8, _FAMILY | {R.DOMICILE_STAFF, R.COORDINATOR}, "§1.1: the family withdraws its consent (in person, or as "
        "recorded by staff)", family_self_fields=("withdrawn_by_ref",), family_in_field="withdrawn_by_ref"),
    "ReceiveComplaint": _rule(9, _FAMILY | {R.DOMICILE_STAFF}, "§1.7: a complaint is sent to the unit"),
    "ReconsiderComplaint": _rule(10, _MUNICIPALITY, _UNIT),
    "ForwardComplaint": _rule(11, _MUNICIPALITY, _UNIT),
    "RecordStatsforvalterenDecision": _rule(12, _MUNICIPALITY, "§1.9: Statsforvalteren's decision is recorded by "
                                            "the municipality that receives it (supervisors never write)"),
    "CloseCase": _rule(13, _MUNICIPALITY | {R.COORDINATOR}, "the case ends when no coordination is running"),
    "RecordMajority": _rule(14, frozenset({R.CLOCK}), "§2: the daily clock, nobody else"),
    "RecordDueDeadlines": AccessRule("ACCESS-CLOCK-1", frozenset({R.CLOCK}), "§3: the clock records the deadline "
                                     "facts (warned, breached, reached, escalated), nobody else"),
    # the coordinator's duties after the decision (seed 002; issue 12)
    "RecordGuidanceGiven": _rule(15, frozenset({R.COORDINATOR}), _DUTIES),
    "CommunicateReferral": _rule(16, frozenset({R.COORDINATOR}), _DUTIES),
    "FollowUpWithService": _rule(17, frozenset({R.COORDINATOR}), _DUTIES + "; never about a service's content or "
                                 "method (NO-R16)"),
    "InitiateReassessment": _rule(18, frozenset({R.COORDINATOR}), _DUTIES),
    "RecordFamilyViews": _rule(19, frozenset({R.COORDINATOR}), _DUTIES + ": the family's views heard while the "
                               "coordinator works"),
    "LinkSpecialistCoordinator": _rule(20, frozenset({R.COORDINATOR}), _DUTIES + ": the specialist health "
                                       "service's coordinator works beside them"),
}
"""Supervisors (Statsforvalteren) and national agencies appear in no row: they never write (§1.8, §1.9)."""
