"""Commands v1: what a caller may ask prosperity to do, one model per command of domain.md §2.

These are the public request schemas (the HTTP API publishes them in its OpenAPI document). They check
shape and vocabulary (422: field and rule); the law's rules are checked by the domain (409: rule id).
Field names match the domain command's keyword arguments, so ``arguments()`` hands them over as they are.

Every field is bounded: strings in the PRIV-1 grammar (:mod:`contracts.refs`), dates and times strict and within
DATE-1 (:mod:`contracts.bounds`), numbers and booleans strict (``"3"`` is not 3, ``1`` is not ``true``), lists of
at most :data:`~contracts.command_values.MAX_ITEMS` items. The bounds that depend on the case (a planned date
after the fact that plans it, a date after the child's birth) are the domain's (:mod:`domain.bounds`).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StrictBool, ValidationInfo

from contracts.bounds import CalendarDate, Instant
from contracts.command_values import (
    AdultServiceHandoverIn,
    Codes,
    DocRefs,
    EligibilityCriteriaIn,
    IndividualPlanContentIn,
    OrgRefs,
    PersonRefs,
    SupportPlanContentIn,
    TeamMemberIn,
)
from contracts.refs import Code, DocRef, Identifier, MunicipalityRef, OrgRef, PersonRef
from domain.life_stage import SchoolStatus
from domain.personal_data import ErasureBasis, ErasureOutcome, RestrictionGround
from domain.values import (
    ComplainantCapacity,
    ComplaintGround,
    ComplaintSubject,
    ContactChannel,
    ContactInitiator,
    Decision,
    EvaluationOutcome,
    FamilyMember,
    FamilyStatus,
    FollowUpPurpose,
    GuidanceTopic,
    InstitutionType,
    InstructionType,
    Jurisdiction,
    LifeStage,
    OfferResponse,
    ReassessmentReason,
    ReconsiderationOutcome,
    ReferralKind,
    RequestChannel,
    StatsforvalterenOutcome,
    TeamOutcome,
    ViewsMethod,
)

SCHEMA_VERSION = "v1"
MAX_EPISODE = 99
"""A child's integration episodes under one law: far more than any childhood has."""
MAX_PLAN_VERSION = 10_000
Episode = Annotated[int, Strict(), Field(ge=1, le=MAX_EPISODE)]
PlanVersion = Annotated[int, Strict(), Field(ge=1, le=MAX_PLAN_VERSION)]
FamilyMembers = Annotated[tuple[FamilyMember, ...], Field(min_length=1, max_length=3)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def arguments(self) -> dict[str, Any]:
        """The command's fields as the domain method's keyword arguments (typed values, not dumps): records
        inside the command become the domain's own (``to_domain``)."""
        return {name: _domain(getattr(self, name)) for name in type(self).model_fields if name != "case_id"}


def _domain(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_domain(item) for item in value)
    to_domain = getattr(value, "to_domain", None)
    return to_domain() if callable(to_domain) else value


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


class RecordDueDeadlines(CaseCommand):
    """System command, run by the clock (``prosperity clock``): record the deadline facts due on the case today
    (warned, breached, reached, escalated; domain.md §3). The case decides what is due; the body names only it."""


# ---- Iceland (Act 86/2021), rows of domain.md §2.3 -------------------------------------------------------
def _not_the_child(parents: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
    """The child listed among its own parents would read the case twice over (as parent and as young person)."""
    if info.data.get("child_ref") in parents:
        raise ValueError("LIST-2: the child is not one of its own parents")
    return parents


Parents = Annotated[PersonRefs, Field(min_length=1), AfterValidator(_not_the_child)]
"""A case's parents: at least one, each once, the child not among them (``child_ref`` comes first)."""


class RegisterContact(Command):
    child_ref: PersonRef
    parent_refs: Parents
    birth_date: CalendarDate | None
    municipality_ref: MunicipalityRef
    coordinator_ref: PersonRef
    coordinator_org_ref: OrgRef
    life_stage: LifeStage
    conflict_of_interest_declared_none: StrictBool
    channel: ContactChannel = ContactChannel.IN_PERSON
    initiated_by: ContactInitiator = ContactInitiator.PARENT
    episode: Episode = 1
    school_status: SchoolStatus | None = None
    """What the child attends, where the family says (``domain.life_stage``): narrows the stage the age allows."""


class RecordIntegrationGuidance(CaseCommand):
    provider_org_ref: OrgRef
    provider_person_ref: PersonRef
    given_to: FamilyMember


class SignInformationSharingRequest(CaseCommand):
    request_id: Identifier
    signatory_refs: Annotated[PersonRefs, Field(min_length=1)]
    source_provider_org_refs: OrgRefs
    target_refs: PersonRefs
    form_doc_ref: DocRef


class ShareInformationWithCoordinator(CaseCommand):
    request_id: Identifier
    source_provider_org_ref: OrgRef
    recipient_ref: PersonRef
    summary_doc_ref: DocRef


class RecordContactWithFamily(CaseCommand):
    offered_to: FamilyMembers
    contact_refs: Annotated[PersonRefs, Field(min_length=1)]
    response: OfferResponse


class RecordIntegrationRequest(CaseCommand):
    request_id: Identifier
    requested_by_refs: Annotated[PersonRefs, Field(min_length=1)]
    requester_roles: FamilyMembers
    written: StrictBool
    form_doc_ref: DocRef


class WithdrawIntegrationRequest(CaseCommand):
    request_id: Identifier
    withdrawn_by_ref: PersonRef
    reason_code: Code | None = None


class ChangeCoordinator(CaseCommand):
    coordinator_ref: PersonRef
    coordinator_org_ref: OrgRef
    life_stage_basis: LifeStage
    conflict_of_interest_declared_none: StrictBool
    handover_note_doc_ref: DocRef | None = None
    school_status: SchoolStatus | None = None


class ArrangeInitialAssessment(CaseCommand):
    assessor_org_ref: OrgRef
    planned_date: CalendarDate


class RecordService(CaseCommand):
    service_id: Identifier
    provider_org_ref: OrgRef
    service_level: Annotated[int, Strict()] = Field(
        ge=1, le=3, description="Level of this service: 1 basic, 2 targeted, 3 specialised.")
    service_type_code: Code
    start_date: CalendarDate


class EndService(CaseCommand):
    service_id: Identifier
    end_date: CalendarDate


class RecordLevel1Plan(CaseCommand):
    objective_refs: Annotated[DocRefs, Field(min_length=1)]
    responsible_org_refs: Annotated[OrgRefs, Field(min_length=1)]
    follow_up_date: CalendarDate


class NotifyNeedForCaseManager(CaseCommand):
    municipality_ref: MunicipalityRef
    rationale_code: Code = "multi_level_l2_l3_long_term"


class AppointCaseManager(CaseCommand):
    case_manager_ref: PersonRef
    municipality_ref: MunicipalityRef
    org_unit_ref: OrgRef
    needs_l2_l3_multilevel: StrictBool
    long_term: StrictBool
    works_in_social_services_or_area_of_needs: StrictBool


class EstablishSupportTeam(CaseCommand):
    team_id: Identifier
    members: Annotated[tuple[TeamMemberIn, ...], Field(min_length=1, max_length=50)]


class InviteGeneralServiceProvider(CaseCommand):
    person_ref: PersonRef
    org_ref: OrgRef
    necessity_justification_ref: DocRef | None


class RemoveTeamMember(CaseCommand):
    person_ref: PersonRef
    reason_code: Code


class InviteToTeamMeeting(CaseCommand):
    meeting_id: Identifier
    invitee_refs: Annotated[PersonRefs, Field(min_length=1)]
    scheduled_for: CalendarDate


class RecordTeamMeeting(CaseCommand):
    meeting_id: Identifier
    attendee_refs: PersonRefs
    parents_attended: StrictBool
    child_attended: StrictBool
    minutes_doc_ref: DocRef
    decision_codes: Codes = ()


class RecordChildViews(CaseCommand):
    method: ViewsMethod
    summary_doc_ref: DocRef


class AdoptSupportPlan(CaseCommand):
    plan_id: Identifier
    content: SupportPlanContentIn


class EvaluateSupportPlan(CaseCommand):
    plan_id: Identifier
    version: PlanVersion
    outcome: EvaluationOutcome
    progress_doc_ref: DocRef
    next_review_date: CalendarDate | None = None


class ReviseSupportPlan(CaseCommand):
    plan_id: Identifier
    supersedes_version: PlanVersion
    content: SupportPlanContentIn


class AdoptAdultTransitionPlan(CaseCommand):
    plan_id: Identifier
    adult_service_handovers: Annotated[tuple[AdultServiceHandoverIn, ...], Field(max_length=50)]
    young_person_participated: StrictBool


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
    recommendation_codes: Codes = ()
    deadline_for_improvement: CalendarDate | None = None


class ChangeDomicile(CaseCommand):
    to_municipality_ref: MunicipalityRef


# ---- Norway (barnekoordinator), domain.md §2.4 -----------------------------------------------------------
class RequestBarnekoordinator(Command):
    child_ref: PersonRef
    parent_refs: Parents
    birth_date: CalendarDate | None
    municipality_ref: MunicipalityRef
    request_id: Identifier
    channel: RequestChannel
    requested_by_ref: PersonRef
    family_status: FamilyStatus
    episode: Episode = 1


class AssessEligibility(CaseCommand):
    criteria: EligibilityCriteriaIn
    diagnosis_required: StrictBool = False
    family_views_doc_ref: DocRef | None
    child_views_doc_ref: DocRef | None


class IssueDecision(CaseCommand):
    decision_id: Identifier
    decision: Decision
    written: StrictBool
    justification_doc_ref: DocRef | None
    appeal_info_included: StrictBool
    delivered_at: Instant


class RecordConsent(CaseCommand):
    consent_id: Identifier
    given_by_refs: Annotated[PersonRefs, Field(min_length=1)]
    scope_service_org_refs: OrgRefs = ()
    form_doc_ref: DocRef


class WithdrawConsent(CaseCommand):
    consent_id: Identifier
    withdrawn_by_ref: PersonRef


class AppointBarnekoordinator(CaseCommand):
    coordinator_ref: PersonRef
    unit_ref: OrgRef
    family_wishes_considered: StrictBool


class IssueCoordinationInstruction(CaseCommand):
    target_service_org_ref: OrgRef
    instruction_type: InstructionType
    detail_doc_ref: DocRef


class AdoptIndividualPlan(CaseCommand):
    plan_id: Identifier
    content: IndividualPlanContentIn


class ReceiveComplaint(CaseCommand):
    """A complaint on one of the four grounds of seed 002. Without ``decision_id`` it is about the latest
    decision; without ``ground``, the decision's own (a grant needs ``right_not_fulfilled`` named)."""

    complaint_id: Identifier
    received_by_ref: OrgRef
    decision_id: Identifier | None = None
    ground: ComplaintGround | None = None


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


# ---- Norway: the coordinator's duties after the decision (seed 002; added in issue 12) ---------------------
GuidanceTopics = Annotated[tuple[GuidanceTopic, ...], Field(min_length=1, max_length=len(GuidanceTopic))]


class RecordGuidanceGiven(CaseCommand):
    """The barnekoordinator gave the family information and holistic guidance (the content is a document)."""

    topics: GuidanceTopics
    given_to_refs: Annotated[PersonRefs, Field(min_length=1)]
    summary_doc_ref: DocRef


class CommunicateReferral(CaseCommand):
    """A contact or referral to a service or a patient and user organisation was communicated."""

    kind: ReferralKind
    topic: GuidanceTopic
    target_org_ref: OrgRef
    summary_doc_ref: DocRef


class FollowUpWithService(CaseCommand):
    """The barnekoordinator asks a service on the family's behalf (never which services it gives, or how)."""

    target_service_org_ref: OrgRef
    purpose: FollowUpPurpose
    detail_doc_ref: DocRef


class InitiateReassessment(CaseCommand):
    """The barnekoordinator drives a reassessment of the child's needs while the coordination is active."""

    target_service_org_ref: OrgRef
    reason: ReassessmentReason
    detail_doc_ref: DocRef


class RecordFamilyViews(CaseCommand):
    """The child's and the family's views, heard while the coordinator works (the views are a document)."""

    views_of_refs: Annotated[PersonRefs, Field(min_length=1)]
    method: ViewsMethod
    summary_doc_ref: DocRef


class LinkSpecialistCoordinator(CaseCommand):
    """The specialist health service's coordinator, who works beside the barnekoordinator."""

    specialist_coordinator_ref: PersonRef
    health_trust_org_ref: OrgRef
# ---- the data subject's rights (both laws; domain.personal_data, docs/privacy.md) --------------------------
class ReceiveErasureRequest(CaseCommand):
    """GDPR Art. 17: a data subject of the case (its child or a parent) asks for erasure; recorded, then decided."""

    request_id: Identifier
    subject_ref: PersonRef


class DecideErasureRequest(CaseCommand):
    """The controller decides: refused under the archives duty, or granted (the subject's vault key is shredded)."""

    request_id: Identifier
    outcome: ErasureOutcome
    basis: ErasureBasis


class RestrictProcessing(CaseCommand):
    """GDPR Art. 18: while restricted the case takes only the rights' facts and complaints."""

    subject_ref: PersonRef
    ground: RestrictionGround


class LiftProcessingRestriction(CaseCommand):
    subject_ref: PersonRef


class RectifyData(CaseCommand):
    """GDPR Art. 16: a compensating fact names the wrong document and the corrected one; history is not edited."""

    subject_ref: PersonRef
    superseded_ref: DocRef
    replacement_ref: DocRef


class ProtectIdentity(CaseCommand):
    """A protected identity (Primero's hidden name): read models and notices keep none of the subject's data."""

    subject_ref: PersonRef


class LiftIdentityProtection(CaseCommand):
    subject_ref: PersonRef


class ArchiveCase(CaseCommand):
    """After the retention period of a closed case: every read model forgets its personal data."""


class SubjectAccessRequest(CaseCommand):
    """GDPR Art. 15: produce (and record) the export of everything held about a subject of the case."""

    request_id: Identifier
    subject_ref: PersonRef
    recipient_ref: PersonRef
    """Who receives the export: the subject, or the parent who asks for the child."""
