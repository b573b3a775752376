"""Events v1: the public, versioned contract of every fact prosperity publishes on NATS JetStream.

One pydantic model per published event type, each an :class:`EventEnvelopeV1` plus the fact's own fields.
These models are what agencies, dashboards and supervisors code against; the domain's stored events are
not. The one mapping from a stored domain event to its contract is :mod:`contracts.mapping`; the subjects
are in :mod:`contracts.subjects`; ``python -m contracts.generate`` writes the JSON Schema and AsyncAPI
documents checked in beside this file.

What a contract never carries (domain.md §2.1, §8.3.1):

* personal identifiers: persons, organisations, documents and municipalities are pseudonymous references
  (``person:…``, ``org:…``, ``doc:…``, ``muni:…``) that resolve to identity only in the vault;
* the child's birth date. A birth date is, with the pseudonymous child reference, close to identifying
  (few children in a municipality share one), and no subscriber needs the day: the envelope has the
  jurisdiction and municipality, the facts that depend on age carry the age itself
  (``adult_transition_plan_adopted.child_age_years_at_adoption``, ``child_reached_majority``). The opening
  facts therefore publish ``birth_year`` only, enough for age-band statistics (domain.md §8.3.8);
* stored internal state, Python topics or class names, or the domain's ``ctx`` record: its content is
  flattened into the envelope (``actor_*``, ``occurred_at``, ``correlation_id``, ``causation_id``).

The actor's pseudonymous ``person:`` reference *is* published (``actor_person_ref``): supervisors need to
know who recorded a fact (domain.md §5), and the reference says nothing about the person without the vault.

Compatibility: within v1, fields are only ever added (optional) and never renamed, retyped or removed. Bounds are
stated where they hold for every fact the event store can hold (versions and notification ids are the store's
``bigint``; a year comes from a stored date): :mod:`contracts.recorded` says why the published types are otherwise
v1's own, wider than what commands accept now.
Anything else is a new ``V2`` model, published on ``cases.v2.…`` beside v1 for a transition period.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.recorded import (
    MAX_STORED_INT,
    CalendarYear,
    Code,
    DocRef,
    Identifier,
    MunicipalityRef,
    OrgRef,
    PersonRef,
    StoredVersion,
)
from domain.personal_data import ErasureBasis, ErasureOutcome, ExportFormat, RestrictionGround
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
    LifeStage,
    MemberType,
    OfferResponse,
    ReassessmentReason,
    ReconsiderationOutcome,
    ReferralKind,
    RequestChannel,
    Role,
    StatsforvalterenOutcome,
    TeamOutcome,
    ViewsMethod,
)

SCHEMA_VERSION = "v1"
Level = Annotated[int, Field(ge=1, le=3)]
"""Iceland's service levels: 1 basic, 2 targeted, 3 specialised (domain.md §0)."""


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


# ---- values inside events ------------------------------------------------------------------------------
class TeamMemberV1(_Contract):
    """A member of an Icelandic support team."""

    person_ref: PersonRef
    org_ref: OrgRef | None
    """The organisation the member represents; none for the family."""
    member_type: MemberType


class ProviderRoleV1(_Contract):
    """The role of one service provider in a support plan; the description itself is a document."""

    org_ref: OrgRef
    role_doc_ref: DocRef


class SupportPlanContentV1(_Contract):
    """The five elements of an Icelandic support plan (seed 000), each present or explained as absent."""

    needs_assessment_ref: DocRef | None
    objectives: list[DocRef]
    provider_roles: list[ProviderRoleV1]
    evaluation_method: str | None
    """A code for how the plan is evaluated (e.g. ``team_review_against_objectives``)."""
    valid_from: date | None
    valid_to: date | None
    review_dates: list[date]
    participants: list[PersonRef]
    parents_participated: bool
    child_participated: bool
    not_applicable: dict[str, Code]
    """Plan element name → the reason code why the element is absent."""


class AdultServiceHandoverV1(_Contract):
    """An adult service that takes over at 18, and the role of its contact person."""

    org_ref: OrgRef
    contact_role: str
    """A role code (e.g. ``case_worker``), never a name."""


class EligibilityCriteriaV1(_Contract):
    """The three conditions of pbrl § 2-5 c as the municipality assessed them."""

    under_18_or_expecting: bool
    serious_illness_injury_or_functional_variation: bool
    long_term_complex_needs_with_other_welfare_services: bool


