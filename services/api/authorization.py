"""Authorization, first layer: which roles may issue which command. One table, one place.

Sources are the roles of domain.md §1 (cited per row). This layer answers only "may this *role* ever issue
this command?"; the domain still checks who exactly may (e.g. only *the* case's coordinator, IS-R12; only the
municipality lead appoints, IS-R13). Reads have their own role table, the relationship-based access of
domain.md §8.3 item 3 and the read-access log of item 4: see ``services.api.access``.
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts import commands as c
from domain.values import Actor, Role

R = Role
_FAMILY = frozenset({R.PARENT, R.YOUNG_PERSON})

ALLOWED_ROLES: Mapping[type[c.Command], frozenset[Role]] = {
    # ---- coordinator directory: the municipality designates coordinators in its institutions (§1.7) ----
    c.RegisterInstitution: frozenset({R.MUNICIPALITY_LEAD}),
    c.DesignateCoordinator: frozenset({R.MUNICIPALITY_LEAD}),
    c.WithdrawCoordinatorDesignation: frozenset({R.MUNICIPALITY_LEAD}),
    # ---- both laws ----
    c.RecordMajority: frozenset({R.SYSTEM}),  # the daily clock job (§2), nobody else
    c.CloseCase: frozenset({R.COORDINATOR, R.CASE_MANAGER, R.MUNICIPALITY_LEAD, R.MUNICIPAL_STAFF}),
    # ---- Iceland ----
    # §1.3: the coordinator opens the case, contacts the family, organises first-level integration, notifies need.
    c.RegisterContact: frozenset({R.COORDINATOR}),
    # §1.5/§1.6: providers must react and give the family guidance on integration.
    c.RecordIntegrationGuidance: frozenset({R.SERVICE_PROVIDER_REP, R.GENERAL_SERVICE_REP, R.COORDINATOR}),
    # §1.1 the parent signs; §1.5 a provider may help fill it in; the coordinator records it.
    c.SignInformationSharingRequest: frozenset({R.COORDINATOR, R.SERVICE_PROVIDER_REP, R.PARENT}),
    # §1.5: with the request signed, the provider compiles and sends to the named coordinator.
    c.ShareInformationWithCoordinator: frozenset({R.SERVICE_PROVIDER_REP}),
    c.RecordContactWithFamily: frozenset({R.COORDINATOR}),  # §1.3: may contact no one but the family
    # §1.1/§1.2: parents and/or child request integration; staff record a written request they receive.
    c.RecordIntegrationRequest: frozenset({R.COORDINATOR, R.CASE_MANAGER, *_FAMILY}),
    c.WithdrawIntegrationRequest: frozenset({R.COORDINATOR, R.CASE_MANAGER, *_FAMILY}),  # §1.1 may withdraw
    c.ChangeCoordinator: frozenset({R.COORDINATOR, R.CASE_MANAGER, R.MUNICIPALITY_LEAD}),  # §1.3 handover
    c.ArrangeInitialAssessment: frozenset({R.COORDINATOR, R.CASE_MANAGER}),  # §1.3, §1.4
    c.RecordService: frozenset({R.COORDINATOR, R.CASE_MANAGER, R.SERVICE_PROVIDER_REP}),
    c.EndService: frozenset({R.COORDINATOR, R.CASE_MANAGER, R.SERVICE_PROVIDER_REP}),
    c.RecordLevel1Plan: frozenset({R.COORDINATOR}),  # §1.3 first-level integration
    c.NotifyNeedForCaseManager: frozenset({R.COORDINATOR}),  # §1.3 tells the municipality
    c.AppointCaseManager: frozenset({R.MUNICIPALITY_LEAD}),  # §1.4/§1.7: the domicile municipality appoints
    # §1.4: the case manager leads the support team and drafts, follows up and revises the plan.
    c.EstablishSupportTeam: frozenset({R.CASE_MANAGER}),
    c.InviteGeneralServiceProvider: frozenset({R.CASE_MANAGER}),  # §1.6 by invitation only
    c.RemoveTeamMember: frozenset({R.CASE_MANAGER}),
    c.InviteToTeamMeeting: frozenset({R.CASE_MANAGER}),
    c.RecordTeamMeeting: frozenset({R.CASE_MANAGER}),
    c.RecordChildViews: frozenset({R.CASE_MANAGER, R.COORDINATOR}),  # §1.2 the child's views
    c.AdoptSupportPlan: frozenset({R.CASE_MANAGER}),
    c.EvaluateSupportPlan: frozenset({R.CASE_MANAGER}),
    c.ReviseSupportPlan: frozenset({R.CASE_MANAGER}),
    c.AdoptAdultTransitionPlan: frozenset({R.CASE_MANAGER}),
    c.ConcludeSupportTeam: frozenset({R.CASE_MANAGER}),
    # §1.1/§1.9: the service user (or someone acting for them) complains to GEV; staff record it for them.
    c.RecordComplaint: frozenset({R.COORDINATOR, R.CASE_MANAGER, *_FAMILY}),
    # §1.9: GEV does not write into the case; the municipality records the outcome it received.
    c.RecordComplaintOutcome: frozenset({R.COORDINATOR, R.CASE_MANAGER, R.MUNICIPALITY_LEAD}),
    c.ChangeDomicile: frozenset({R.COORDINATOR, R.CASE_MANAGER, R.MUNICIPALITY_LEAD}),
    # ---- Norway: the municipality's koordinerende enhet (municipal staff) decides (§1.7) ----
    c.RequestBarnekoordinator: frozenset({R.MUNICIPAL_STAFF, *_FAMILY}),  # §1.1 oral or written request
    c.AssessEligibility: frozenset({R.MUNICIPAL_STAFF}),
    c.IssueDecision: frozenset({R.MUNICIPAL_STAFF, R.MUNICIPALITY_LEAD}),  # §1.7 written decision
    c.RecordConsent: frozenset({R.MUNICIPAL_STAFF, R.COORDINATOR, *_FAMILY}),  # §1.1 must consent
    c.WithdrawConsent: frozenset({R.MUNICIPAL_STAFF, R.COORDINATOR, *_FAMILY}),
    c.AppointBarnekoordinator: frozenset({R.MUNICIPAL_STAFF, R.MUNICIPALITY_LEAD}),  # §1.7
    c.IssueCoordinationInstruction: frozenset({R.COORDINATOR}),  # §1.4: the barnekoordinator instructs
    c.AdoptIndividualPlan: frozenset({R.COORDINATOR, R.MUNICIPAL_STAFF}),
    # §1.7: a complaint is sent to and reconsidered by the unit, then forwarded to Statsforvalteren.
    c.ReceiveComplaint: frozenset({R.MUNICIPAL_STAFF, *_FAMILY}),
    c.ReconsiderComplaint: frozenset({R.MUNICIPAL_STAFF, R.MUNICIPALITY_LEAD}),
    c.ForwardComplaint: frozenset({R.MUNICIPAL_STAFF, R.MUNICIPALITY_LEAD}),
    # §1.9: Statsforvalteren's decision is recorded by the municipality that receives it (supervisors never write).
    c.RecordStatsforvalterenDecision: frozenset({R.MUNICIPAL_STAFF, R.MUNICIPALITY_LEAD}),
}
"""Supervisors (GEV, Statsforvalteren) and national agencies never write: they appear in no row (§1.8, §1.9)."""


class Forbidden(Exception):
    """The caller's role may not issue this command (403)."""

    def __init__(self, command: str, role: Role, allowed: frozenset[Role]) -> None:
        self.command, self.role, self.allowed = command, role, sorted(r.value for r in allowed)
        super().__init__(f"The role {role.value} may not issue {command}; it needs one of the roles "
                         f"{', '.join(self.allowed)}.")


def authorize(actor: Actor, command: type[c.Command]) -> None:
    allowed = ALLOWED_ROLES[command]
    if actor.role not in allowed:
        raise Forbidden(command.__name__, actor.role, allowed)
