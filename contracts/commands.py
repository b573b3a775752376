"""Commands v1: what a caller may ask prosperity to do, one model per command of domain.md §2.

These are the public request schemas (the HTTP API publishes them in its OpenAPI document). They check
shape and vocabulary (422: field and rule); the law's rules are checked by the domain (409: rule id).
Field names match the domain command's keyword arguments, so ``arguments()`` hands them over as they are.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.refs import Code, DocRef, Identifier, MunicipalityRef, OrgRef, PersonRef
from domain.values import (
    AdultServiceHandover,
    ComplainantCapacity,
    ComplaintSubject,
    ContactChannel,
    ContactInitiator,
    Decision,
    EligibilityCriteria,
    EvaluationOutcome,
    FamilyMember,
    FamilyStatus,
    IndividualPlanContent,
    InstitutionType,
    InstructionType,
    Jurisdiction,
    LifeStage,
    OfferResponse,
    ReconsiderationOutcome,
    RequestChannel,
    StatsforvalterenOutcome,
    SupportPlanContent,
    TeamMember,
    TeamOutcome,
    ViewsMethod,
)

SCHEMA_VERSION = "v1"


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def arguments(self) -> dict[str, Any]:
        """The command's fields as the domain method's keyword arguments (typed values, not dumps)."""
        return {name: getattr(self, name) for name in type(self).model_fields if name != "case_id"}


class CaseCommand(Command):
    case_id: UUID


# ---- coordinator directory ---------------------------------------------------------------------------
class RegisterInstitution(Command):
    org_ref: OrgRef
    institution_type: InstitutionType
    municipality_ref: MunicipalityRef
    jurisdiction: Jurisdiction


class DesignateCoordinator(Command):
    org_ref: OrgRef
    person_ref: PersonRef


class WithdrawCoordinatorDesignation(Command):
    org_ref: OrgRef
    person_ref: PersonRef


# ---- both laws -----------------------------------------------------------------------------------------
class RecordMajority(CaseCommand):
    """System command, run daily: the child has turned 18."""


class CloseCase(CaseCommand):
    closure_reason: Code


# ---- Iceland (Act 86/2021), rows of domain.md §2.3 -------------------------------------------------------
class RegisterContact(Command):
    child_ref: PersonRef
    parent_refs: tuple[PersonRef, ...] = Field(min_length=1)
    birth_date: date | None
    municipality_ref: MunicipalityRef
    coordinator_ref: PersonRef
    coordinator_org_ref: OrgRef
    life_stage: LifeStage
    conflict_of_interest_declared_none: bool
    channel: ContactChannel = ContactChannel.IN_PERSON
    initiated_by: ContactInitiator = ContactInitiator.PARENT
    episode: int = Field(default=1, ge=1)


class RecordIntegrationGuidance(CaseCommand):
    provider_org_ref: OrgRef
    provider_person_ref: PersonRef
    given_to: FamilyMember


class SignInformationSharingRequest(CaseCommand):
    request_id: Identifier
    signatory_refs: tuple[PersonRef, ...] = Field(min_length=1)
    source_provider_org_refs: tuple[OrgRef, ...]
    target_refs: tuple[PersonRef, ...]
    form_doc_ref: DocRef


class ShareInformationWithCoordinator(CaseCommand):
    request_id: Identifier
    source_provider_org_ref: OrgRef
    recipient_ref: PersonRef
    summary_doc_ref: DocRef


class RecordContactWithFamily(CaseCommand):
    offered_to: tuple[FamilyMember, ...] = Field(min_length=1)
    contact_refs: tuple[PersonRef, ...] = Field(min_length=1)
    response: OfferResponse


class RecordIntegrationRequest(CaseCommand):
    request_id: Identifier
    requested_by_refs: tuple[PersonRef, ...] = Field(min_length=1)
    requester_roles: tuple[FamilyMember, ...] = Field(min_length=1)
    written: bool
    form_doc_ref: DocRef


class WithdrawIntegrationRequest(CaseCommand):
    request_id: Identifier
    withdrawn_by_ref: PersonRef
    reason_code: Code | None = None


class ChangeCoordinator(CaseCommand):
    coordinator_ref: PersonRef
    coordinator_org_ref: OrgRef
    life_stage_basis: LifeStage
    conflict_of_interest_declared_none: bool
    handover_note_doc_ref: DocRef | None = None


class ArrangeInitialAssessment(CaseCommand):
    assessor_org_ref: OrgRef
    planned_date: date


class RecordService(CaseCommand):
    service_id: Identifier
    provider_org_ref: OrgRef
    service_level: int = Field(ge=1, le=3, description="Level of this service: 1 basic, 2 targeted, 3 specialised.")
    service_type_code: Code
    start_date: date


class EndService(CaseCommand):
    service_id: Identifier
    end_date: date


class RecordLevel1Plan(CaseCommand):
    objective_refs: tuple[DocRef, ...] = Field(min_length=1)
    responsible_org_refs: tuple[OrgRef, ...] = Field(min_length=1)
    follow_up_date: date


class NotifyNeedForCaseManager(CaseCommand):
    municipality_ref: MunicipalityRef
    rationale_code: Code = "multi_level_l2_l3_long_term"


class AppointCaseManager(CaseCommand):
    case_manager_ref: PersonRef
    municipality_ref: MunicipalityRef
    org_unit_ref: OrgRef
    needs_l2_l3_multilevel: bool
    long_term: bool
    works_in_social_services_or_area_of_needs: bool


class EstablishSupportTeam(CaseCommand):
    team_id: Identifier
    members: tuple[TeamMember, ...] = Field(min_length=1)


class InviteGeneralServiceProvider(CaseCommand):
    person_ref: PersonRef
    org_ref: OrgRef
    necessity_justification_ref: DocRef | None


class RemoveTeamMember(CaseCommand):
    person_ref: PersonRef
    reason_code: Code


class InviteToTeamMeeting(CaseCommand):
    meeting_id: Identifier
    invitee_refs: tuple[PersonRef, ...] = Field(min_length=1)
    scheduled_for: date


class RecordTeamMeeting(CaseCommand):
    meeting_id: Identifier
    attendee_refs: tuple[PersonRef, ...]
    parents_attended: bool
    child_attended: bool
    minutes_doc_ref: DocRef
    decision_codes: tuple[Code, ...] = ()


class RecordChildViews(CaseCommand):
    method: ViewsMethod
    summary_doc_ref: DocRef


class AdoptSupportPlan(CaseCommand):
    plan_id: Identifier
    content: SupportPlanContent


class EvaluateSupportPlan(CaseCommand):
    plan_id: Identifier
    version: int = Field(ge=1)
    outcome: EvaluationOutcome
    progress_doc_ref: DocRef
    next_review_date: date | None = None


class ReviseSupportPlan(CaseCommand):
    plan_id: Identifier
    supersedes_version: int = Field(ge=1)
    content: SupportPlanContent


class AdoptAdultTransitionPlan(CaseCommand):
    plan_id: Identifier
    adult_service_handovers: tuple[AdultServiceHandover, ...]
    young_person_participated: bool


class ConcludeSupportTeam(CaseCommand):
    outcome: TeamOutcome
    justification_doc_ref: DocRef | None
    override_reason_code: Code | None = None


class RecordComplaint(CaseCommand):
    complaint_id: Identifier
    complainant_ref: PersonRef
    complainant_capacity: ComplainantCapacity
    subject: ComplaintSubject
    external_ref: Identifier | None = None


class RecordComplaintOutcome(CaseCommand):
    complaint_id: Identifier
    outcome_summary_ref: DocRef
    recommendation_codes: tuple[Code, ...] = ()
    deadline_for_improvement: date | None = None


class ChangeDomicile(CaseCommand):
    to_municipality_ref: MunicipalityRef


# ---- Norway (barnekoordinator), domain.md §2.4 -----------------------------------------------------------
class RequestBarnekoordinator(Command):
    child_ref: PersonRef
    parent_refs: tuple[PersonRef, ...] = Field(min_length=1)
    birth_date: date | None
    municipality_ref: MunicipalityRef
    request_id: Identifier
    channel: RequestChannel
    requested_by_ref: PersonRef
    family_status: FamilyStatus
    episode: int = Field(default=1, ge=1)


class AssessEligibility(CaseCommand):
    criteria: EligibilityCriteria
    diagnosis_required: bool = False
    family_views_doc_ref: DocRef | None
    child_views_doc_ref: DocRef | None


class IssueDecision(CaseCommand):
    decision_id: Identifier
    decision: Decision
    written: bool
    justification_doc_ref: DocRef | None
    appeal_info_included: bool
    delivered_at: datetime


class RecordConsent(CaseCommand):
    consent_id: Identifier
    given_by_refs: tuple[PersonRef, ...] = Field(min_length=1)
    scope_service_org_refs: tuple[OrgRef, ...] = ()
    form_doc_ref: DocRef


class WithdrawConsent(CaseCommand):
    consent_id: Identifier
    withdrawn_by_ref: PersonRef


class AppointBarnekoordinator(CaseCommand):
    coordinator_ref: PersonRef
    unit_ref: OrgRef
    family_wishes_considered: bool


class IssueCoordinationInstruction(CaseCommand):
    target_service_org_ref: OrgRef
    instruction_type: InstructionType
    detail_doc_ref: DocRef


class AdoptIndividualPlan(CaseCommand):
    plan_id: Identifier
    content: IndividualPlanContent


class ReceiveComplaint(CaseCommand):
    complaint_id: Identifier
    decision_id: Identifier
    received_by_ref: OrgRef


class ReconsiderComplaint(CaseCommand):
    complaint_id: Identifier
    outcome: ReconsiderationOutcome
    reasons_doc_ref: DocRef


class ForwardComplaint(CaseCommand):
    complaint_id: Identifier


class RecordStatsforvalterenDecision(CaseCommand):
    complaint_id: Identifier
    outcome: StatsforvalterenOutcome
    doc_ref: DocRef