class IndividualPlanContentV1(_Contract):
    """The nine items of a Norwegian individual plan (forskrift om habilitering og rehabilitering § 19)."""

    goals_resources_and_needs_ref: DocRef | None
    participants: list[PersonRef]
    responsible_for_coordination_ref: DocRef | None
    contributions_ref: DocRef | None
    measures_ref: DocRef | None
    implementation_ref: DocRef | None
    plan_period_from: date | None
    plan_period_to: date | None
    revision_dates: list[date]
    recipient_consent_to_plan: bool
    recipient_consent_to_sharing: bool
    cooperation_with_other_services_ref: DocRef | None


# ---- the envelope ------------------------------------------------------------------------------------------
class EventEnvelopeV1(_Contract):
    """What every published event carries beside its own fields (domain.md §2.1)."""

    event_id: str = Field(pattern=r"^[0-9a-f-]{36}:[0-9]+$")
    """``<case id>:<case version>``: stable across republication, and the id ``Casework`` returns for the fact."""
    notification_id: StoredVersion
    """Position in the event store's notification log (total order of all facts of the application)."""
    case_id: UUID
    """The aggregate the fact belongs to: the case, or for ``directory.v1`` events the institution."""
    case_version: StoredVersion
    """The aggregate's version after this fact: consumers apply version n only on top of n-1."""
    event_type: str
    """The fact's name in snake_case (``support_team_concluded``); also the last token of the subject."""
    schema_version: Literal["v1"]
    occurred_at: datetime
    """When it happened in the world, as the actor recorded it (a meeting entered the next day)."""
    recorded_at: datetime
    """When the event store recorded it."""
    jurisdiction: Literal["IS", "NO"] | None
    """``IS`` (Act 86/2021) or ``NO`` (barnekoordinator); for directory events, the institution's."""
    municipality_ref: MunicipalityRef
    """The municipality responsible for the case after this fact (its domicile municipality; changed by
    ``domicile_changed``), or the institution's municipality for directory events."""
    actor_person_ref: PersonRef
    """Who recorded the fact (pseudonymous; ``person:system`` for the platform's own facts)."""
    actor_role: Role
    actor_org_ref: OrgRef | None
    """The organisation the actor acted for, if any."""
    correlation_id: str
    """The request or process the fact belongs to; empty when the caller gave none."""
    causation_id: str
    """The message that caused the fact; empty when the caller gave none."""
    legal_basis: str | None
    """The law the fact is recorded under (``Act 86/2021``; ``pbrl § 2-5 c; hol § 7-2 a``); none for
    administrative directory facts."""
    rule_id: Identifier | None
    """The rule of domain.md the fact satisfies, where one clearly applies (``IS-INV-6``, ``NO-G0``); for the
    clock's deadline facts, the deadline's rule (domain.md §3 T-number: ``T2``, ``T5``, ``T9-18``)."""
    rules_version: Identifier | None = None
    """The ``LegalSettings.rules_version`` in force when the fact was recorded ("late under the rules in force
    then"); facts stored before it was recorded publish the version there was then (``2026-11``). Added in v1
    as optional: a consumer that does not know it may ignore it."""


# ---- coordinator directory ---------------------------------------------------------------------------------
class InstitutionRegisteredV1(EventEnvelopeV1):
    """An institution that serves children joins the coordinator directory (municipality and jurisdiction
    are in the envelope). ``case_id`` is the institution's id in all directory events."""

    event_type: Literal["institution_registered"]
    org_ref: OrgRef
    institution_type: InstitutionType


class CoordinatorDesignatedV1(EventEnvelopeV1):
    """The institution designates a coordinator of services (seed 003, 004). The institution is the
    aggregate ``case_id`` of its ``institution_registered`` event."""

    event_type: Literal["coordinator_designated"]
    person_ref: PersonRef


class CoordinatorDesignationWithdrawnV1(EventEnvelopeV1):
    """The institution withdraws a coordinator's designation."""

    event_type: Literal["coordinator_designation_withdrawn"]
    person_ref: PersonRef


# ---- both laws ---------------------------------------------------------------------------------------------
class ChildReachedMajorityV1(EventEnvelopeV1):
    """The child turned 18. In Iceland the episode closes; in Norway the barnekoordinator right ends and an
    active case goes on to the assessment of an ordinary coordinator after 18."""

    event_type: Literal["child_reached_majority"]
    on: date
    transition_plan_existed: bool
    """IS: an adult transition plan had been adopted (IS-INV-7). NO: an individual plan had been adopted."""


class CaseClosedV1(EventEnvelopeV1):
    """The case is closed."""

    event_type: Literal["case_closed"]
    closure_reason: Code


