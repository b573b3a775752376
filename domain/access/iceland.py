"""Iceland (Act 86/2021): who may issue each command, in terms of the case itself.

Row numbers are those of domain.md §2.3; each rule's id is ``ACCESS-IS-R<row>``, beside the law's own guard
``IS-R<row>`` in :mod:`domain.farsaeld` (which says what the command may do; this says who may ask).
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.access.relations import Relation
from domain.access.rules import AccessRule

R = Relation
_FAMILY = frozenset({R.PARENT, R.CHILD})
_CASEWORKERS = frozenset({R.COORDINATOR, R.CASE_MANAGER})
_CASE_MANAGER = frozenset({R.CASE_MANAGER})
_LEADS_TEAM = "§1.4 (seed 000): the case manager leads the support team and drafts, follows up and revises the plan"


def _rule(row: int, may: frozenset[Relation], basis: str, **extra: object) -> AccessRule:
    return AccessRule(f"ACCESS-IS-R{row}", may, basis, **extra)  # type: ignore[arg-type]


MAY_ISSUE: Mapping[str, AccessRule] = {
    "RegisterContact": _rule(1, frozenset({R.OPENING_COORDINATOR}),
                             "§1.3 (seed 003): the coordinator of the child's institution registers the first contact"),
    "RecordIntegrationGuidance": _rule(
        2, _CASEWORKERS | {R.TEAM_PROVIDER, R.TEAM_MEMBER, R.SHARING_PROVIDER},
        "§1.5/§1.6: a provider's duty to guide the family, recorded by the provider or the case's caseworkers",
        provider_self_fields={"provider_person_ref": "person", "provider_org_ref": "org"}),
    "SignInformationSharingRequest": _rule(
        3, _CASEWORKERS | _FAMILY, "§1.1: the parents and/or the child sign; the coordinator records the form",
        family_self_fields=("signatory_refs",)),
    "ShareInformationWithCoordinator": _rule(
        4, frozenset({R.SHARING_PROVIDER}), "§1.5 (seed 001): only the provider the family named, to the named "
        "coordinator", provider_self_fields={"source_provider_org_ref": "org"}),
    "RecordContactWithFamily": _rule(5, frozenset({R.COORDINATOR}),
                                     "§1.3 (seed 001): the coordinator contacts the family and no one else"),
    "RecordIntegrationRequest": _rule(
        6, _CASEWORKERS | _FAMILY, "§1.1/§1.2: the parents and/or the child request; staff record a written request",
        family_self_fields=("requested_by_refs",), family_role_field="requester_roles"),
    "WithdrawIntegrationRequest": _rule(
        7, _CASEWORKERS | _FAMILY, "§1.1: the family withdraws (in person, or as recorded by its caseworkers)",
        family_self_fields=("withdrawn_by_ref",)),
    "ChangeCoordinator": _rule(8, _CASEWORKERS | {R.DOMICILE_LEAD}, "§1.3: the handover as the child moves on"),
    "ArrangeInitialAssessment": _rule(9, _CASEWORKERS, "§1.3/§1.4: helps secure an initial assessment"),
    "RecordService": _rule(10, _CASEWORKERS | {R.TEAM_PROVIDER}, "§1.5: the providers on the team deliver"),
    "EndService": _rule(10, _CASEWORKERS | {R.TEAM_PROVIDER}, "§1.5: the providers on the team deliver"),
    "RecordLevel1Plan": _rule(11, frozenset({R.COORDINATOR}), "§1.3: the coordinator organises first-level "
                              "integration"),
    "NotifyNeedForCaseManager": _rule(12, frozenset({R.COORDINATOR}), "§1.3: the coordinator tells the municipality"),
    "AppointCaseManager": _rule(13, frozenset({R.DOMICILE_LEAD}), "§1.4 (seed 000): the municipality of legal "
                                "domicile appoints the case manager"),
    "EstablishSupportTeam": _rule(14, _CASE_MANAGER, _LEADS_TEAM),
    "InviteGeneralServiceProvider": _rule(15, _CASE_MANAGER, "§1.6: by the case manager's invitation only"),
    "RemoveTeamMember": _rule(16, _CASE_MANAGER, _LEADS_TEAM),
    "InviteToTeamMeeting": _rule(17, _CASE_MANAGER, _LEADS_TEAM),
    "RecordTeamMeeting": _rule(17, _CASE_MANAGER, _LEADS_TEAM),
    "RecordChildViews": _rule(18, _CASEWORKERS, "§1.2: the child's views, heard by its caseworkers"),
    "AdoptSupportPlan": _rule(19, _CASE_MANAGER, _LEADS_TEAM),
    "EvaluateSupportPlan": _rule(20, _CASE_MANAGER, _LEADS_TEAM),
    "ReviseSupportPlan": _rule(21, _CASE_MANAGER, _LEADS_TEAM),
    "AdoptAdultTransitionPlan": _rule(22, _CASE_MANAGER, _LEADS_TEAM),
    "ConcludeSupportTeam": _rule(23, _CASE_MANAGER, _LEADS_TEAM),
    "RecordComplaint": _rule(
        25, _CASEWORKERS | _FAMILY | {R.FORMER_CASEWORKER}, "§1.9 (gev.is): the service user or someone acting for "
        "them complains; a complaint outlives the case and its basis", family_self_fields=("complainant_ref",)),
    "RecordComplaintOutcome": _rule(
        26, _CASEWORKERS | {R.DOMICILE_LEAD, R.FORMER_CASEWORKER}, "§1.9: GEV never writes into a case; the "
        "municipality records the outcome it received, also after the basis ended"),
    "ChangeDomicile": _rule(27, _CASEWORKERS | {R.DOMICILE_LEAD}, "§1.7: the family moves; the domicile changes"),
    "RecordMajority": _rule(28, frozenset({R.CLOCK}), "§2: the daily clock, nobody else"),
    "CloseCase": _rule(29, _CASEWORKERS | {R.DOMICILE_LEAD, R.DOMICILE_STAFF}, "§2.3 row 29: the case's "
                       "caseworkers or its municipality close it"),
    "RecordDueDeadlines": AccessRule("ACCESS-CLOCK-1", frozenset({R.CLOCK}), "§3: the clock records the deadline "
                                     "facts (warned, breached, reached, escalated), nobody else"),
}
"""Supervisors (GEV) and the national agency (BOFS) appear in no row: they never write (§1.8, §1.9)."""
