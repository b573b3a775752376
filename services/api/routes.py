"""The command table: each command of ``contracts.commands`` → the ``Casework`` method → its POST path.

Paths with ``{case_id}`` fill the command's ``case_id`` from the path (it is not in the body). Commands that
open a case (or change the coordinator directory) have no case in the path and answer 201.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import commands as c

CASE = "/v1/cases/{case_id}"


@dataclass(frozen=True)
class CommandRoute:
    model: type[c.Command]
    method: str
    path: str
    summary: str

    @property
    def on_case(self) -> bool:
        return "{case_id}" in self.path

    @property
    def tag(self) -> str:
        return "cases" if self.path.startswith("/v1/cases") else "directory"


def _r(model: type[c.Command], method: str, path: str, summary: str) -> CommandRoute:
    return CommandRoute(model, method, path, summary)


ROUTES: tuple[CommandRoute, ...] = (
    # ---- coordinator directory ----
    _r(c.RegisterInstitution, "register_institution", "/v1/institutions", "Register an institution"),
    _r(c.DesignateCoordinator, "designate_coordinator", "/v1/institutions/coordinators",
       "Designate a coordinator of an institution"),
    _r(c.WithdrawCoordinatorDesignation, "withdraw_coordinator_designation",
       "/v1/institutions/coordinators/withdrawals", "Withdraw a coordinator's designation"),
    # ---- cases that open ----
    _r(c.RegisterContact, "register_contact", "/v1/cases/iceland/contacts",
       "Iceland: register the first contact (opens a case)"),
    _r(c.RequestBarnekoordinator, "request_barnekoordinator", "/v1/cases/norway/requests",
       "Norway: request a barnekoordinator (opens a case)"),
    # ---- both laws ----
    _r(c.RecordMajority, "record_majority", f"{CASE}/majority", "Record that the child turned 18"),
    _r(c.CloseCase, "close_case", f"{CASE}/closure", "Close the case"),
    _r(c.RecordDueDeadlines, "record_due_deadlines", f"{CASE}/deadline-facts",
       "Record the deadline facts due today (the clock)"),
    # ---- Iceland ----
    _r(c.RecordIntegrationGuidance, "record_integration_guidance", f"{CASE}/integration-guidance",
       "Record guidance on integration given by a provider"),
    _r(c.SignInformationSharingRequest, "sign_information_sharing_request", f"{CASE}/information-sharing-requests",
       "Record a signed request for information sharing"),
    _r(c.ShareInformationWithCoordinator, "share_information_with_coordinator", f"{CASE}/information-shares",
       "Share information with the coordinator"),
    _r(c.RecordContactWithFamily, "record_contact_with_family", f"{CASE}/family-contacts",
       "Record the coordinator's contact with the family"),
    _r(c.RecordIntegrationRequest, "record_integration_request", f"{CASE}/integration-requests",
       "Record a request for integration of services"),
    _r(c.WithdrawIntegrationRequest, "withdraw_integration_request", f"{CASE}/integration-requests/withdrawals",
       "Withdraw the request for integration"),
    _r(c.ChangeCoordinator, "change_coordinator", f"{CASE}/coordinator-changes", "Change the coordinator"),
    _r(c.ArrangeInitialAssessment, "arrange_initial_assessment", f"{CASE}/initial-assessments",
       "Arrange an initial assessment"),
    _r(c.RecordService, "record_service", f"{CASE}/services", "Record a service"),
    _r(c.EndService, "end_service", f"{CASE}/services/endings", "End a service"),
    _r(c.RecordLevel1Plan, "record_level1_plan", f"{CASE}/level1-plans", "Record a first-level plan"),
    _r(c.NotifyNeedForCaseManager, "notify_need_for_case_manager", f"{CASE}/case-manager-needs",
       "Notify the municipality that a case manager is needed"),
    _r(c.AppointCaseManager, "appoint_case_manager", f"{CASE}/case-manager", "Appoint the case manager"),
    _r(c.EstablishSupportTeam, "establish_support_team", f"{CASE}/support-team", "Establish the support team"),
    _r(c.InviteGeneralServiceProvider, "invite_general_service_provider",
       f"{CASE}/support-team/general-service-invitations", "Invite a general-service provider to the team"),
    _r(c.RemoveTeamMember, "remove_team_member", f"{CASE}/support-team/removals", "Remove a team member"),
    _r(c.InviteToTeamMeeting, "invite_to_team_meeting", f"{CASE}/support-team/meeting-invitations",
       "Invite to a team meeting"),
    _r(c.RecordTeamMeeting, "record_team_meeting", f"{CASE}/support-team/meetings", "Record a team meeting"),
    _r(c.ConcludeSupportTeam, "conclude_support_team", f"{CASE}/support-team/conclusion",
       "Conclude the support team's work"),
    _r(c.RecordChildViews, "record_child_views", f"{CASE}/child-views", "Record the child's views"),
    _r(c.AdoptSupportPlan, "adopt_support_plan", f"{CASE}/support-plans", "Adopt the support plan"),
    _r(c.EvaluateSupportPlan, "evaluate_support_plan", f"{CASE}/support-plans/evaluations",
       "Evaluate the support plan"),
    _r(c.ReviseSupportPlan, "revise_support_plan", f"{CASE}/support-plans/revisions", "Revise the support plan"),
    _r(c.AdoptAdultTransitionPlan, "adopt_adult_transition_plan", f"{CASE}/adult-transition-plans",
       "Adopt the adult transition plan"),
    _r(c.RecordComplaint, "record_complaint", f"{CASE}/gev-complaints", "Record a complaint to GEV"),
    _r(c.RecordComplaintOutcome, "record_complaint_outcome", f"{CASE}/gev-complaints/outcomes",
       "Record the outcome of a GEV complaint"),
    _r(c.ChangeDomicile, "change_domicile", f"{CASE}/domicile-changes", "Change the child's domicile"),
    # ---- Norway ----
    _r(c.AssessEligibility, "assess_eligibility", f"{CASE}/eligibility-assessments", "Assess eligibility"),
    _r(c.IssueDecision, "issue_decision", f"{CASE}/decisions", "Issue a written decision"),
    _r(c.RecordConsent, "record_consent", f"{CASE}/consents", "Record consent"),
    _r(c.WithdrawConsent, "withdraw_consent", f"{CASE}/consents/withdrawals", "Withdraw consent"),
    _r(c.AppointBarnekoordinator, "appoint_barnekoordinator", f"{CASE}/barnekoordinator",
       "Appoint the barnekoordinator"),
    _r(c.IssueCoordinationInstruction, "issue_coordination_instruction", f"{CASE}/coordination-instructions",
       "Issue a coordination instruction"),
    _r(c.AdoptIndividualPlan, "adopt_individual_plan", f"{CASE}/individual-plans", "Adopt the individual plan"),
    _r(c.ReceiveComplaint, "receive_complaint", f"{CASE}/complaints", "Receive a complaint about a decision"),
    _r(c.ReconsiderComplaint, "reconsider_complaint", f"{CASE}/complaints/reconsiderations",
       "Reconsider a complaint"),
    _r(c.ForwardComplaint, "forward_complaint", f"{CASE}/complaints/forwardings",
       "Forward a complaint to Statsforvalteren"),
    _r(c.RecordStatsforvalterenDecision, "record_statsforvalteren_decision",
       f"{CASE}/complaints/statsforvalteren-decisions", "Record Statsforvalteren's decision"),
    # ---- Norway: the coordinator's duties after the decision (issue 12) ----
    _r(c.RecordGuidanceGiven, "record_guidance_given", f"{CASE}/guidance", "Record information and guidance given"),
    _r(c.CommunicateReferral, "communicate_referral", f"{CASE}/referrals",
       "Record a contact or referral communicated"),
    _r(c.FollowUpWithService, "follow_up_with_service", f"{CASE}/service-follow-ups",
       "Record a follow-up with a service on the family's behalf"),
    _r(c.InitiateReassessment, "initiate_reassessment", f"{CASE}/reassessments",
       "Record a reassessment of needs driven by the coordinator"),
    _r(c.RecordFamilyViews, "record_family_views", f"{CASE}/family-views",
       "Record the child's and the family's views"),
    _r(c.LinkSpecialistCoordinator, "link_specialist_coordinator", f"{CASE}/specialist-coordinators",
       "Link the specialist health service's coordinator"),
    # ---- the data subject's rights (both laws; the export itself is services.api.routers.rights) ----
    _r(c.ReceiveErasureRequest, "receive_erasure_request", f"{CASE}/erasure-requests",
       "Record a data subject's request for erasure"),
    _r(c.DecideErasureRequest, "decide_erasure_request", f"{CASE}/erasure-requests/decisions",
       "Decide an erasure request (refused under the archives duty, or granted and shredded)"),
    _r(c.RestrictProcessing, "restrict_processing", f"{CASE}/processing-restrictions",
       "Restrict processing of a data subject's data"),
    _r(c.LiftProcessingRestriction, "lift_processing_restriction", f"{CASE}/processing-restrictions/lifts",
       "Lift a restriction of processing"),
    _r(c.RectifyData, "rectify_data", f"{CASE}/rectifications", "Rectify a document by a compensating fact"),
    _r(c.ProtectIdentity, "protect_identity", f"{CASE}/identity-protections", "Protect a data subject's identity"),
    _r(c.LiftIdentityProtection, "lift_identity_protection", f"{CASE}/identity-protections/lifts",
       "Lift the protection of an identity"),
    _r(c.ArchiveCase, "archive_case", f"{CASE}/archiving", "Archive a closed case after its retention period"),
)