# ---- Iceland (Act 86/2021) ---------------------------------------------------------------------------------
class ContactRegisteredV1(EventEnvelopeV1):
    """A child's integration episode opens: a family (or a provider's guidance) brings the child to a
    coordinator of services (domain.md §2.3 row 1)."""

    event_type: Literal["contact_registered"]
    child_ref: PersonRef
    parent_refs: list[PersonRef]
    birth_year: CalendarYear | None
    """The child's year of birth; the birth date itself is never published (see the module docstring)."""
    episode: int = Field(ge=1)
    coordinator_ref: PersonRef
    coordinator_org_ref: OrgRef
    life_stage: LifeStage
    channel: ContactChannel
    initiated_by: ContactInitiator


class IntegrationGuidanceGivenV1(EventEnvelopeV1):
    """A service provider guided the family towards integration of services (row 2)."""

    event_type: Literal["integration_guidance_given"]
    provider_org_ref: OrgRef
    provider_person_ref: PersonRef
    given_to: FamilyMember


class InformationSharingRequestSignedV1(EventEnvelopeV1):
    """The family authorised one provider to send information to one coordinator (row 3)."""

    event_type: Literal["information_sharing_request_signed"]
    request_id: Identifier
    signatory_refs: list[PersonRef]
    source_provider_org_ref: OrgRef
    target_ref: PersonRef
    form_doc_ref: DocRef


class InformationSharedWithCoordinatorV1(EventEnvelopeV1):
    """A provider sent what it knows along the pair the family authorised (row 4, IS-INV-4)."""

    event_type: Literal["information_shared_with_coordinator"]
    request_id: Identifier
    source_provider_org_ref: OrgRef
    recipient_ref: PersonRef
    summary_doc_ref: DocRef


class IntegrationOfferedV1(EventEnvelopeV1):
    """The coordinator contacted the family and offered integration of services (row 5)."""

    event_type: Literal["integration_offered"]
    offered_to: list[FamilyMember]
    contact_refs: list[PersonRef]
    response: OfferResponse


class IntegrationRequestedV1(EventEnvelopeV1):
    """**Consent given** (Iceland): the family's written request for integration of services, the basis
    for all processing that follows (row 6, IS-G0)."""

    event_type: Literal["integration_requested"]
    request_id: Identifier
    requested_by_refs: list[PersonRef]
    requester_roles: list[FamilyMember]
    form_doc_ref: DocRef


class IntegrationRequestWithdrawnV1(EventEnvelopeV1):
    """The family withdrew its request: the basis for processing ends at once (row 7)."""

    event_type: Literal["integration_request_withdrawn"]
    request_id: Identifier
    withdrawn_by_ref: PersonRef
    reason_code: Code | None


class ProcessingStoppedV1(EventEnvelopeV1):
    """Processing stopped after the withdrawal; the listed team members are told (row 7, IS-G0)."""

    event_type: Literal["processing_stopped"]
    notified_member_refs: list[PersonRef]


class CoordinatorChangedV1(EventEnvelopeV1):
    """The coordinator follows the child's institution as the child's life stage changes (row 8)."""

    event_type: Literal["coordinator_changed"]
    from_coordinator_ref: PersonRef
    coordinator_ref: PersonRef
    coordinator_org_ref: OrgRef
    life_stage_basis: LifeStage
    handover_note_doc_ref: DocRef | None


class InitialAssessmentArrangedV1(EventEnvelopeV1):
    """The coordinator secured an initial assessment (*frummat*) (row 9)."""

    event_type: Literal["initial_assessment_arranged"]
    assessor_org_ref: OrgRef
    planned_date: date


class ServiceRecordedV1(EventEnvelopeV1):
    """A service the child receives, at its own level (row 10)."""

    event_type: Literal["service_recorded"]
    service_id: Identifier
    provider_org_ref: OrgRef
    service_level: Level
    service_type_code: Code
    start_date: date


class LevelRaisedV1(EventEnvelopeV1):
    """**Level raised**: the highest level among the child's active services went up (row 10)."""

    event_type: Literal["level_raised"]
    from_level: Level | None
    """The highest active level before; none when this is the child's first service."""
    to_level: Level
    reason: Code
    """What raised it (``service_recorded``)."""
    service_id: Identifier


class ServiceEndedV1(EventEnvelopeV1):
    """A service ended; its level stays on its record (row 10)."""

    event_type: Literal["service_ended"]
    service_id: Identifier
    end_date: date


class Level1PlanRecordedV1(EventEnvelopeV1):
    """An optional written plan at the first level (row 11)."""

    event_type: Literal["level1_plan_recorded"]
    objective_refs: list[DocRef]
    responsible_org_refs: list[OrgRef]
    follow_up_date: date


