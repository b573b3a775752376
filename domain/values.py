"""Value types of the domain: enumerations in the law's words and small immutable records.

Events carry only these values, plain strings, numbers, dates and UUIDs. Persons, organisations and
documents appear as pseudonymous references (``person:…``, ``org:…``, ``doc:…``): names, national ID
numbers and free text about a person never enter an event (domain.md §2.1, §8.3.1); they live in a
vault outside the event store, so they can be crypto-shredded where erasure is lawful.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum, StrEnum

from domain import privacy
from domain.errors import InvalidValue


class Jurisdiction(StrEnum):
    ICELAND = "IS"
    NORWAY = "NO"


class Role(StrEnum):
    """Who acts (domain.md §1). ``system`` is the clock and the platform itself (majority, notices)."""

    COORDINATOR = "coordinator"
    CASE_MANAGER = "case_manager"
    SERVICE_PROVIDER_REP = "service_provider_rep"
    GENERAL_SERVICE_REP = "general_service_rep"
    PARENT = "parent"
    YOUNG_PERSON = "young_person"
    MUNICIPALITY_LEAD = "municipality_lead"
    MUNICIPAL_STAFF = "municipal_staff"
    SUPERVISOR = "supervisor"
    NATIONAL_AGENCY = "national_agency"
    SYSTEM = "system"


class ServiceLevel(IntEnum):
    """Iceland's three levels of service (domain.md §0). The service is tiered, not the case."""

    BASIC = 1
    TARGETED = 2
    SPECIALISED = 3


class IntegrationTrack(StrEnum):
    COORDINATOR_LED = "coordinator_led"
    CASE_MANAGER_LED = "case_manager_led"


class LifeStage(StrEnum):
    """The child's life stage decides which institution's coordinator serves the child (seed 003)."""

    PREGNANCY = "pregnancy"
    INFANT = "infant"
    PRESCHOOL = "preschool"
    PRIMARY = "primary"
    SECONDARY = "secondary"
    SOCIAL_SERVICES = "social_services"


class InstitutionType(StrEnum):
    HEALTH_CENTRE = "health_centre"
    PRESCHOOL = "preschool"
    PRIMARY_SCHOOL = "primary_school"
    SECONDARY_SCHOOL = "secondary_school"
    SOCIAL_SERVICES = "social_services"


