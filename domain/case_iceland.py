"""Iceland's case: integration of services for one child under Act 86/2021 (domain.md §2.2-2.3).

Rules live in :mod:`domain.farsaeld`; this class keeps the state they are checked against and records
the facts. Reading the ``@event`` methods reads the list of facts a case can have.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from eventsourcing.domain import Aggregate, event

from domain import bounds, clock, farsaeld
from domain import life_stage as life_stage_rules
from domain.case import Case
from domain.directory import Institution
from domain.errors import InvalidValue, RuleViolation
from domain.legal_settings import LegalSettings
from domain.life_stage import SchoolStatus
from domain.rules import birthday, require_state
from domain.values import (
    AdultServiceHandover,
    ComplainantCapacity,
    ComplaintSubject,
    ContactChannel,
    ContactInitiator,
    Context,
    EvaluationOutcome,
    FamilyMember,
    IntegrationTrack,
    Jurisdiction,
    LifeStage,
    MemberType,
    OfferResponse,
    Role,
    ServiceLevel,
    SupportPlanContent,
    TeamMember,
    TeamOutcome,
    ViewsMethod,
    check_ref,
    check_refs,
)


class IcelandStatus(StrEnum):
    CONTACT = "contact"
    INTEGRATION_ACTIVE_L1 = "integration_active_l1"
    AWAITING_CASE_MANAGER = "awaiting_case_manager"
    TEAM_FORMING = "team_forming"
    TEAM_ACTIVE_NO_PLAN = "team_active_no_plan"
    PLAN_ACTIVE = "plan_active"
    CLOSED = "closed"
    CLOSED_WITHOUT_PLAN = "closed_without_plan"
    WITHDRAWN = "withdrawn"


S = IcelandStatus
OPEN = frozenset(set(S) - {S.CLOSED, S.CLOSED_WITHOUT_PLAN, S.WITHDRAWN})
TEAM_STATES = frozenset({S.TEAM_ACTIVE_NO_PLAN, S.PLAN_ACTIVE})


def next_review(content: SupportPlanContent, adopted_on: date) -> date | None:
    """A plan version's next review: its earliest review date not already past when the version was adopted,
    else the end of its validity (T4: the plan sets its own review times, seed 000)."""
    return min((d for d in content.review_dates if d >= adopted_on), default=content.valid_to)


class IcelandCase(Case):
    """A child's integration episode in Iceland, from first contact with a coordinator to its close."""

    # what the clock's deadlines start from (domain.clock); class defaults restore older snapshots
    need_notified_on: date | None = None
    """T2 starts: the day the coordinator told the municipality a case manager is needed."""
    team_established_on: date | None = None
    """T3 starts: the day the support team was established."""
    coordinator_since: date | None = None
    """T13: the day the current coordinator was assigned for the life stage they serve."""
    improvement_deadlines: tuple[tuple[str, date], ...] = ()
    """T14: (complaint id, GEV's deadline for improvement) of each complaint outcome that set one."""
    level: int | None = None
    """The child's level as the latest ``LevelRaised``/``LevelLowered`` set it (a class default: snapshots taken
    before v2 of the level facts hold none)."""

    class ContactRegistered(Aggregate.Created):
        ctx: Context
        child_ref: str
        parent_refs: tuple[str, ...]
        birth_date: date | None
        municipality_ref: str
        episode: int
        coordinator_ref: str
        coordinator_org_ref: str
        life_stage: LifeStage
        channel: ContactChannel
        initiated_by: ContactInitiator

    @event(ContactRegistered)
    def __init__(self, ctx: Context, child_ref: str, parent_refs: tuple[str, ...], birth_date: date | None,
                 municipality_ref: str, episode: int, coordinator_ref: str, coordinator_org_ref: str,
                 life_stage: LifeStage, channel: ContactChannel, initiated_by: ContactInitiator) -> None:
        self.jurisdiction = Jurisdiction.ICELAND
        self.child_ref, self.parent_refs, self.birth_date = child_ref, tuple(parent_refs), birth_date
        self.municipality_ref, self.episode, self.closed_on = municipality_ref, episode, None
        self.coordinator_ref, self.coordinator_org_ref = coordinator_ref, coordinator_org_ref
        self.life_stage = life_stage
        self.coordinator_since = ctx.day
        self.status = S.CONTACT
        self.track: IntegrationTrack | None = None
        self.sharing_requests: dict[str, tuple[str, str]] = {}
        self.informed_recipients: list[str] = []
        self.integration_request_id: str | None = None
        self.services: dict[str, tuple[int, bool]] = {}
        self.case_manager_ref: str | None = None
        self.case_manager_reappointment_pending = False
        self.team_id: str | None = None
        self.team_members: dict[str, MemberType] = {}
        self.meeting_invitations: dict[str, tuple[str, ...]] = {}
        self.plan_id: str | None = None
        self.plan_version: int | None = None
        self.plan_versions = 0
        self.next_review: date | None = None
        self.transition_plan_adopted_on: date | None = None
        self.conclusion: TeamOutcome | None = None
        self.complaints: dict[str, bool] = {}

    # ---- derived state -------------------------------------------------------------------------------
    @property
    def request_active(self) -> bool:
        return self.integration_request_id is not None and self.status is not S.WITHDRAWN

    @property
    def team_active(self) -> bool:
        return self.status in TEAM_STATES

    @property
    def family_refs(self) -> tuple[str, ...]:
        return (*self.parent_refs, self.child_ref)

    @property
    def highest_level(self) -> int | None:
        """The highest level among the child's active services: the service is tiered, not the case."""
        return max((level for level, active in self.services.values() if active), default=None)

    @property
    def current_level(self) -> int | None:
        """The level the last level fact set (it stands while no service is active); a snapshot taken before
        levels were lowered has none, and the highest active level stands in for it."""
        return self.level if self.level is not None else self.highest_level

    def _require_open(self, command: str) -> None:
        require_state("IS-SM", command, self.status, OPEN)

    def _require_basis(self, command: str) -> None:
        farsaeld.require_basis(self.request_active, command)
        self._require_open(command)

    # ---- 1 contact, information sharing and the request (rows 1-8) ------------------------------------
    @classmethod
    def register_contact(cls, ctx: Context, *, child_ref: str, parent_refs: tuple[str, ...],
                         birth_date: date | None, municipality_ref: str, coordinator_ref: str,
                         coordinator_institution: Institution, life_stage: LifeStage,
                         conflict_of_interest_declared_none: bool, settings: LegalSettings,
                         channel: ContactChannel = ContactChannel.IN_PERSON,
                         initiated_by: ContactInitiator = ContactInitiator.PARENT, episode: int = 1,
                         school_status: SchoolStatus | None = None) -> IcelandCase:
        """Row 1: a family (or a provider's guidance) brings the child to a coordinator."""
        check_ref("child_ref", child_ref, "person")
        check_refs("parent_refs", parent_refs, "person")
        check_ref("municipality_ref", municipality_ref, "muni")
        check_ref("coordinator_ref", coordinator_ref, "person")
        if episode < 1:
            raise InvalidValue("episode", "must be 1 or more")
        if birth_date is not None:
            bounds.check_birth_date("birth_date", birth_date, ctx.day)
        if birth_date is not None and ctx.day >= birthday(birth_date, settings.age_of_majority_years):
            raise RuleViolation("IS-R28", "The Act serves children under 18; this person is an adult.",
                                remedy="Refer the young person to adult services.")
        life_stage_rules.require_life_stage_for_age(life_stage, birth_date, ctx.day, school_status)
        farsaeld.require_coordinator_for_life_stage(
            LifeStage(life_stage), coordinator_institution.institution_type,
            coordinator_institution.is_designated(coordinator_ref))
        farsaeld.require_no_conflict_of_interest(conflict_of_interest_declared_none)
        return cls(ctx=ctx, child_ref=child_ref, parent_refs=tuple(parent_refs), birth_date=birth_date,
                   municipality_ref=municipality_ref, episode=episode, coordinator_ref=coordinator_ref,
                   coordinator_org_ref=coordinator_institution.org_ref, life_stage=LifeStage(life_stage),
                   channel=ContactChannel(channel), initiated_by=ContactInitiator(initiated_by))

    def record_integration_guidance(self, ctx: Context, *, provider_org_ref: str, provider_person_ref: str,
                                    given_to: FamilyMember) -> None:
        """Row 2: evidence of a provider's duty to react and guide the family towards integration."""
        self._require_open("RecordIntegrationGuidanceGiven")
        check_ref("provider_org_ref", provider_org_ref, "org")
        check_ref("provider_person_ref", provider_person_ref, "person")
        self._integration_guidance_given(ctx, provider_org_ref, provider_person_ref, FamilyMember(given_to))

    @event("IntegrationGuidanceGiven")
    def _integration_guidance_given(self, ctx: Context, provider_org_ref: str, provider_person_ref: str,
                                    given_to: FamilyMember) -> None:
        pass

    def sign_information_sharing_request(self, ctx: Context, *, request_id: str, signatory_refs: tuple[str, ...],
                                         source_provider_org_refs: tuple[str, ...], target_refs: tuple[str, ...],
                                         form_doc_ref: str) -> None:
        """Row 3: the family authorises one provider to send information to one coordinator."""
        self._require_open("SignInformationSharingRequest")
        check_refs("signatory_refs", signatory_refs, "person")
        check_refs("source_provider_org_refs", source_provider_org_refs, "org")
        check_refs("target_refs", target_refs, "person")
        check_ref("form_doc_ref", form_doc_ref, "doc")
        farsaeld.require_one_source_one_target(source_provider_org_refs, target_refs)
        if not signatory_refs or any(s not in self.family_refs for s in signatory_refs):
            raise RuleViolation("IS-R3", "Only the parents and/or the child sign an information-sharing request.",
                                remedy="Have the child's parents or the child sign.")
        if request_id in self.sharing_requests:
            raise RuleViolation("IS-R3", f"Information-sharing request {request_id} is already signed.",
                remedy="Use a new request_id for another request; read the case to see the signed one.")
        self._information_sharing_request_signed(ctx, request_id, tuple(signatory_refs),
                                                 source_provider_org_refs[0], target_refs[0], form_doc_ref)

    @event("InformationSharingRequestSigned")
    def _information_sharing_request_signed(self, ctx: Context, request_id: str, signatory_refs: tuple[str, ...],
                                            source_provider_org_ref: str, target_ref: str,
                                            form_doc_ref: str) -> None:
        self.sharing_requests[request_id] = (source_provider_org_ref, target_ref)

    def share_information_with_coordinator(self, ctx: Context, *, request_id: str, source_provider_org_ref: str,
                                           recipient_ref: str, summary_doc_ref: str) -> None:
        """Row 4: a provider sends what it knows, only along the pair the family authorised (INV-4)."""
        self._require_open("ShareInformationWithCoordinator")
        check_ref("summary_doc_ref", summary_doc_ref, "doc")
        pair = self.sharing_requests.get(request_id)
        farsaeld.require_sharing_authorised(pair == (source_provider_org_ref, recipient_ref))
        self._information_shared(ctx, request_id, source_provider_org_ref, recipient_ref, summary_doc_ref)

    @event("InformationSharedWithCoordinator")
    def _information_shared(self, ctx: Context, request_id: str, source_provider_org_ref: str,
                            recipient_ref: str, summary_doc_ref: str) -> None:
        if recipient_ref not in self.informed_recipients:
            self.informed_recipients.append(recipient_ref)

    def record_contact_with_family(self, ctx: Context, *, offered_to: tuple[FamilyMember, ...],
                                   contact_refs: tuple[str, ...], response: OfferResponse) -> None:
        """Row 5: the coordinator contacts the family and offers integration; no one else (seed 001)."""
        self._require_open("RecordCoordinatorContactWithFamily")
        check_refs("contact_refs", contact_refs, "person")
        farsaeld.require_contact_only_with_family(offered_to, contact_refs, self.family_refs)
        self._integration_offered(ctx, tuple(FamilyMember(o) for o in offered_to), tuple(contact_refs),
                                  OfferResponse(response))

    @event("IntegrationOffered")
    def _integration_offered(self, ctx: Context, offered_to: tuple[FamilyMember, ...],
                             contact_refs: tuple[str, ...], response: OfferResponse) -> None:
        pass

    def record_integration_request(self, ctx: Context, *, request_id: str, requested_by_refs: tuple[str, ...],
                                   requester_roles: tuple[FamilyMember, ...], written: bool, form_doc_ref: str,
                                   settings: LegalSettings) -> None:
        """Row 6: the family's written request, the basis for all processing that follows (IS-G0).
        This is the case's 'consent given' fact in Iceland."""
        require_state("IS-SM", "RecordIntegrationRequest", self.status, {S.CONTACT})
        check_refs("requested_by_refs", requested_by_refs, "person")
        check_ref("form_doc_ref", form_doc_ref, "doc")
        farsaeld.require_written_request(written)
        roles = tuple(FamilyMember(r) for r in requester_roles)
        farsaeld.require_requester_may_request_alone(roles, settings)
        if not requested_by_refs or any(r not in self.family_refs for r in requested_by_refs):
            raise RuleViolation("IS-R6", "The request is made by the child's parents and/or the child.",
                                remedy="Name the requesting parents or the child.")
        self._integration_requested(ctx, request_id, tuple(requested_by_refs), roles, form_doc_ref)

    @event("IntegrationRequested")
    def _integration_requested(self, ctx: Context, request_id: str, requested_by_refs: tuple[str, ...],
                               requester_roles: tuple[FamilyMember, ...], form_doc_ref: str) -> None:
        self.integration_request_id = request_id
        self.status, self.track = S.INTEGRATION_ACTIVE_L1, IntegrationTrack.COORDINATOR_LED

    def withdraw_integration_request(self, ctx: Context, *, request_id: str, withdrawn_by_ref: str,
                                     reason_code: str | None = None) -> None:
        """Row 7: withdrawing the request ends the basis for processing; processing stops at once."""
        farsaeld.require_basis(self.request_active and request_id == self.integration_request_id,
                               "WithdrawIntegrationRequest")
        self._require_open("WithdrawIntegrationRequest")
        if withdrawn_by_ref not in self.family_refs:
            raise RuleViolation("IS-R7", "Only the family that made the request can withdraw it.",
                remedy="Ask a parent or the child who made the request to withdraw it.")
        self._integration_request_withdrawn(ctx, request_id, withdrawn_by_ref, reason_code)
        self._processing_stopped(ctx, tuple(p for p in self.team_members if p not in self.family_refs))

    @event("IntegrationRequestWithdrawn")
    def _integration_request_withdrawn(self, ctx: Context, request_id: str, withdrawn_by_ref: str,
                                       reason_code: str | None) -> None:
        self.status = S.WITHDRAWN
        self.sharing_requests.clear()

    @event("ProcessingStopped")
    def _processing_stopped(self, ctx: Context, notified_member_refs: tuple[str, ...]) -> None:
        self.closed_on = ctx.day

    def change_coordinator(self, ctx: Context, *, coordinator_ref: str, institution: Institution,
                           life_stage_basis: LifeStage, conflict_of_interest_declared_none: bool,
                           handover_note_doc_ref: str | None = None,
                           school_status: SchoolStatus | None = None) -> None:
        """Row 8: the coordinator follows the child's institution as the child's life stage changes; the stage
        cited is checked against the child's age on the day (LIFE-1)."""
        self._require_open("ChangeCoordinator")
        life_stage_rules.require_life_stage_for_age(life_stage_basis, self.birth_date, ctx.day, school_status)
        check_ref("coordinator_ref", coordinator_ref, "person")
        if handover_note_doc_ref is not None:
            check_ref("handover_note_doc_ref", handover_note_doc_ref, "doc")
        farsaeld.require_coordinator_for_life_stage(LifeStage(life_stage_basis), institution.institution_type,
                                                    institution.is_designated(coordinator_ref))
        farsaeld.require_no_conflict_of_interest(conflict_of_interest_declared_none)
        self._coordinator_changed(ctx, self.coordinator_ref, coordinator_ref, institution.org_ref,
                                  LifeStage(life_stage_basis), handover_note_doc_ref)

    @event("CoordinatorChanged")
    def _coordinator_changed(self, ctx: Context, from_coordinator_ref: str, coordinator_ref: str, org_ref: str,
                             life_stage_basis: LifeStage, handover_note_doc_ref: str | None) -> None:
        self.coordinator_ref, self.coordinator_org_ref, self.life_stage = coordinator_ref, org_ref, life_stage_basis
        self.coordinator_since = ctx.day

    # ---- 2 first-level integration and services (rows 9-12) ------------------------------------------
    def arrange_initial_assessment(self, ctx: Context, *, assessor_org_ref: str, planned_date: date) -> None:
        """Row 9: the coordinator helps secure an initial assessment (*frummat*)."""
        self._require_basis("ArrangeInitialAssessment")
        check_ref("assessor_org_ref", assessor_org_ref, "org")
        bounds.check_planned("planned_date", planned_date, ctx.day, "the day it is arranged")
        self._initial_assessment_arranged(ctx, assessor_org_ref, planned_date)

    @event("InitialAssessmentArranged")
    def _initial_assessment_arranged(self, ctx: Context, assessor_org_ref: str, planned_date: date) -> None:
        pass

    def record_service(self, ctx: Context, *, service_id: str, provider_org_ref: str, service_level: int,
                       service_type_code: str, start_date: date) -> None:
        """Row 10: a service the child receives, at its own level; raising the highest level is a fact too."""
        self._require_basis("RecordService")
        check_ref("provider_org_ref", provider_org_ref, "org")
        if service_level not in {1, 2, 3}:
            raise RuleViolation("IS-R10", f"Service level {service_level} does not exist; levels are 1, 2 and 3.",
                                remedy="Record the service at level 1, 2 or 3.")
        if service_id in self.services:
            raise RuleViolation("IS-R10", f"Service {service_id} is already recorded.",
                remedy="Use a new service_id for another service; change this one with its own commands.")
        bounds.check_in_history("start_date", start_date, self.birth_date, ctx.day)
        before = self.current_level
        self._service_recorded(ctx, service_id, provider_org_ref, ServiceLevel(service_level),
                               service_type_code, start_date)
        self._record_level_change(ctx, before, "service_recorded", service_id)

    @event("ServiceRecorded")
    def _service_recorded(self, ctx: Context, service_id: str, provider_org_ref: str, service_level: ServiceLevel,
                          service_type_code: str, start_date: date) -> None:
        self.services[service_id] = (int(service_level), True)

    @event("LevelRaised")
    def _level_raised(self, ctx: Context, from_level: int | None, to_level: ServiceLevel, reason: str,
                      service_id: str) -> None:
        self.level = int(to_level)

    def _record_level_change(self, ctx: Context, before: int | None, reason: str, service_id: str) -> None:
        """The child's level is the highest level among its active services (the service is tiered, not the case).
        When the last active service ends the level stands (nothing replaced it), so the next service is compared
        with it: a level-3 service ended and a level-2 one started is the level lowered from 3 to 2."""
        after = self.highest_level
        if after is None or after == before:
            return
        if before is None or after > before:
            self._level_raised(ctx, before, ServiceLevel(after), reason, service_id)
        else:
            self._level_lowered(ctx, before, ServiceLevel(after), reason, service_id)

    @event("LevelLowered")
    def _level_lowered(self, ctx: Context, from_level: int, to_level: ServiceLevel, reason: str,
                       service_id: str) -> None:
        self.level = int(to_level)

    def end_service(self, ctx: Context, *, service_id: str, end_date: date) -> None:
        """Row 10: a service ends; its level stays on its record."""
        self._require_basis("EndService")
        if not self.services.get(service_id, (0, False))[1]:
            raise RuleViolation("IS-R10", f"Service {service_id} is not an active service of this case.",
                remedy="Name an active service of this case (read the case for their ids).")
        bounds.check_in_history("end_date", end_date, self.birth_date, ctx.day)
        before = self.current_level
        self._service_ended(ctx, service_id, end_date)
        self._record_level_change(ctx, before, "service_ended", service_id)

    @event("ServiceEnded")
    def _service_ended(self, ctx: Context, service_id: str, end_date: date) -> None:
        self.services[service_id] = (self.services[service_id][0], False)

    def record_level1_plan(self, ctx: Context, *, objective_refs: tuple[str, ...],
                           responsible_org_refs: tuple[str, ...], follow_up_date: date) -> None:
        """Row 11: an optional written plan at the first level (whether it is required is unknown)."""
        self._require_basis("RecordLevel1IntegrationPlan")
        require_state("IS-SM", "RecordLevel1IntegrationPlan", self.status, {S.INTEGRATION_ACTIVE_L1})
        check_refs("objective_refs", objective_refs, "doc")
        check_refs("responsible_org_refs", responsible_org_refs, "org")
        bounds.check_planned("follow_up_date", follow_up_date, ctx.day, "the plan's recording")
        self._level1_plan_recorded(ctx, tuple(objective_refs), tuple(responsible_org_refs), follow_up_date)

    @event("Level1PlanRecorded")
    def _level1_plan_recorded(self, ctx: Context, objective_refs: tuple[str, ...],
                              responsible_org_refs: tuple[str, ...], follow_up_date: date) -> None:
        pass

    def notify_need_for_case_manager(self, ctx: Context, *, municipality_ref: str,
                                     rationale_code: str = "multi_level_l2_l3_long_term") -> None:
        """Row 12: the coordinator tells the domicile municipality a case manager is needed."""
        self._require_basis("NotifyNeedForCaseManager")
        farsaeld.require_coordinator_actor(ctx.actor.role, ctx.actor.person_ref, self.coordinator_ref)
        require_state("IS-SM", "NotifyNeedForCaseManager", self.status, {S.INTEGRATION_ACTIVE_L1})
        farsaeld.require_domicile_municipality(municipality_ref, self.municipality_ref)
        self._case_manager_need_notified(ctx, self.coordinator_ref, municipality_ref, rationale_code)

    @event("CaseManagerNeedNotified")
    def _case_manager_need_notified(self, ctx: Context, coordinator_ref: str, municipality_ref: str,
                                    rationale_code: str) -> None:
        self.status = S.AWAITING_CASE_MANAGER
        self.need_notified_on = ctx.day

    # ---- 3 case manager, support team and meetings (rows 13-18) ---------------------------------------
    def appoint_case_manager(self, ctx: Context, *, case_manager_ref: str, municipality_ref: str,
                             org_unit_ref: str, needs_l2_l3_multilevel: bool, long_term: bool,
                             works_in_social_services_or_area_of_needs: bool) -> None:
        """Row 13: the domicile municipality appoints the case manager who will lead the support team."""
        self._require_basis("AppointCaseManager")
        if not self.case_manager_reappointment_pending:
            require_state("IS-SM", "AppointCaseManager", self.status, {S.AWAITING_CASE_MANAGER})
        if ctx.actor.role is not Role.MUNICIPALITY_LEAD:
            raise RuleViolation("IS-R13", "The municipality (its lead) appoints the case manager.",
                                remedy="Have the municipality lead of the domicile municipality appoint.")
        check_ref("case_manager_ref", case_manager_ref, "person")
        check_ref("org_unit_ref", org_unit_ref, "org")
        farsaeld.require_domicile_municipality(municipality_ref, self.municipality_ref)
        farsaeld.require_case_manager_eligibility(self.request_active, needs_l2_l3_multilevel, long_term)
        farsaeld.require_case_manager_area(works_in_social_services_or_area_of_needs)
        self._case_manager_appointed(ctx, case_manager_ref, municipality_ref, org_unit_ref, self.case_manager_ref)

    @event("CaseManagerAppointed")
    def _case_manager_appointed(self, ctx: Context, case_manager_ref: str, municipality_ref: str,
                                org_unit_ref: str, replaces_ref: str | None) -> None:
        if replaces_ref is not None:
            self.team_members.pop(replaces_ref, None)
        if self.team_active:
            self.team_members[case_manager_ref] = MemberType.CASE_MANAGER
        self.case_manager_ref, self.track = case_manager_ref, IntegrationTrack.CASE_MANAGER_LED
        self.case_manager_reappointment_pending = False
        if self.status is S.AWAITING_CASE_MANAGER:
            self.status = S.TEAM_FORMING

    def establish_support_team(self, ctx: Context, *, team_id: str, members: tuple[TeamMember, ...]) -> None:
        """Row 14: the case manager forms the team; the parents are members by default (seed 000)."""
        farsaeld.require_team_after_request(self.request_active)
        self._require_open("EstablishSupportTeam")
        farsaeld.require_case_manager_actor(ctx.actor.role, ctx.actor.person_ref, self.case_manager_ref,
                                            "establish the support team")
        require_state("IS-SM", "EstablishSupportTeam", self.status, {S.TEAM_FORMING})
        farsaeld.require_service_provider_on_team(members)
        everyone = {m.person_ref: m for m in members}
        for parent in self.parent_refs:
            everyone.setdefault(parent, TeamMember(parent, None, MemberType.PARENT))
        assert self.case_manager_ref is not None  # guaranteed by require_case_manager_actor
        everyone.setdefault(self.case_manager_ref, TeamMember(self.case_manager_ref, None, MemberType.CASE_MANAGER))
        self._support_team_established(ctx, team_id, tuple(everyone.values()))

    @event("SupportTeamEstablished")
    def _support_team_established(self, ctx: Context, team_id: str, members: tuple[TeamMember, ...]) -> None:
        self.team_id = team_id
        self.team_members = {m.person_ref: m.member_type for m in members}
        self.status = S.TEAM_ACTIVE_NO_PLAN
        self.team_established_on = ctx.day

    def _require_team_command(self, ctx: Context, command: str, what: str) -> None:
        farsaeld.require_team_after_request(self.request_active)
        self._require_open(command)
        farsaeld.require_team_exists(self.team_active, command)
        farsaeld.require_case_manager_actor(ctx.actor.role, ctx.actor.person_ref, self.case_manager_ref, what)

    def invite_general_service_provider(self, ctx: Context, *, person_ref: str, org_ref: str,
                                        necessity_justification_ref: str | None) -> None:
        """Row 15: a general-service provider joins only by invitation, and only if necessary."""
        self._require_team_command(ctx, "InviteGeneralServiceProvider", "invite members")
        check_ref("person_ref", person_ref, "person")
        check_ref("org_ref", org_ref, "org")
        farsaeld.require_necessity_justification(necessity_justification_ref)
        check_ref("necessity_justification_ref", necessity_justification_ref or "", "doc")
        if person_ref in self.team_members:
            raise RuleViolation("IS-R15", "The person is already a member of the support team.",
                remedy="Nothing to do: the person is on the team already.")
        self._support_team_member_invited(ctx, TeamMember(person_ref, org_ref, MemberType.GENERAL_SERVICE_REP),
                                          necessity_justification_ref)

    @event("SupportTeamMemberInvited")
    def _support_team_member_invited(self, ctx: Context, member: TeamMember,
                                     necessity_justification_ref: str | None) -> None:
        self.team_members[member.person_ref] = member.member_type

    def remove_team_member(self, ctx: Context, *, person_ref: str, reason_code: str) -> None:
        """Row 16: a member leaves the team; the parents cannot be removed."""
        self._require_team_command(ctx, "RemoveTeamMember", "remove members")
        if person_ref not in self.team_members:
            raise RuleViolation("IS-R16", "The person is not a member of the support team.",
                remedy="Name a current member of the support team (read the case for the team).")
        # a parent stays a parent even when listed under another member type (e.g. as a provider's representative)
        farsaeld.require_parent_not_removed(
            MemberType.PARENT if person_ref in self.parent_refs else self.team_members[person_ref])
        if person_ref == self.case_manager_ref:
            raise RuleViolation("IS-R16", "The case manager leads the team and cannot be removed from it.",
                                remedy="Appoint another case manager instead.")
        self._support_team_member_removed(ctx, person_ref, reason_code)

    @event("SupportTeamMemberRemoved")
    def _support_team_member_removed(self, ctx: Context, person_ref: str, reason_code: str) -> None:
        del self.team_members[person_ref]

    def invite_to_team_meeting(self, ctx: Context, *, meeting_id: str, invitee_refs: tuple[str, ...],
                               scheduled_for: date) -> None:
        """Row 17 (first half): the team meets; everyone it invites is on the record."""
        self._require_team_command(ctx, "InviteToTeamMeeting", "call team meetings")
        check_refs("invitee_refs", invitee_refs, "person")
        bounds.check_planned("scheduled_for", scheduled_for, ctx.day, "the invitation")
        self._meeting_invitation_sent(ctx, meeting_id, tuple(invitee_refs), scheduled_for)

    @event("TeamMeetingInvitationSent")
    def _meeting_invitation_sent(self, ctx: Context, meeting_id: str, invitee_refs: tuple[str, ...],
                                 scheduled_for: date) -> None:
        self.meeting_invitations[meeting_id] = invitee_refs

    def record_team_meeting(self, ctx: Context, *, meeting_id: str, attendee_refs: tuple[str, ...],
                            parents_attended: bool, child_attended: bool, minutes_doc_ref: str,
                            decision_codes: tuple[str, ...] = ()) -> None:
        """Row 17: a meeting the parents (and the child where applicable) were invited to."""
        self._require_team_command(ctx, "RecordTeamMeeting", "record team meetings")
        check_refs("attendee_refs", attendee_refs, "person")
        check_ref("minutes_doc_ref", minutes_doc_ref, "doc")
        invited = self.meeting_invitations.get(meeting_id, ())
        child_member = self.team_members.get(self.child_ref) is MemberType.CHILD
        farsaeld.require_family_invited(invited, self.parent_refs, self.child_ref, child_member)
        self._support_team_meeting_held(ctx, meeting_id, tuple(attendee_refs), parents_attended, child_attended,
                                        minutes_doc_ref, tuple(decision_codes))

    @event("SupportTeamMeetingHeld")
    def _support_team_meeting_held(self, ctx: Context, meeting_id: str, attendee_refs: tuple[str, ...],
                                   parents_attended: bool, child_attended: bool, minutes_doc_ref: str,
                                   decision_codes: tuple[str, ...]) -> None:
        pass

    def record_child_views(self, ctx: Context, *, method: ViewsMethod, summary_doc_ref: str) -> None:
        """Row 18: the child's views, a fact of its own (participation duties, seed 000)."""
        self._require_basis("RecordChildViews")
        check_ref("summary_doc_ref", summary_doc_ref, "doc")
        self._child_views_recorded(ctx, ViewsMethod(method), summary_doc_ref)

    @event("ChildViewsRecorded")
    def _child_views_recorded(self, ctx: Context, method: ViewsMethod, summary_doc_ref: str) -> None:
        pass

    # ---- 4 the support plan and the adult transition plan (rows 19-22) -------------------------------
    def _check_plan_content(self, ctx: Context, content: SupportPlanContent) -> None:
        if content.needs_assessment_ref is not None:
            check_ref("needs_assessment_ref", content.needs_assessment_ref, "doc")
        check_refs("objectives", content.objectives, "doc")
        check_refs("participants", content.participants, "person")
        # DATE-2: the plan's reviews and its end are planned from its adoption on; refused, never dropped.
        bounds.check_planned_all("content.review_dates", content.review_dates, ctx.day, "the plan's adoption")
        if content.valid_to is not None:
            bounds.check_planned("content.valid_to", content.valid_to, ctx.day, "the plan's adoption")
        if content.valid_from is not None:
            bounds.check_in_history("content.valid_from", content.valid_from, self.birth_date, ctx.day)

    def adopt_support_plan(self, ctx: Context, *, plan_id: str, content: SupportPlanContent) -> None:
        """Row 19: the team's written plan with the five elements, adopted under the case manager's lead."""
        self._require_team_command(ctx, "AdoptSupportPlan", "adopt the support plan")
        farsaeld.require_single_active_plan(self.plan_version)
        self._check_plan_content(ctx, content)
        farsaeld.require_five_elements(content)
        self._support_plan_adopted(ctx, plan_id, 1, content)

    @event("SupportPlanAdopted")
    def _support_plan_adopted(self, ctx: Context, plan_id: str, version: int, content: SupportPlanContent) -> None:
        self.plan_id, self.plan_version, self.plan_versions = plan_id, version, version
        self.next_review = next_review(content, ctx.day)
        self.status = S.PLAN_ACTIVE

    def evaluate_support_plan(self, ctx: Context, *, plan_id: str, version: int, outcome: EvaluationOutcome,
                              progress_doc_ref: str, next_review_date: date | None = None) -> None:
        """Row 20: the team re-evaluates the plan on schedule; the case manager records it.
        This is the design card's 'plan evaluated'."""
        self._require_team_command(ctx, "EvaluateSupportPlan", "record the plan evaluation")
        farsaeld.require_active_plan(self.plan_version, "EvaluateSupportPlan")
        farsaeld.require_supersedes_current(version, self.plan_version)
        if plan_id != self.plan_id:
            raise RuleViolation("IS-R20", f"Plan {plan_id} is not this case's support plan.",
                remedy="Name the plan_id of this case's adopted support plan.")
        check_ref("progress_doc_ref", progress_doc_ref, "doc")
        if next_review_date is not None:
            bounds.check_planned("next_review_date", next_review_date, ctx.day, "the evaluation")
        self._support_plan_evaluated(ctx, plan_id, version, EvaluationOutcome(outcome), progress_doc_ref,
                                     next_review_date)

    @event("SupportPlanEvaluated")
    def _support_plan_evaluated(self, ctx: Context, plan_id: str, version: int, outcome: EvaluationOutcome,
                                progress_doc_ref: str, next_review_date: date | None) -> None:
        self.next_review = next_review_date

    def revise_support_plan(self, ctx: Context, *, plan_id: str, supersedes_version: int,
                            content: SupportPlanContent) -> None:
        """Row 21: a revision is a new, immutable version that supersedes the current one (INV-3)."""
        self._require_team_command(ctx, "ReviseSupportPlan", "revise the support plan")
        farsaeld.require_active_plan(self.plan_version, "ReviseSupportPlan")
        farsaeld.require_supersedes_current(supersedes_version, self.plan_version)
        self._check_plan_content(ctx, content)
        farsaeld.require_five_elements(content)
        self._support_plan_revised(ctx, plan_id, supersedes_version + 1, supersedes_version, content)

    @event("SupportPlanRevised")
    def _support_plan_revised(self, ctx: Context, plan_id: str, version: int, supersedes_version: int,
                              content: SupportPlanContent) -> None:
        self.plan_version = self.plan_versions = version
        self.next_review = next_review(content, ctx.day)

    def adopt_adult_transition_plan(self, ctx: Context, *, plan_id: str,
                                    adult_service_handovers: tuple[AdultServiceHandover, ...],
                                    young_person_participated: bool, settings: LegalSettings) -> None:
        """Row 22: before 18, the team plans the services after adulthood (INV-7)."""
        self._require_team_command(ctx, "AdoptAdultTransitionPlan", "adopt the adult transition plan")
        if self.birth_date is None:
            raise RuleViolation("IS-INV-7", "The child's birth date is needed to know the 18th birthday.",
                remedy="Record the child's birth date on the case first.")
        farsaeld.require_before_majority(self.birth_date, ctx.day, settings)
        if not adult_service_handovers:
            raise RuleViolation("IS-R22", "The adult transition plan names at least one adult service handover.",
                                remedy="Name the adult services that take over and their contact role.")
        age = self.age_on(ctx.day)
        self._adult_transition_plan_adopted(ctx, plan_id, age if age is not None else 0,
                                            tuple(adult_service_handovers), young_person_participated)

    @event("AdultTransitionPlanAdopted")
    def _adult_transition_plan_adopted(self, ctx: Context, plan_id: str, child_age_years_at_adoption: int,
                                       adult_service_handovers: tuple[AdultServiceHandover, ...],
                                       young_person_participated: bool) -> None:
        self.transition_plan_adopted_on = ctx.day

    # ---- 5 concluding the team, complaints, domicile, majority and close (rows 23-29) ----------------
    def conclude_support_team(self, ctx: Context, *, outcome: TeamOutcome, justification_doc_ref: str | None,
                              settings: LegalSettings, override_reason_code: str | None = None) -> None:
        """Row 23 (and 24): the team ends its work. Without a plan, the parents and the case manager are
        told why and how to complain to GEV, in the same transaction (INV-6)."""
        outcome = TeamOutcome(outcome)
        if outcome is TeamOutcome.AGE_OUT and override_reason_code is not None:
            farsaeld.require_override_before_majority(self.majority_on)
        self._require_team_command(ctx, "ConcludeSupportTeam", "conclude the support team")
        if justification_doc_ref is not None:
            check_ref("justification_doc_ref", justification_doc_ref, "doc")
        farsaeld.require_closure_justification(outcome, justification_doc_ref)
        if outcome is TeamOutcome.CONCLUDED_WITHOUT_PLAN:
            require_state("IS-SM", "ConcludeSupportTeam(concluded_without_plan)", self.status,
                          {S.TEAM_ACTIVE_NO_PLAN})
        if outcome is TeamOutcome.GOALS_MET:
            require_state("IS-SM", "ConcludeSupportTeam(goals_met)", self.status, {S.PLAN_ACTIVE})
        if outcome is TeamOutcome.AGE_OUT:
            farsaeld.require_transition_plan_at_age_out(self.transition_plan_adopted_on is not None,
                                                        override_reason_code, settings)
        if outcome is TeamOutcome.WITHDRAWN:
            raise RuleViolation("IS-R23", "A withdrawal ends the team through the family's withdrawal.",
                                remedy="Record the withdrawal of the integration request.")
        recipients = (*self.parent_refs, *([self.case_manager_ref] if self.case_manager_ref else []))
        if outcome is TeamOutcome.CONCLUDED_WITHOUT_PLAN:  # checked before anything is recorded
            farsaeld.require_conclusion_notice(recipients, self.parent_refs, self.case_manager_ref,
                                               justification_doc_ref)
        self._support_team_concluded(ctx, self.team_id or "", outcome, justification_doc_ref, override_reason_code)
        if outcome is TeamOutcome.CONCLUDED_WITHOUT_PLAN:
            self._team_conclusion_notified(ctx, recipients, justification_doc_ref or "", True,
                                           farsaeld.SUPERVISORY_BODY)

    @event("SupportTeamConcluded")
    def _support_team_concluded(self, ctx: Context, team_id: str, outcome: TeamOutcome,
                                justification_doc_ref: str | None, override_reason_code: str | None) -> None:
        self.conclusion = outcome
        if outcome is TeamOutcome.REFERRED_BACK_TO_COORDINATOR:
            self.status, self.track = S.INTEGRATION_ACTIVE_L1, IntegrationTrack.COORDINATOR_LED
            self.team_members, self.plan_version = {}, None
        elif outcome is TeamOutcome.CONCLUDED_WITHOUT_PLAN:
            self.status, self.closed_on = S.CLOSED_WITHOUT_PLAN, ctx.day
        else:
            self.status, self.closed_on = S.CLOSED, ctx.day

    @event("TeamConclusionNotified")
    def _team_conclusion_notified(self, ctx: Context, recipient_refs: tuple[str, ...], justification_doc_ref: str,
                                  complaint_info_included: bool, complaint_body: str) -> None:
        pass

    def record_complaint(self, ctx: Context, *, complaint_id: str, complainant_ref: str,
                         complainant_capacity: ComplainantCapacity, subject: ComplaintSubject,
                         external_ref: str | None = None) -> None:
        """Row 25: a complaint lodged with GEV in its portal, recorded here; it outlives the case.
        This is the design card's 'complaint lodged'."""
        check_ref("complainant_ref", complainant_ref, "person")
        capacity, subject = ComplainantCapacity(complainant_capacity), ComplaintSubject(subject)
        farsaeld.require_complainant_capacity(capacity)
        if subject is ComplaintSubject.TEAM_CONCLUDED_WITHOUT_PLAN:
            farsaeld.require_complaint_about_closure(self.status is S.CLOSED_WITHOUT_PLAN)
        if complaint_id in self.complaints:
            raise RuleViolation("IS-R25", f"Complaint {complaint_id} is already recorded.",
                remedy="Use a new complaint_id for another complaint.")
        self._complaint_lodged(ctx, complaint_id, complainant_ref, capacity, farsaeld.SUPERVISORY_BODY, subject,
                               external_ref)

    @event("ComplaintLodged")
    def _complaint_lodged(self, ctx: Context, complaint_id: str, complainant_ref: str,
                          complainant_capacity: ComplainantCapacity, body: str, subject: ComplaintSubject,
                          external_ref: str | None) -> None:
        self.complaints[complaint_id] = False

    def record_complaint_outcome(self, ctx: Context, *, complaint_id: str, outcome_summary_ref: str,
                                 recommendation_codes: tuple[str, ...] = (),
                                 deadline_for_improvement: date | None = None) -> None:
        """Row 26: GEV's outcome: a report, recommendations and a deadline for improvement."""
        if complaint_id not in self.complaints:
            raise RuleViolation("IS-R26", f"No complaint {complaint_id} is recorded on this case.",
                remedy="Name a complaint lodged on this case (read the case for their ids).")
        if self.complaints[complaint_id]:
            raise RuleViolation("IS-R26", f"Complaint {complaint_id} already has its outcome.",
                remedy="Nothing to do: the outcome is recorded; a new complaint is lodged anew.")
        check_ref("outcome_summary_ref", outcome_summary_ref, "doc")
        if deadline_for_improvement is not None:
            bounds.check_planned("deadline_for_improvement", deadline_for_improvement, ctx.day, "the outcome")
        self._complaint_outcome_recorded(ctx, complaint_id, outcome_summary_ref, tuple(recommendation_codes),
                                         deadline_for_improvement)

    @event("ComplaintOutcomeRecorded")
    def _complaint_outcome_recorded(self, ctx: Context, complaint_id: str, outcome_summary_ref: str,
                                    recommendation_codes: tuple[str, ...],
                                    deadline_for_improvement: date | None) -> None:
        self.complaints[complaint_id] = True
        if deadline_for_improvement is not None:
            self.improvement_deadlines = (*self.improvement_deadlines, (complaint_id, deadline_for_improvement))

    def change_domicile(self, ctx: Context, *, to_municipality_ref: str) -> None:
        """Row 27: the family moves; the new municipality owns the case and must reappoint a case manager."""
        self._require_open("ChangeDomicile")
        check_ref("to_municipality_ref", to_municipality_ref, "muni")
        if to_municipality_ref == self.municipality_ref:
            raise RuleViolation("IS-R27", "The child is already domiciled in that municipality.",
                remedy="Nothing to do: name another municipality to move the domicile.")
        self._domicile_changed(ctx, self.municipality_ref, to_municipality_ref)

    @event("DomicileChanged")
    def _domicile_changed(self, ctx: Context, from_municipality_ref: str, to_municipality_ref: str) -> None:
        self.municipality_ref = to_municipality_ref
        if self.track is IntegrationTrack.CASE_MANAGER_LED:
            self.case_manager_reappointment_pending = True

    def record_majority(self, ctx: Context, *, settings: LegalSettings) -> None:
        """Row 28: the child turns 18 and the episode closes; whether the transition plan existed is kept for
        the supervisor (domain.md §5 question 6)."""
        self._require_open("ChildReachedMajority")
        if self.birth_date is None:
            raise RuleViolation("IS-R28", "The case has no birth date to reach majority from.",
                remedy="Record the child's birth date on the case first.")
        farsaeld.require_reached_majority(self.birth_date, ctx.day, settings)
        self._record_clock_facts(ctx, clock.due(self, ctx.day, settings))  # T5's breach before the case closes
        self._child_reached_majority(ctx, ctx.day, self.transition_plan_adopted_on is not None)

    def _on_majority(self, on: date) -> None:
        self.status, self.closed_on = S.CLOSED, on

    def close_case(self, ctx: Context, *, closure_reason: str) -> None:
        """Row 29: the case closes once no team is working on it."""
        self._require_open("CloseCase")
        farsaeld.require_no_open_team(self.team_active)
        self._case_closed(ctx, closure_reason)

    def _on_closed(self) -> None:
        self.status = S.CLOSED