class CaseManagerNeedNotifiedV1(EventEnvelopeV1):
    """The coordinator told the domicile municipality that a case manager is needed (row 12)."""

    event_type: Literal["case_manager_need_notified"]
    coordinator_ref: PersonRef
    notified_municipality_ref: MunicipalityRef
    rationale_code: Code


class CaseManagerAppointedV1(EventEnvelopeV1):
    """The domicile municipality appointed the case manager who leads the support team (row 13, IS-INV-2)."""

    event_type: Literal["case_manager_appointed"]
    case_manager_ref: PersonRef
    appointing_municipality_ref: MunicipalityRef
    org_unit_ref: OrgRef
    replaces_ref: PersonRef | None
    """The case manager this one replaces (after a move), if any."""


class SupportTeamEstablishedV1(EventEnvelopeV1):
    """The case manager formed the support team; the parents are members (row 14, IS-INV-1)."""

    event_type: Literal["support_team_established"]
    team_id: Identifier
    members: list[TeamMemberV1]


class SupportTeamMemberInvitedV1(EventEnvelopeV1):
    """**Member invited**: a general-service provider joined the team by invitation, because necessary
    (row 15)."""

    event_type: Literal["support_team_member_invited"]
    member: TeamMemberV1
    necessity_justification_ref: DocRef | None


class SupportTeamMemberRemovedV1(EventEnvelopeV1):
    """A member left the support team (row 16)."""

    event_type: Literal["support_team_member_removed"]
    person_ref: PersonRef
    reason_code: Code


class TeamMeetingInvitationSentV1(EventEnvelopeV1):
    """The support team called a meeting; everyone invited is listed (row 17)."""

    event_type: Literal["team_meeting_invitation_sent"]
    meeting_id: Identifier
    invitee_refs: list[PersonRef]
    scheduled_for: date


class SupportTeamMeetingHeldV1(EventEnvelopeV1):
    """A support-team meeting took place (row 17)."""

    event_type: Literal["support_team_meeting_held"]
    meeting_id: Identifier
    attendee_refs: list[PersonRef]
    parents_attended: bool
    child_attended: bool
    minutes_doc_ref: DocRef
    decision_codes: list[Code]


class ChildViewsRecordedV1(EventEnvelopeV1):
    """The child's views were heard and recorded (row 18)."""

    event_type: Literal["child_views_recorded"]
    method: ViewsMethod
    summary_doc_ref: DocRef


class SupportPlanAdoptedV1(EventEnvelopeV1):
    """The team adopted its written support plan, version 1 (row 19)."""

    event_type: Literal["support_plan_adopted"]
    plan_id: Identifier
    version: StoredVersion
    content: SupportPlanContentV1


class SupportPlanEvaluatedV1(EventEnvelopeV1):
    """**Plan evaluated**: the team re-evaluated the support plan on schedule (row 20)."""

    event_type: Literal["support_plan_evaluated"]
    plan_id: Identifier
    version: StoredVersion
    outcome: EvaluationOutcome
    progress_doc_ref: DocRef
    next_review_date: date | None


class SupportPlanRevisedV1(EventEnvelopeV1):
    """A new, immutable plan version superseding the current one (row 21, IS-INV-3)."""

    event_type: Literal["support_plan_revised"]
    plan_id: Identifier
    version: Annotated[int, Field(ge=2, le=MAX_STORED_INT)]
    supersedes_version: StoredVersion
    content: SupportPlanContentV1


class AdultTransitionPlanAdoptedV1(EventEnvelopeV1):
    """Before 18, the team planned the services after adulthood (row 22, IS-INV-7)."""

    event_type: Literal["adult_transition_plan_adopted"]
    plan_id: Identifier
    child_age_years_at_adoption: int = Field(ge=0, le=9999)
    adult_service_handovers: list[AdultServiceHandoverV1]
    young_person_participated: bool


class SupportTeamConcludedV1(EventEnvelopeV1):
    """The support team ended its work, with its outcome (row 23)."""

    event_type: Literal["support_team_concluded"]
    team_id: Identifier | Literal[""]
    """The team; empty only for a team recorded without an id."""
    outcome: TeamOutcome
    justification_doc_ref: DocRef | None
    override_reason_code: Code | None
    """Why an ``age_out`` conclusion went ahead without an adult transition plan (IS-R23), if it did."""


class TeamConclusionNotifiedV1(EventEnvelopeV1):
    """A team concluded without a plan: the parents and the case manager were told why and how to
    complain (row 24, IS-INV-6)."""

    event_type: Literal["team_conclusion_notified"]
    recipient_refs: list[PersonRef]
    justification_doc_ref: DocRef
    complaint_info_included: bool
    complaint_body: str
    """The supervisory body to complain to (``GEV``)."""