class ContactChannel(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    DIGITAL = "digital"


class ContactInitiator(StrEnum):
    PARENT = "parent"
    CHILD = "child"
    PROVIDER_GUIDANCE = "provider_guidance"


class FamilyMember(StrEnum):
    PARENT = "parent"
    CHILD = "child"


class OfferResponse(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    UNDECIDED = "undecided"


class MemberType(StrEnum):
    SERVICE_PROVIDER_REP = "service_provider_rep"
    GENERAL_SERVICE_REP = "general_service_rep"
    PARENT = "parent"
    CHILD = "child"
    COORDINATOR = "coordinator"
    CASE_MANAGER = "case_manager"


class EvaluationOutcome(StrEnum):
    CONTINUE = "continue"
    REVISE = "revise"
    RENEW = "renew"
    CONCLUDE = "conclude"


class TeamOutcome(StrEnum):
    GOALS_MET = "goals_met"
    REFERRED_BACK_TO_COORDINATOR = "referred_back_to_coordinator"
    CONCLUDED_WITHOUT_PLAN = "concluded_without_plan"
    AGE_OUT = "age_out"
    WITHDRAWN = "withdrawn"
    MOVED = "moved"


class ComplainantCapacity(StrEnum):
    """GEV takes complaints only from the service user or someone acting for them (gev.is)."""

    USER = "user"
    REPRESENTATIVE_WITH_MANDATE = "representative_with_mandate"
    LEGAL_REPRESENTATIVE = "legal_representative"
    OTHER = "other"


class ComplaintSubject(StrEnum):
    TEAM_CONCLUDED_WITHOUT_PLAN = "team_concluded_without_plan"
    SERVICE_QUALITY = "service_quality"
    OTHER = "other"


class ViewsMethod(StrEnum):
    CONVERSATION = "conversation"
    DRAWING = "drawing"
    ADVOCATE = "advocate"
    WRITTEN = "written"


class RequestChannel(StrEnum):
    ORAL = "oral"
    WRITTEN = "written"


class FamilyStatus(StrEnum):
    CHILD_UNDER_18 = "child_under_18"
    EXPECTING_PREGNANCY = "expecting_pregnancy"
    EXPECTING_ADOPTION = "expecting_adoption"


class Decision(StrEnum):
    """The municipality's written barnekoordinator decisions (pbrl § 2-5 c, hol § 7-2 a)."""

    GRANTED = "granted"
    REFUSED = "refused"
    CHANGED = "changed"
    TERMINATED = "terminated"
    ORDINARY_COORDINATOR_AFTER_18_GRANTED = "ordinary_coordinator_after_18_granted"
    ORDINARY_COORDINATOR_AFTER_18_REFUSED = "ordinary_coordinator_after_18_refused"


class InstructionType(StrEnum):
    """What a barnekoordinator may (and may not) instruct a welfare service to do (seed 002)."""

    INFORMATION_EXCHANGE = "information_exchange"
    MEETING_ATTENDANCE = "meeting_attendance"
    TIMING = "timing"
    SERVICE_CONTENT = "service_content"
    SERVICE_METHOD = "service_method"


class ReconsiderationOutcome(StrEnum):
    UPHELD = "upheld"
    NOT_UPHELD = "not_upheld"


class ComplaintStage(StrEnum):
    LODGED = "lodged"
    UNDER_RECONSIDERATION = "under_reconsideration"
    DECISION_CHANGED = "decision_changed"
    FORWARDED = "forwarded"
    DECIDED = "decided"


class StatsforvalterenOutcome(StrEnum):
    MUNICIPALITY_UPHELD = "municipality_upheld"
    DECISION_REVERSED = "decision_reversed"
    RETURNED_FOR_NEW_PROCESSING = "returned_for_new_processing"


class PlanElement(StrEnum):
    """The five elements of an Icelandic support plan (seed 000): the keys of ``SupportPlanContent.not_applicable``
    and the names IS-R19's refusals use (``duration`` is the pair ``valid_from``/``valid_to``)."""

    NEEDS_ASSESSMENT = "needs_assessment"
    OBJECTIVES = "objectives"
    PROVIDER_ROLES = "provider_roles"
    EVALUATION_METHOD = "evaluation_method"
    DURATION = "duration"


class ComplaintGround(StrEnum):
    """What a Norwegian complaint is about: the four grounds of seed 002 (pbrl ch. 7)."""

    REFUSAL = "refusal"
    """A request for a barnekoordinator was refused."""
    CHANGE_OR_TERMINATION = "change_or_termination"
    """The coordinator was changed, or the right terminated."""
    RIGHT_NOT_FULFILLED = "right_not_fulfilled"
    """The right was granted but is not fulfilled (no coordinator, or the duties not met)."""
    NO_ORDINARY_COORDINATOR_AFTER_18 = "no_ordinary_coordinator_after_18"
    """No ordinary coordinator after 18: refused, or not decided in time."""


class GuidanceTopic(StrEnum):
    """What the barnekoordinator informs and guides the family about (seed 002, the coordinator's duties)."""

    HEALTH_AND_CARE_SERVICES = "health_and_care_services"
    OTHER_WELFARE_SERVICES = "other_welfare_services"
    PATIENT_AND_USER_ORGANISATIONS = "patient_and_user_organisations"


class ReferralKind(StrEnum):
    """Seed 002: 'contact or referral to such services or organisations is communicated'."""

    REFERRAL = "referral"
    CONTACT = "contact"


class FollowUpPurpose(StrEnum):
    """What the coordinator asks a service on the family's behalf (seed 002). The last two are what the
    coordinator may never ask for: which services a service gives, or how (NO-R16)."""

    ASSESSMENT_SUFFICIENCY = "assessment_sufficiency"
    """Whether the service has assessed sufficiently which services may be appropriate to offer."""
    CASE_PROCESSING = "case_processing"
    """How an ongoing case (an application for a service) is progressing."""
    DOCUMENTATION_NEEDED = "documentation_needed"
    """Whether more documentation or information is needed for the assessment."""
    SERVICE_CONTENT = "service_content"
    SERVICE_METHOD = "service_method"


class ReassessmentReason(StrEnum):
    """Why the coordinator drives a reassessment of the child's needs while the coordination is active."""

    NEEDS_CHANGED = "needs_changed"
    TRANSITION = "transition"
    FAMILY_REQUEST = "family_request"


def check_ref(field_name: str, value: str, kind: str) -> str:
    """Accept only a pseudonymous reference of the given kind (``person:p-17``), never a personal identifier.

    Rule PRIV-1 (domain.md §8.3.1): no direct identifiers in event payloads. The grammar, and the national-ID
    and name shapes it refuses, are :mod:`domain.privacy`'s.
    """
    return privacy.check_ref(field_name, value, kind)


def check_refs(field_name: str, values: tuple[str, ...], kind: str) -> tuple[str, ...]:
    for index, value in enumerate(values):
        check_ref(f"{field_name}[{index}]", value, kind)
    return tuple(values)


@dataclass(frozen=True)
class Actor:
    """Who issues a command, in which role, for which organisation (domain.md §2.1 envelope).

    ``municipality_ref`` is the municipality a lead or municipal staff member acts for, and ``jurisdiction``
    the country a supervisor or national agency acts in; both come from the verified token, never from a
    request body, and the access model (:mod:`domain.access`) compares them with the case's own."""

    person_ref: str
    role: Role
    org_ref: str | None = None
    municipality_ref: str | None = None
    jurisdiction: Jurisdiction | None = None

    def __post_init__(self) -> None:
        check_ref("actor.person_ref", self.person_ref, "person")
        if self.org_ref is not None:
            check_ref("actor.org_ref", self.org_ref, "org")
        if self.municipality_ref is not None:
            check_ref("actor.municipality_ref", self.municipality_ref, "muni")
        if self.jurisdiction is not None and not isinstance(self.jurisdiction, Jurisdiction):
            object.__setattr__(self, "jurisdiction", Jurisdiction(self.jurisdiction))


SYSTEM_ACTOR = Actor(person_ref="person:system", role=Role.SYSTEM)
RULES_VERSION_BEFORE_RECORDING = "2026-11"
"""The rules version of facts stored before facts recorded it (``LegalSettings.rules_version``'s first value)."""


@dataclass(frozen=True)
class Context:
    """What every fact records beside its own fields: who, when it happened, and why (which request
    caused it). ``occurred_at`` is the time in the world; the store adds the time it was recorded."""

    actor: Actor
    occurred_at: datetime
    correlation_id: str = ""
    causation_id: str = ""
    traceparent: str = ""
    """The W3C trace context of the request that caused the fact ("" when tracing is off): random ids, never
    personal data; the relay sends it on as the ``traceparent`` header, so one trace spans store and bus."""
    rules_version: str = RULES_VERSION_BEFORE_RECORDING
    """The ``LegalSettings.rules_version`` in force when the fact was recorded. A fact stored before the version
    was recorded has none in its stored context and reads as :data:`RULES_VERSION_BEFORE_RECORDING`, the only
    version there was until then (so replay of old facts is unchanged)."""

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise InvalidValue("occurred_at", "must be timezone-aware")

    @property
    def day(self) -> date:
        return self.occurred_at.date()


@dataclass(frozen=True)
class TeamMember:
    person_ref: str
    org_ref: str | None
    member_type: MemberType

    def __post_init__(self) -> None:
        check_ref("member.person_ref", self.person_ref, "person")
        if self.org_ref is not None:
            check_ref("member.org_ref", self.org_ref, "org")


@dataclass(frozen=True)
class ProviderRole:
    """The role of one service provider in a plan; the description is a document, not free text."""

    org_ref: str
    role_doc_ref: str

    def __post_init__(self) -> None:
        check_ref("provider_role.org_ref", self.org_ref, "org")
        check_ref("provider_role.role_doc_ref", self.role_doc_ref, "doc")


@dataclass(frozen=True)
class SupportPlanContent:
    """The five elements a support plan holds 'where appropriate' (seed 000): an element that is absent
    must carry a reason code in ``not_applicable`` (element name → reason code)."""

    needs_assessment_ref: str | None
    objectives: tuple[str, ...]
    provider_roles: tuple[ProviderRole, ...]
    evaluation_method: str | None
    valid_from: date | None
    valid_to: date | None
    review_dates: tuple[date, ...] = ()
    participants: tuple[str, ...] = ()
    parents_participated: bool = False
    child_participated: bool = False
    not_applicable: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AdultServiceHandover:
    org_ref: str
    contact_role: str

    def __post_init__(self) -> None:
        check_ref("handover.org_ref", self.org_ref, "org")


@dataclass(frozen=True)
class EligibilityCriteria:
    """The three conditions of pbrl § 2-5 c as assessed by the municipality (seed 002)."""

    under_18_or_expecting: bool
    serious_illness_injury_or_functional_variation: bool
    long_term_complex_needs_with_other_welfare_services: bool

    @property
    def all_met(self) -> bool:
        return (
            self.under_18_or_expecting
            and self.serious_illness_injury_or_functional_variation
            and self.long_term_complex_needs_with_other_welfare_services
        )


@dataclass(frozen=True)
class IndividualPlanContent:
    """The nine items of an individual plan (forskrift om habilitering og rehabilitering § 19), each a
    document reference or a structured value; see ``domain.barnekoordinator.require_individual_plan_items``."""

    goals_resources_and_needs_ref: str | None
    participants: tuple[str, ...]
    responsible_for_coordination_ref: str | None
    contributions_ref: str | None
    measures_ref: str | None
    implementation_ref: str | None
    plan_period_from: date | None
    plan_period_to: date | None
    revision_dates: tuple[date, ...]
    recipient_consent_to_plan: bool
    recipient_consent_to_sharing: bool
    cooperation_with_other_services_ref: str | None


VALUE_TYPES: tuple[type, ...] = (
    Actor,
    Context,
    TeamMember,
    ProviderRole,
    SupportPlanContent,
    AdultServiceHandover,
    EligibilityCriteria,
    IndividualPlanContent,
)
"""Immutable records that appear inside events; the persistence adapter registers a transcoding for each."""

ENUM_TYPES: tuple[type, ...] = (
    Jurisdiction, Role, ServiceLevel, IntegrationTrack, LifeStage, InstitutionType, ContactChannel,
    ContactInitiator, FamilyMember, OfferResponse, MemberType, EvaluationOutcome, TeamOutcome,
    ComplainantCapacity, ComplaintSubject, ViewsMethod, RequestChannel, FamilyStatus, Decision,
    InstructionType, ReconsiderationOutcome, ComplaintStage, StatsforvalterenOutcome,
    ComplaintGround, GuidanceTopic, ReferralKind, FollowUpPurpose, ReassessmentReason,
)
"""Enumerations that appear inside events; stored by value and restored to the enum on load."""
