"""Norway's case: a family's right to a barnekoordinator (domain.md §2.4), from the request through the
municipality's written decision, consent and appointment, coordination and the individual plan, to
complaints (reconsidered by the municipality, then Statsforvalteren) and the transition at 18.

Rules live in :mod:`domain.barnekoordinator`; this class keeps the state they are checked against.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain import barnekoordinator as bk
from domain import bounds, clock
from domain.case_norway_duties import NorwayCoordination
from domain.errors import InvalidValue, RuleViolation
from domain.legal_settings import LegalSettings
from domain.rules import birthday, require_state
from domain.values import (
    ComplaintGround,
    ComplaintStage,
    Context,
    Decision,
    EligibilityCriteria,
    FamilyStatus,
    IndividualPlanContent,
    InstructionType,
    Jurisdiction,
    ReconsiderationOutcome,
    RequestChannel,
    StatsforvalterenOutcome,
    check_ref,
    check_refs,
)


class NorwayStatus(StrEnum):
    REQUESTED = "requested"
    ASSESSED = "assessed"
    GRANTED = "granted"
    ACTIVE = "active"
    REFUSED = "refused"
    TERMINATED = "terminated"
    ORDINARY_COORDINATOR_ASSESSMENT = "ordinary_coordinator_assessment"
    ADULT_COORDINATOR = "adult_coordinator"
    ENDED = "ended"
    CLOSED = "closed"


N = NorwayStatus
OPEN = frozenset(set(N) - {N.ENDED, N.CLOSED})
DECISION_FROM: dict[Decision, frozenset[NorwayStatus]] = {
    Decision.GRANTED: frozenset({N.ASSESSED, N.REFUSED, N.TERMINATED}),
    Decision.REFUSED: frozenset({N.ASSESSED}),
    Decision.CHANGED: frozenset({N.ACTIVE}),
    Decision.TERMINATED: frozenset({N.ACTIVE, N.GRANTED}),
    Decision.ORDINARY_COORDINATOR_AFTER_18_GRANTED: frozenset({N.ORDINARY_COORDINATOR_ASSESSMENT, N.ENDED}),
    Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED: frozenset({N.ORDINARY_COORDINATOR_ASSESSMENT}),
}
"""The state diagram of domain.md §2.4. A grant after a refusal or termination needs a complaint that
changed the outcome (upheld on reconsideration, or reversed or returned by Statsforvalteren)."""
DECISION_LEADS_TO: dict[Decision, NorwayStatus] = {
    Decision.GRANTED: N.GRANTED,
    Decision.REFUSED: N.REFUSED,
    Decision.CHANGED: N.GRANTED,
    Decision.TERMINATED: N.TERMINATED,
    Decision.ORDINARY_COORDINATOR_AFTER_18_GRANTED: N.ADULT_COORDINATOR,
    Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED: N.ENDED,
}


class NorwayCase(NorwayCoordination):
    """A family's barnekoordinator case in one Norwegian municipality."""

    class BarnekoordinatorRequested(Aggregate.Created):
        ctx: Context
        child_ref: str
        parent_refs: tuple[str, ...]
        birth_date: date | None
        municipality_ref: str
        episode: int
        request_id: str
        channel: RequestChannel
        requested_by_ref: str
        family_status: FamilyStatus

    @event(BarnekoordinatorRequested)
    def __init__(self, ctx: Context, child_ref: str, parent_refs: tuple[str, ...], birth_date: date | None,
                 municipality_ref: str, episode: int, request_id: str, channel: RequestChannel,
                 requested_by_ref: str, family_status: FamilyStatus) -> None:
        self.jurisdiction = Jurisdiction.NORWAY
        self.child_ref, self.parent_refs, self.birth_date = child_ref, tuple(parent_refs), birth_date
        self.municipality_ref, self.episode, self.closed_on = municipality_ref, episode, None
        self.request_id, self.family_status = request_id, family_status
        self.status = N.REQUESTED
        self.criteria: EligibilityCriteria | None = None
        self.decisions: dict[str, tuple[Decision, datetime]] = {}
        self.consent_id: str | None = None
        self.coordinator_ref: str | None = None
        self.plan_id: str | None = None
        self.complaints: dict[str, tuple[str, ComplaintStage]] = {}
        self.new_decision_allowed = False

    @property
    def consent_active(self) -> bool:
        return self.consent_id is not None

    def _require_open(self, command: str) -> None:
        require_state("NO-SM", command, self.status, OPEN)

    @classmethod
    def request_barnekoordinator(cls, ctx: Context, *, child_ref: str, parent_refs: tuple[str, ...],
                                 birth_date: date | None, municipality_ref: str, request_id: str,
                                 channel: RequestChannel, requested_by_ref: str, family_status: FamilyStatus,
                                 settings: LegalSettings, episode: int = 1) -> NorwayCase:
        """The family asks, orally or in writing (seed 002); an oral request is recorded by staff."""
        check_ref("child_ref", child_ref, "person")
        check_refs("parent_refs", parent_refs, "person")
        check_ref("municipality_ref", municipality_ref, "muni")
        check_ref("requested_by_ref", requested_by_ref, "person")
        if episode < 1:
            raise InvalidValue("episode", "must be 1 or more")
        if birth_date is not None:
            bounds.check_birth_date("birth_date", birth_date, ctx.day)
        bk.require_family_status(FamilyStatus(family_status), birth_date, ctx.day, settings)
        return cls(ctx=ctx, child_ref=child_ref, parent_refs=tuple(parent_refs), birth_date=birth_date,
                   municipality_ref=municipality_ref, episode=episode, request_id=request_id,
                   channel=RequestChannel(channel), requested_by_ref=requested_by_ref,
                   family_status=FamilyStatus(family_status))

    def assess_eligibility(self, ctx: Context, *, criteria: EligibilityCriteria, diagnosis_required: bool,
                           family_views_doc_ref: str | None, child_views_doc_ref: str | None) -> None:
        """The municipality's overall, individual assessment of the three conditions, with the views of
        the family and the child, and no diagnosis requirement (seed 002)."""
        require_state("NO-SM", "AssessEligibility", self.status, {N.REQUESTED})
        bk.require_no_diagnosis_condition(diagnosis_required)
        bk.require_views_recorded(family_views_doc_ref, child_views_doc_ref, self.birth_date is not None)
        for name, ref in (("family_views_doc_ref", family_views_doc_ref), ("child_views_doc_ref", child_views_doc_ref)):
            if ref is not None:
                check_ref(name, ref, "doc")
        self._eligibility_assessed(ctx, criteria, diagnosis_required, family_views_doc_ref, child_views_doc_ref)

    @event("BarnekoordinatorEligibilityAssessed")
    def _eligibility_assessed(self, ctx: Context, criteria: EligibilityCriteria, diagnosis_required: bool,
                              family_views_doc_ref: str | None, child_views_doc_ref: str | None) -> None:
        self.criteria, self.status = criteria, N.ASSESSED

    def issue_decision(self, ctx: Context, *, decision_id: str, decision: Decision, written: bool,
                       justification_doc_ref: str | None, appeal_info_included: bool, delivered_at: datetime,
                       settings: LegalSettings) -> None:
        """Every decision is written, with reasons and the right to complain to Statsforvalteren within
        four weeks, and that deadline is recorded on the decision itself (pbrl § 7-5)."""
        decision = Decision(decision)
        if not (self.status is N.ENDED and self.new_decision_allowed):  # a complaint may undo a refusal after 18
            self._require_open("IssueBarnekoordinatorDecision")
        require_state("NO-SM", f"IssueBarnekoordinatorDecision({decision.value})", self.status,
                      DECISION_FROM[decision])
        if self.status in {N.REFUSED, N.TERMINATED} and not self.new_decision_allowed:
            raise RuleViolation("NO-SM", "The earlier decision stands until a complaint changes it.",
                                remedy="Reconsider the complaint, or record Statsforvalteren's decision.")
        if decision_id in self.decisions:
            raise RuleViolation("NO-R3", f"Decision {decision_id} is already issued.",
                remedy="Use a new decision_id for another decision.")
        bk.require_written_decision(written, justification_doc_ref, appeal_info_included)
        check_ref("justification_doc_ref", justification_doc_ref or "", "doc")
        if self.status is N.ASSESSED:
            bk.require_decision_allowed(decision, self.criteria)
        if delivered_at.tzinfo is None:
            raise InvalidValue("delivered_at", "must be timezone-aware")
        bounds.check_planned("delivered_at", delivered_at.date(), ctx.day, "the decision")
        self._decision_issued(ctx, decision_id, decision, justification_doc_ref or "", bk.APPEAL_BODY,
                              bk.complaint_deadline(delivered_at, settings), bk.LEGAL_BASIS, delivered_at)

    @event("BarnekoordinatorDecisionIssued")
    def _decision_issued(self, ctx: Context, decision_id: str, decision: Decision, justification_doc_ref: str,
                         appeal_body: str, appeal_deadline: datetime, legal_basis: str,
                         delivered_at: datetime) -> None:
        self.decisions[decision_id] = (decision, appeal_deadline)
        self.status, self.new_decision_allowed = DECISION_LEADS_TO[decision], False
        if decision in {Decision.CHANGED, Decision.TERMINATED, Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED}:
            self.coordinator_ref = None
        self.closed_on = ctx.day if self.status is N.ENDED else None

    def record_consent(self, ctx: Context, *, consent_id: str, given_by_refs: tuple[str, ...],
                       scope_service_org_refs: tuple[str, ...], form_doc_ref: str) -> None:
        """The family's consent, needed before a coordinator is assigned (helsedirektoratet pårørendeveileder).
        This is the case's 'consent given' fact in Norway."""
        self._require_open("RecordBarnekoordinatorConsent")
        check_refs("given_by_refs", given_by_refs, "person")
        check_refs("scope_service_org_refs", scope_service_org_refs, "org")
        check_ref("form_doc_ref", form_doc_ref, "doc")
        family = (*self.parent_refs, self.child_ref)
        if not given_by_refs or any(g not in family for g in given_by_refs):
            raise RuleViolation("NO-R4", "Consent is given by the parents or whoever consents for the child.",
                                remedy="Record the consent of the child's parents (or the child).")
        self._consent_recorded(ctx, consent_id, tuple(given_by_refs), tuple(scope_service_org_refs), form_doc_ref)

    @event("BarnekoordinatorConsentRecorded")
    def _consent_recorded(self, ctx: Context, consent_id: str, given_by_refs: tuple[str, ...],
                          scope_service_org_refs: tuple[str, ...], form_doc_ref: str) -> None:
        self.consent_id = consent_id

    def withdraw_consent(self, ctx: Context, *, consent_id: str, withdrawn_by_ref: str) -> None:
        """Consent may be withdrawn; then coordination stops (arendal.kommune.no)."""
        bk.require_consent(self.consent_active and consent_id == self.consent_id, "WithdrawConsent")
        check_ref("withdrawn_by_ref", withdrawn_by_ref, "person")
        self._consent_withdrawn(ctx, consent_id, withdrawn_by_ref)

    @event("ConsentWithdrawn")
    def _consent_withdrawn(self, ctx: Context, consent_id: str, withdrawn_by_ref: str) -> None:
        self.consent_id = None

    def appoint_barnekoordinator(self, ctx: Context, *, coordinator_ref: str, unit_ref: str,
                                 family_wishes_considered: bool) -> None:
        """Appointment needs a granted decision and the family's consent, and weighs the family's wishes. After 18,
        an ordinary coordinator granted to a young person who has none (a refusal changed on complaint) is
        appointed the same way."""
        allowed = {N.GRANTED} | ({N.ADULT_COORDINATOR} if self.coordinator_ref is None else set())
        require_state("NO-SM", "AppointBarnekoordinator", self.status, allowed)
        if not self.consent_active:
            raise RuleViolation("NO-R4", "A barnekoordinator is assigned only after the family has consented.",
                                remedy="Record the family's consent first.")
        bk.require_family_wishes_considered(family_wishes_considered)
        check_ref("coordinator_ref", coordinator_ref, "person")
        check_ref("unit_ref", unit_ref, "org")
        self._barnekoordinator_appointed(ctx, coordinator_ref, unit_ref, family_wishes_considered)

    @event("BarnekoordinatorAppointed")
    def _barnekoordinator_appointed(self, ctx: Context, coordinator_ref: str, unit_ref: str,
                                    family_wishes_considered: bool) -> None:
        self.coordinator_ref = coordinator_ref
        if self.status is N.GRANTED:
            self.status = N.ACTIVE

    def _require_coordination(self, ctx: Context, command: str) -> None:
        bk.require_consent(self.consent_active, command)
        require_state("NO-SM", command, self.status, {N.ACTIVE, N.ADULT_COORDINATOR})
        if ctx.actor.person_ref != self.coordinator_ref:
            raise RuleViolation("NO-R6", f"Only the family's coordinator may {command}.",
                                remedy="Have the appointed coordinator issue it.")

    def issue_coordination_instruction(self, ctx: Context, *, target_service_org_ref: str,
                                       instruction_type: InstructionType, detail_doc_ref: str) -> None:
        """The coordinator decides what services exchange, which meetings they attend and when (seed 002)."""
        self._require_coordination(ctx, "IssueCoordinationInstruction")
        instruction_type = InstructionType(instruction_type)
        bk.require_permitted_instruction(instruction_type)
        check_ref("target_service_org_ref", target_service_org_ref, "org")
        check_ref("detail_doc_ref", detail_doc_ref, "doc")
        self._coordination_instruction_issued(ctx, target_service_org_ref, instruction_type, detail_doc_ref)

    @event("CoordinationInstructionIssued")
    def _coordination_instruction_issued(self, ctx: Context, target_service_org_ref: str,
                                         instruction_type: InstructionType, detail_doc_ref: str) -> None:
        pass

    def adopt_individual_plan(self, ctx: Context, *, plan_id: str, content: IndividualPlanContent) -> None:
        """The individual plan with the nine items of forskrift § 19; a coordinator can exist without one."""
        self._require_coordination(ctx, "AdoptIndividualPlan")
        bk.require_individual_plan_items(content)
        check_refs("participants", content.participants, "person")
        bounds.check_planned_all("content.revision_dates", content.revision_dates, ctx.day, "the plan's adoption")
        if content.plan_period_to is not None:
            bounds.check_planned("content.plan_period_to", content.plan_period_to, ctx.day, "the plan's adoption")
        if content.plan_period_from is not None:
            bounds.check_in_history("content.plan_period_from", content.plan_period_from, self.birth_date, ctx.day)
        self._individual_plan_adopted(ctx, plan_id, (self.plan_id is not None), content)

    @event("IndividualPlanAdopted")
    def _individual_plan_adopted(self, ctx: Context, plan_id: str, replaces_earlier: bool,
                                 content: IndividualPlanContent) -> None:
        self.plan_id = plan_id

    # ---- complaints: municipality first, then Statsforvalteren (pbrl ch. 7) -------------------------
    def receive_complaint(self, ctx: Context, *, complaint_id: str, received_by_ref: str, settings: LegalSettings,
                          decision_id: str | None = None, ground: ComplaintGround | None = None) -> None:
        """A complaint on one of the four grounds of seed 002, recorded against the decision it is about (by
        default the latest). One about a decision received after four weeks is still recorded (it may be heard
        under pbrl § 7-7 / fvl § 31) and marked late. The design card's 'complaint lodged' in Norway."""
        ground = None if ground is None else ComplaintGround(ground)
        latest = next(reversed(self.decisions), None)
        named = self.decisions.get(decision_id or latest or "", (None,))[0]
        if ground is ComplaintGround.NO_ORDINARY_COORDINATOR_AFTER_18 and (
                named is not Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED):
            self._require_after_18_decision_overdue(ctx, settings)
            bk.require_latest_grant_stands(decision_id or latest or "", latest)
            decision_id, within_deadline = latest, True
        else:
            decision_id = latest if decision_id is None else decision_id
            issued = self.decisions.get(decision_id or "")
            ground = bk.require_complainable(issued[0] if issued else None, ground)
            assert issued is not None and decision_id is not None
            if ground is ComplaintGround.RIGHT_NOT_FULFILLED:  # an ongoing failure: no four weeks to miss
                bk.require_latest_grant_stands(decision_id, latest)
            within_deadline = ground is ComplaintGround.RIGHT_NOT_FULFILLED or ctx.occurred_at <= issued[1]
        if complaint_id in self.complaints:
            raise RuleViolation("NO-R9", f"Complaint {complaint_id} is already received.",
                remedy="Use a new complaint_id for another complaint.")
        check_ref("received_by_ref", received_by_ref, "org")
        assert decision_id is not None
        self._complaint_received(ctx, complaint_id, decision_id, received_by_ref, within_deadline, ground)

    def _require_after_18_decision_overdue(self, ctx: Context, settings: LegalSettings) -> None:
        """NO-R9b: the young person had a barnekoordinator at 18 and the municipality has not decided on an
        ordinary coordinator within the configured days (computed from the birthday, not from when majority was
        recorded, so a late clock does not shorten the family's right)."""
        majority_on = self.majority_date(settings)
        awaiting = self.status is N.ORDINARY_COORDINATOR_ASSESSMENT or (
            self.status is N.ACTIVE and majority_on is not None and ctx.day >= majority_on)
        if not awaiting:
            raise RuleViolation(
                "NO-R9b", "No decision on an ordinary coordinator after 18 is awaited in this case.",
                remedy="Complain about the refusal after 18, or on another ground.")
        bk.after_18_decision_overdue(majority_on, ctx.day, settings)

    class ComplaintReceived(Aggregate.Event):
        """v2 carries the complaint's ``ground``; a v1 fact (stored before grounds were) is upcast with none."""

        class_version = 2
        ctx: Context
        complaint_id: str
        decision_id: str
        received_by_ref: str
        within_deadline: bool
        ground: ComplaintGround | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("ground", None)

    @event(ComplaintReceived)
    def _complaint_received(self, ctx: Context, complaint_id: str, decision_id: str, received_by_ref: str,
                            within_deadline: bool, ground: ComplaintGround | None = None) -> None:
        """``ground`` is None on a complaint recorded before grounds were (its decision's kind says it)."""
        self.complaints[complaint_id] = (decision_id, ComplaintStage.UNDER_RECONSIDERATION)

    def _require_complaint_stage(self, complaint_id: str, stage: ComplaintStage, rule_id: str, what: str) -> None:
        current = self.complaints.get(complaint_id)
        if current is None or current[1] is not stage:
            raise RuleViolation(rule_id, f"{what} needs complaint {complaint_id} to be {stage.value}.",
                                remedy="Follow the order: received, reconsidered, forwarded, decided.")

    def reconsider_complaint(self, ctx: Context, *, complaint_id: str, outcome: ReconsiderationOutcome,
                             reasons_doc_ref: str) -> None:
        """The municipality's unit reconsiders its own decision first (bodo.kommune.no)."""
        self._require_complaint_stage(complaint_id, ComplaintStage.UNDER_RECONSIDERATION, "NO-R10",
                                      "Reconsideration")
        check_ref("reasons_doc_ref", reasons_doc_ref, "doc")
        self._complaint_reconsidered(ctx, complaint_id, ReconsiderationOutcome(outcome), reasons_doc_ref)

    @event("ComplaintReconsidered")
    def _complaint_reconsidered(self, ctx: Context, complaint_id: str, outcome: ReconsiderationOutcome,
                                reasons_doc_ref: str) -> None:
        decision_id = self.complaints[complaint_id][0]
        if outcome is ReconsiderationOutcome.UPHELD:
            self.complaints[complaint_id] = (decision_id, ComplaintStage.DECISION_CHANGED)
            # only changing the decision that stands opens the way to a new one (not an earlier, superseded one)
            self.new_decision_allowed |= decision_id == next(reversed(self.decisions))
        else:
            self.complaints[complaint_id] = (decision_id, ComplaintStage.LODGED)

    def forward_complaint(self, ctx: Context, *, complaint_id: str) -> None:
        """A complaint the unit does not uphold goes on to Statsforvalteren."""
        stage = self.complaints.get(complaint_id, ("", None))[1]
        bk.require_forward_only_if_not_upheld(stage is ComplaintStage.DECISION_CHANGED)
        self._require_complaint_stage(complaint_id, ComplaintStage.LODGED, "NO-R11", "Forwarding")
        self._complaint_forwarded(ctx, complaint_id, bk.APPEAL_BODY)

    @event("ComplaintForwardedToStatsforvalteren")
    def _complaint_forwarded(self, ctx: Context, complaint_id: str, forwarded_to: str) -> None:
        self.complaints[complaint_id] = (self.complaints[complaint_id][0], ComplaintStage.FORWARDED)

    def record_statsforvalteren_decision(self, ctx: Context, *, complaint_id: str,
                                         outcome: StatsforvalterenOutcome, doc_ref: str) -> None:
        """Statsforvalteren's decision closes the complaint; a reversal lets the municipality decide anew."""
        self._require_complaint_stage(complaint_id, ComplaintStage.FORWARDED, "NO-R12",
                                      "Statsforvalteren's decision")
        check_ref("doc_ref", doc_ref, "doc")
        self._statsforvalteren_decision_recorded(ctx, complaint_id, StatsforvalterenOutcome(outcome), doc_ref)

    @event("StatsforvalterenDecisionRecorded")
    def _statsforvalteren_decision_recorded(self, ctx: Context, complaint_id: str,
                                            outcome: StatsforvalterenOutcome, doc_ref: str) -> None:
        self.complaints[complaint_id] = (self.complaints[complaint_id][0], ComplaintStage.DECIDED)
        if outcome is not StatsforvalterenOutcome.MUNICIPALITY_UPHELD:  # and the decision it reverses still stands
            self.new_decision_allowed |= self.complaints[complaint_id][0] == next(reversed(self.decisions))

    # ---- majority and close -------------------------------------------------------------------------
    def record_majority(self, ctx: Context, *, settings: LegalSettings) -> None:
        """At 18 the barnekoordinator right ends; an ordinary coordinator after 18 is assessed (seed 002)."""
        self._require_open("ChildReachedMajority")
        if self.birth_date is None or ctx.day < birthday(self.birth_date, settings.age_of_majority_years):
            raise RuleViolation("NO-R1", "The child has not reached majority on that date.",
                                remedy="Record majority on or after the 18th birthday.")
        if self.status is N.ORDINARY_COORDINATOR_ASSESSMENT or self.status is N.ADULT_COORDINATOR:
            raise RuleViolation("NO-SM", "Majority is already recorded for this case.",
                remedy="Nothing to do: the case already records majority.")
        self._record_clock_facts(ctx, clock.due(self, ctx.day, settings))
        self._child_reached_majority(ctx, ctx.day, self.plan_id is not None)

    @property
    def after_18_decision_overdue(self) -> bool:
        """T9-18: the clock recorded that no decision on an ordinary coordinator came within
        ``LegalSettings.no_ordinary_coordinator_decision_days`` of the 18th birthday, and none has come since (seed 002
        complaint ground 'not appointed ordinary coordinator after the age of 18')."""
        return self.status is N.ORDINARY_COORDINATOR_ASSESSMENT and self.deadline_breached("T9-18")

    def _on_majority(self, on: date) -> None:
        if self.status is N.ACTIVE:
            self.status = N.ORDINARY_COORDINATOR_ASSESSMENT
        else:
            self.status, self.closed_on = N.ENDED, on

    def close_case(self, ctx: Context, *, closure_reason: str) -> None:
        """The case ends when no coordination is running."""
        self._require_open("CloseCase")
        if self.status is N.ACTIVE:
            raise RuleViolation("NO-SM", "The barnekoordinator is still active.",
                                remedy="Issue a termination decision first.")
        self._case_closed(ctx, closure_reason)

    def _on_closed(self) -> None:
        self.status = N.CLOSED