class ComplaintLodgedV1(EventEnvelopeV1):
    """**Complaint lodged** (Iceland): a complaint lodged with GEV, recorded on the case; it outlives the
    case (row 25)."""

    event_type: Literal["complaint_lodged"]
    complaint_id: Identifier
    complainant_ref: PersonRef
    complainant_capacity: ComplainantCapacity
    body: str
    """The body the complaint is lodged with (``GEV``)."""
    subject: ComplaintSubject
    external_ref: Identifier | None
    """The complaint's reference in GEV's portal, if known."""


class ComplaintOutcomeRecordedV1(EventEnvelopeV1):
    """GEV's outcome: a report, recommendations and a deadline for improvement (row 26)."""

    event_type: Literal["complaint_outcome_recorded"]
    complaint_id: Identifier
    outcome_summary_ref: DocRef
    recommendation_codes: list[Code]
    deadline_for_improvement: date | None


class DomicileChangedV1(EventEnvelopeV1):
    """The family moved: the new municipality owns the case from this fact on (row 27). Published under
    the new municipality (the envelope's ``municipality_ref`` is ``to_municipality_ref``); the old one
    sees it with the filter ``cases.v1.is.*.domicile_changed``."""

    event_type: Literal["domicile_changed"]
    from_municipality_ref: MunicipalityRef
    to_municipality_ref: MunicipalityRef


# ---- Norway (barnekoordinator) -----------------------------------------------------------------------------
class BarnekoordinatorRequestedV1(EventEnvelopeV1):
    """A Norwegian case opens: the family asked for a barnekoordinator, orally or in writing (seed 002)."""

    event_type: Literal["barnekoordinator_requested"]
    child_ref: PersonRef
    parent_refs: list[PersonRef]
    birth_year: CalendarYear | None
    """The child's year of birth (none while expecting); the birth date itself is never published."""
    episode: int = Field(ge=1)
    request_id: Identifier
    channel: RequestChannel
    requested_by_ref: PersonRef
    family_status: FamilyStatus


class BarnekoordinatorEligibilityAssessedV1(EventEnvelopeV1):
    """The municipality's assessment of the three conditions, with the family's and the child's views."""

    event_type: Literal["barnekoordinator_eligibility_assessed"]
    criteria: EligibilityCriteriaV1
    diagnosis_required: bool
    family_views_doc_ref: DocRef | None
    child_views_doc_ref: DocRef | None


class BarnekoordinatorDecisionIssuedV1(EventEnvelopeV1):
    """The municipality's written decision, with the right to complain to Statsforvalteren and its
    deadline (pbrl § 7-5). The decision's legal basis is the envelope's ``legal_basis``."""

    event_type: Literal["barnekoordinator_decision_issued"]
    decision_id: Identifier
    decision: Decision
    justification_doc_ref: DocRef
    appeal_body: str
    appeal_deadline: datetime
    delivered_at: datetime


class BarnekoordinatorConsentRecordedV1(EventEnvelopeV1):
    """**Consent given** (Norway): the family's consent, needed before a coordinator is assigned (NO-G0)."""

    event_type: Literal["barnekoordinator_consent_recorded"]
    consent_id: Identifier
    given_by_refs: list[PersonRef]
    scope_service_org_refs: list[OrgRef]
    form_doc_ref: DocRef


class ConsentWithdrawnV1(EventEnvelopeV1):
    """The family withdrew its consent; coordination stops."""

    event_type: Literal["consent_withdrawn"]
    consent_id: Identifier
    withdrawn_by_ref: PersonRef


class BarnekoordinatorAppointedV1(EventEnvelopeV1):
    """A barnekoordinator was appointed, after a grant and the family's consent (NO-R4)."""

    event_type: Literal["barnekoordinator_appointed"]
    coordinator_ref: PersonRef
    unit_ref: OrgRef
    family_wishes_considered: bool


class CoordinationInstructionIssuedV1(EventEnvelopeV1):
    """The barnekoordinator instructed a welfare service what to exchange, attend or when (NO-R6)."""

    event_type: Literal["coordination_instruction_issued"]
    target_service_org_ref: OrgRef
    instruction_type: InstructionType
    detail_doc_ref: DocRef


class IndividualPlanAdoptedV1(EventEnvelopeV1):
    """An individual plan with the nine items of forskrift § 19 (NO-R7)."""

    event_type: Literal["individual_plan_adopted"]
    plan_id: Identifier
    replaces_earlier: bool
    content: IndividualPlanContentV1


class ComplaintReceivedV1(EventEnvelopeV1):
    """**Complaint lodged** (Norway): a complaint about a decision reached the municipality; one received
    after the four-week deadline is still recorded, marked late (NO-R9)."""

    event_type: Literal["complaint_received"]
    complaint_id: Identifier
    decision_id: Identifier
    received_by_ref: OrgRef
    within_deadline: bool
    ground: ComplaintGround | None = None
    """Which of the four grounds of seed 002 (refusal; change or termination; the right not fulfilled; no ordinary
    coordinator after 18, refused or not decided in time). None on complaints recorded before grounds were: the
    decision's kind then says it. ``decision_id`` is the decision complained about, or for the right not fulfilled
    and no decision after 18, the grant that stood."""


class ComplaintReconsideredV1(EventEnvelopeV1):
    """The municipality's unit reconsidered its own decision first."""

    event_type: Literal["complaint_reconsidered"]
    complaint_id: Identifier
    outcome: ReconsiderationOutcome
    reasons_doc_ref: DocRef


class ComplaintForwardedToStatsforvalterenV1(EventEnvelopeV1):
    """A complaint the unit did not uphold went on to Statsforvalteren (NO-R11)."""

    event_type: Literal["complaint_forwarded_to_statsforvalteren"]
    complaint_id: Identifier
    forwarded_to: str


class StatsforvalterenDecisionRecordedV1(EventEnvelopeV1):
    """Statsforvalteren's decision closed the complaint."""

    event_type: Literal["statsforvalteren_decision_recorded"]
    complaint_id: Identifier
    outcome: StatsforvalterenOutcome
    doc_ref: DocRef


# ---- the law's clock (domain.md §3; recorded by ``prosperity clock``, actor ``person:system``) ----------------
class _DeadlineFactV1(EventEnvelopeV1):
    deadline_id: Identifier
    """The deadline within the case, stable across its facts: ``T2:<day the need was notified>``,
    ``T4:<plan>:<review date>``, ``T5``, ``T13:<day of the change>``, ``T14:<complaint>``, ``T9-18:<birthday>``."""
    due_on: date
    """The day the duty falls due (a breach is recorded the day after it)."""


class DeadlineWarningRaisedV1(_DeadlineFactV1):
    """A deadline is near (T2, T3, T9-18 some days before; T5 at 17y0m and 17y6m): the case's lead is warned."""

    event_type: Literal["deadline_warning_raised"]
    warning: Code
    """Which warning: ``3d`` (days before), ``17y0m``, ``17y6m``."""


class DeadlineBreachedV1(_DeadlineFactV1):
    """The due date passed with the duty unmet: a case manager not appointed (T2), no plan drafted (T3), a plan
    review overdue (T4), no adult transition plan at 18 (T5), no decision on an ordinary coordinator (T9-18)."""

    event_type: Literal["deadline_breached"]


class DeadlineReachedV1(_DeadlineFactV1):
    """A date the law sets has come and a duty falls due on it: the coordinator's handover at a life-stage
    change (T13; ``stage`` is the new life stage) or GEV's deadline for improvement (T14)."""

    event_type: Literal["deadline_reached"]
    stage: Code | Literal[""]
    """T13: the life stage the child moves into; empty otherwise."""


class DeadlineEscalatedV1(_DeadlineFactV1):
    """A breach still unmet some days later (``LegalSettings.escalation_after_breach_days``) goes to the
    municipality's lead (domain.md §3 T2, §4 'plan review overdue → lead after breach')."""

    event_type: Literal["deadline_escalated"]
    escalated_to_ref: MunicipalityRef
# ---- added in issue 12: levels lowered, Norway's coordinator duties after the decision -----------------------
class LevelLoweredV1(EventEnvelopeV1):
    """**Level lowered**: the highest level among the child's active services went down (row 10). When the last
    active service ends the level stands, so a level-3 service ended and a level-2 one started is 3 → 2."""

    event_type: Literal["level_lowered"]
    from_level: Level
    to_level: Level
    reason: Code
    """What lowered it (``service_ended``, ``service_recorded``)."""
    service_id: Identifier


class CoordinatorGuidanceGivenV1(EventEnvelopeV1):
    """The barnekoordinator gave the family information and holistic guidance (seed 002); the content is a
    document."""

    event_type: Literal["coordinator_guidance_given"]
    topics: list[GuidanceTopic]
    given_to_refs: list[PersonRef]
    summary_doc_ref: DocRef


class ReferralCommunicatedV1(EventEnvelopeV1):
    """A contact or referral to a service or a patient and user organisation was communicated (seed 002)."""

    event_type: Literal["referral_communicated"]
    kind: ReferralKind
    topic: GuidanceTopic
    target_org_ref: OrgRef
    summary_doc_ref: DocRef


class ServiceFollowedUpV1(EventEnvelopeV1):
    """The barnekoordinator followed a service up on the family's behalf: has it assessed enough, how is a case
    progressing, what does it need (seed 002); never which services it gives or how (NO-R16)."""

    event_type: Literal["service_followed_up"]
    target_service_org_ref: OrgRef
    purpose: FollowUpPurpose
    detail_doc_ref: DocRef


class ReassessmentInitiatedV1(EventEnvelopeV1):
    """The barnekoordinator drove a reassessment of the child's needs while the coordination is active."""

    event_type: Literal["reassessment_initiated"]
    target_service_org_ref: OrgRef
    reason: ReassessmentReason
    detail_doc_ref: DocRef


class FamilyViewsRecordedV1(EventEnvelopeV1):
    """The child's and the family's needs, wishes and views, heard while the coordinator works (seed 002)."""

    event_type: Literal["family_views_recorded"]
    views_of_refs: list[PersonRef]
    method: ViewsMethod
    summary_doc_ref: DocRef


class SpecialistCoordinatorLinkedV1(EventEnvelopeV1):
    """The specialist health service's coordinator works beside the barnekoordinator (both at once, seed 002)."""

    event_type: Literal["specialist_coordinator_linked"]
    specialist_coordinator_ref: PersonRef
    health_trust_org_ref: OrgRef


# ---- the data subject's rights (both laws; docs/privacy.md) -------------------------------------------------
class ErasureRequestReceivedV1(EventEnvelopeV1):
    """A data subject of the case (``subject_ref``: the child or a parent) asked for erasure (GDPR Art. 17)."""

    event_type: Literal["erasure_request_received"]
    request_id: Identifier
    subject_ref: PersonRef


class ErasureRequestDecidedV1(EventEnvelopeV1):
    """The controller decided the request: ``refused`` under the archives duty (Art. 17(3)(b)), or ``granted``, and
    the subject's vault key is shredded: their personal data is unreadable everywhere, this history replays."""

    event_type: Literal["erasure_request_decided"]
    request_id: Identifier
    subject_ref: PersonRef
    outcome: ErasureOutcome
    basis: ErasureBasis
    """``archive_duty``, ``legal_obligation`` (refused); ``outside_archives_duty``, ``request_led_nowhere``."""


class ProcessingRestrictedV1(EventEnvelopeV1):
    """Processing of the subject's data is restricted (GDPR Art. 18): the case takes no new facts but the rights'
    own and complaints until the restriction is lifted."""

    event_type: Literal["processing_restricted"]
    subject_ref: PersonRef
    ground: RestrictionGround


class ProcessingRestrictionLiftedV1(EventEnvelopeV1):
    event_type: Literal["processing_restriction_lifted"]
    subject_ref: PersonRef


class DataRectifiedV1(EventEnvelopeV1):
    """Rectification (GDPR Art. 16) as a compensating fact: ``superseded_ref`` was wrong, ``replacement_ref`` is the
    corrected document. Consumers show the replacement wherever they showed the superseded one."""

    event_type: Literal["data_rectified"]
    subject_ref: PersonRef
    superseded_ref: DocRef
    replacement_ref: DocRef


class IdentityProtectedV1(EventEnvelopeV1):
    """The subject's identity is protected: read models and notices drop every reference to them (and, for the
    child, the birth year); only the case's caseworkers and the controller's lead see it (ACCESS-PRIV-8)."""

    event_type: Literal["identity_protected"]
    subject_ref: PersonRef
    relation: Literal["child", "parent"]
    """What the subject is to the case: a read model forgets the child's row fields or a parent's references."""


class IdentityProtectionLiftedV1(EventEnvelopeV1):
    """The protection ends; read models learn the subject's references again from facts that follow."""

    event_type: Literal["identity_protection_lifted"]
    subject_ref: PersonRef
    relation: Literal["child", "parent"]


class CaseArchivedV1(EventEnvelopeV1):
    """A closed case passed its retention period in the active system: every read model forgets its personal data
    (references, birth year, notices); the event store keeps the record (the archives duty)."""

    event_type: Literal["case_archived"]
    retention_days: int = Field(ge=0, le=MAX_STORED_INT)
    """The retention period that had passed; the rules version in force is the envelope's, as on every fact."""


class SubjectAccessExportedV1(EventEnvelopeV1):
    """A subject access export (GDPR Art. 15) was produced for ``subject_ref`` and handed to ``recipient_ref``;
    ``content_sha256`` is the digest of the exact export, so what was handed over can be shown later."""

    event_type: Literal["subject_access_exported"]
    request_id: Identifier
    subject_ref: PersonRef
    recipient_ref: PersonRef
    export_format: ExportFormat
    content_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


# ---- the registry ------------------------------------------------------------------------------------------
DIRECTORY_MODELS: tuple[type[EventEnvelopeV1], ...] = (
    InstitutionRegisteredV1, CoordinatorDesignatedV1, CoordinatorDesignationWithdrawnV1,
)
CASE_MODELS: tuple[type[EventEnvelopeV1], ...] = (
    ChildReachedMajorityV1, CaseClosedV1,
    ContactRegisteredV1, IntegrationGuidanceGivenV1, InformationSharingRequestSignedV1,
    InformationSharedWithCoordinatorV1, IntegrationOfferedV1, IntegrationRequestedV1, IntegrationRequestWithdrawnV1,
    ProcessingStoppedV1, CoordinatorChangedV1, InitialAssessmentArrangedV1, ServiceRecordedV1, LevelRaisedV1,
    ServiceEndedV1, Level1PlanRecordedV1, CaseManagerNeedNotifiedV1, CaseManagerAppointedV1,
    SupportTeamEstablishedV1, SupportTeamMemberInvitedV1, SupportTeamMemberRemovedV1, TeamMeetingInvitationSentV1,
    SupportTeamMeetingHeldV1, ChildViewsRecordedV1, SupportPlanAdoptedV1, SupportPlanEvaluatedV1,
    SupportPlanRevisedV1, AdultTransitionPlanAdoptedV1, SupportTeamConcludedV1, TeamConclusionNotifiedV1,
    ComplaintLodgedV1, ComplaintOutcomeRecordedV1, DomicileChangedV1,
    BarnekoordinatorRequestedV1, BarnekoordinatorEligibilityAssessedV1, BarnekoordinatorDecisionIssuedV1,
    BarnekoordinatorConsentRecordedV1, ConsentWithdrawnV1, BarnekoordinatorAppointedV1,
    CoordinationInstructionIssuedV1, IndividualPlanAdoptedV1, ComplaintReceivedV1, ComplaintReconsideredV1,
    ComplaintForwardedToStatsforvalterenV1, StatsforvalterenDecisionRecordedV1,
    DeadlineWarningRaisedV1, DeadlineBreachedV1, DeadlineReachedV1, DeadlineEscalatedV1,
    LevelLoweredV1, CoordinatorGuidanceGivenV1, ReferralCommunicatedV1, ServiceFollowedUpV1, ReassessmentInitiatedV1,
    FamilyViewsRecordedV1, SpecialistCoordinatorLinkedV1,
    ErasureRequestReceivedV1, ErasureRequestDecidedV1, ProcessingRestrictedV1, ProcessingRestrictionLiftedV1,
    DataRectifiedV1, IdentityProtectedV1, IdentityProtectionLiftedV1, CaseArchivedV1, SubjectAccessExportedV1,
)


def event_type_of(model: type[EventEnvelopeV1]) -> str:
    """The ``event_type`` a contract model publishes (the one value its ``Literal`` allows)."""
    args = get_args(model.model_fields["event_type"].annotation)
    if len(args) != 1 or not isinstance(args[0], str):
        raise TypeError(f"{model.__name__} is not a published event contract")
    return args[0]


EVENT_MODELS: dict[str, type[EventEnvelopeV1]] = {event_type_of(m): m for m in (*CASE_MODELS, *DIRECTORY_MODELS)}
"""Every published event type → its contract model (what a consumer parses a payload with)."""
DIRECTORY_EVENT_TYPES: frozenset[str] = frozenset(event_type_of(m) for m in DIRECTORY_MODELS)
"""Event types published under ``directory.v1`` rather than ``cases.v1``."""
ENVELOPE_FIELDS: frozenset[str] = frozenset(EventEnvelopeV1.model_fields)


def parse_event(payload: bytes | str, event_type: str | None = None) -> EventEnvelopeV1:
    """Parse a published payload into its contract model, by its ``event_type`` (read from the payload unless the
    caller already knows it; the model checks it again, being a literal of each model)."""
    if event_type is None:
        event_type = _EventTypeOnly.model_validate_json(payload).event_type
    model = EVENT_MODELS.get(event_type)
    if model is None:
        raise ValueError(f"Unknown event type {event_type!r} (schema v1 knows {len(EVENT_MODELS)} types).")
    return model.model_validate_json(payload)


class _EventTypeOnly(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event_type: str
