"""Norway: the right to a barnekoordinator (children's coordinator), pasient- og brukerrettighetsloven
(pbrl) § 2-5 c and the municipality's duty under helse- og omsorgstjenesteloven (hol) § 7-2 a, with the
complaint route of pbrl chapter 7 and the individual plan of forskrift om habilitering og rehabilitering,
individuell plan og koordinator § 19.

Rule ids are ``NO-G0`` (no coordination without consent) and ``NO-R<n>`` for the guards of domain.md §2.4.
Sources: seed 002 (Løvemammaene), helsedirektoratet.no pårørendeveileder and rundskriv § 7-5, bodo.kommune.no.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta

from domain.errors import RuleViolation
from domain.legal_settings import LegalSettings
from domain.rules import birthday
from domain.values import (
    ComplaintGround,
    Decision,
    EligibilityCriteria,
    FamilyStatus,
    FollowUpPurpose,
    IndividualPlanContent,
    InstructionType,
)

APPEAL_BODY = "Statsforvalteren"
LEGAL_BASIS = "pbrl § 2-5 c; hol § 7-2 a"
COMPLAINT_LEGAL_BASIS = "pbrl § 7-5"

FORBIDDEN_INSTRUCTIONS = frozenset({InstructionType.SERVICE_CONTENT, InstructionType.SERVICE_METHOD})
"""Seed 002: the coordinator cannot instruct welfare services about which services they provide, or how."""

COMPLAINABLE_DECISIONS = frozenset({
    Decision.REFUSED, Decision.CHANGED, Decision.TERMINATED, Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED,
})
"""Decisions a complaint naming no ground may be about: refusal, change or termination, refusal after 18. The
other grounds (failure to fulfil the right, no decision after 18) are named (``ComplaintGround``) and recorded
against the latest decision."""


def require_family_status(family_status: FamilyStatus, birth_date: date | None, on: date,
                          settings: LegalSettings) -> None:
    """NO-R1. The right belongs to a family with a child under 18, or expecting one by pregnancy or
    adoption (seed 002)."""
    if family_status is FamilyStatus.CHILD_UNDER_18:
        if birth_date is None:
            raise RuleViolation("NO-R1", "A request for a child needs the child's birth date.",
                                remedy="Give the child's birth date.")
        if on >= birthday(birth_date, settings.age_of_majority_years):
            raise RuleViolation(
                "NO-R1",
                "The barnekoordinator right is for families with a child under 18.",
                remedy="Assess the right to an ordinary coordinator (pbrl § 2-5) instead.",
            )


def require_no_diagnosis_condition(diagnosis_required: bool) -> None:
    """NO-R2. It is not a condition that the child has a diagnosis (seed 002)."""
    if diagnosis_required:
        raise RuleViolation(
            "NO-R2",
            "The assessment may not require a diagnosis.",
            remedy="Assess seriousness and need for coordinated services without a diagnosis requirement.",
        )


def require_views_recorded(family_views_doc_ref: str | None, child_views_doc_ref: str | None,
                           child_born: bool) -> None:
    """NO-R2b. The child, the young person and the family must be allowed to express their needs, wishes
    and views when their right is assessed (seed 002; best interests of the child)."""
    if not family_views_doc_ref or (child_born and not child_views_doc_ref):
        raise RuleViolation(
            "NO-R2b",
            "The assessment must record the family's views and, once the child is born, the child's views.",
            remedy="Attach the documents recording the family's and the child's views.",
        )


def require_written_decision(written: bool, justification_doc_ref: str | None, appeal_info_included: bool) -> None:
    """NO-R3. The decision is not an enkeltvedtak, but it must be written, give reasons and tell of the right
    to complain (seed 002; bodo.kommune.no)."""
    if not (written and justification_doc_ref and appeal_info_included):
        raise RuleViolation(
            "NO-R3",
            "A barnekoordinator decision must be written, with reasons and information on the right to complain.",
            remedy="Issue the decision in writing with its justification and the appeal information.",
        )


def complaint_deadline(delivered_at: datetime, settings: LegalSettings) -> datetime:
    """T8 [V pbrl § 7-5]: four weeks from when the family got (or should have got) the decision."""
    return delivered_at + timedelta(weeks=settings.no_complaint_deadline_weeks)


def require_decision_allowed(decision: Decision, criteria: EligibilityCriteria | None) -> None:
    """NO-R3b. A grant rests on an assessment that found all three conditions of pbrl § 2-5 c met."""
    if decision is Decision.GRANTED and (criteria is None or not criteria.all_met):
        raise RuleViolation(
            "NO-R3b",
            "A barnekoordinator can be granted only when the assessment found every condition met.",
            remedy="Reassess the conditions, or refuse with reasons and appeal information.",
        )


def require_consent(consent_active: bool, what: str) -> None:
    """NO-G0. The coordinator works within confidentiality and informed consent (seed 002); consent must be
    given before assignment, and coordination stops when it is withdrawn (pårørendeveileder; arendal)."""
    if not consent_active:
        raise RuleViolation(
            "NO-G0",
            f"{what} needs the consent of the parents or whoever consents for the child.",
            remedy="Record the family's consent first.",
        )


def require_family_wishes_considered(considered: bool) -> None:
    """NO-R5. The family's wishes are weighed when the coordinator is chosen (rana.kommune.no)."""
    if not considered:
        raise RuleViolation("NO-R5", "The family's wishes must be considered when choosing the coordinator.",
                            remedy="Record that the family's wishes were considered.")


def require_permitted_instruction(instruction_type: InstructionType) -> None:
    """NO-R6. A barnekoordinator may decide what services exchange, which meetings they attend and when they
    deliver; never which services they provide or how (seed 002)."""
    if instruction_type in FORBIDDEN_INSTRUCTIONS:
        raise RuleViolation(
            "NO-R6",
            "A barnekoordinator may not instruct a service about which services it provides or how.",
            remedy="Instruct only on information exchange, meeting attendance or timing.",
        )


def require_individual_plan_items(content: IndividualPlanContent) -> None:
    """NO-R7. An individual plan holds the nine items of forskrift § 19, including the recipient's consent to
    the plan and to sharing confidential information with its participants (item 8)."""
    if not (content.recipient_consent_to_plan and content.recipient_consent_to_sharing):
        raise RuleViolation(
            "NO-R7",
            "The individual plan needs the recipient's consent to the plan and to sharing information (§ 19 no. 8).",
            remedy="Record the consent to the plan and to sharing before adopting it.",
        )
    items = {
        "1 goals, resources and needs": content.goals_resources_and_needs_ref,
        "2 participants": content.participants,
        "3 responsible for coordination": content.responsible_for_coordination_ref,
        "4 contributions": content.contributions_ref,
        "5 measures": content.measures_ref,
        "6 how measures are carried out": content.implementation_ref,
        "7 plan period and revisions": content.plan_period_from and content.plan_period_to and content.revision_dates,
        "9 cooperation with other services": content.cooperation_with_other_services_ref,
    }
    missing = [name for name, value in items.items() if not value]
    if missing:
        raise RuleViolation(
            "NO-R7",
            f"The individual plan lacks § 19 item(s): {'; '.join(missing)}.",
            remedy="Complete every item of forskrift § 19 before adopting the plan.",
        )


GROUND_DECISIONS: dict[ComplaintGround, frozenset[Decision]] = {
    ComplaintGround.REFUSAL: frozenset({Decision.REFUSED}),
    ComplaintGround.CHANGE_OR_TERMINATION: frozenset({Decision.CHANGED, Decision.TERMINATED}),
    ComplaintGround.RIGHT_NOT_FULFILLED: frozenset({
        Decision.GRANTED, Decision.CHANGED, Decision.ORDINARY_COORDINATOR_AFTER_18_GRANTED}),
    ComplaintGround.NO_ORDINARY_COORDINATOR_AFTER_18: frozenset({Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED}),
}
"""The decisions each ground of seed 002 is about. Failure to fulfil the right is complained about while a grant
stands (the latest decision); a change is both a decision one may complain about and a grant of a new coordinator
[I]; an ordinary coordinator after 18 granted is a right that can go unfulfilled too [I]."""
GROUND_OF_DECISION: dict[Decision, ComplaintGround] = {
    Decision.REFUSED: ComplaintGround.REFUSAL,
    Decision.CHANGED: ComplaintGround.CHANGE_OR_TERMINATION,
    Decision.TERMINATED: ComplaintGround.CHANGE_OR_TERMINATION,
    Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED: ComplaintGround.NO_ORDINARY_COORDINATOR_AFTER_18,
}
"""The ground a complaint naming no ground has: the one its decision allows (how v1 complaints were read)."""


def require_complainable(decision: Decision | None, ground: ComplaintGround | None = None) -> ComplaintGround:
    """NO-R9. A complaint concerns a decision the family may complain about on the ground it gives (seed 002);
    without a ground, the decision's own (a grant needs the ground named: only its failure is complainable)."""
    if decision is None:
        raise RuleViolation("NO-R9", "The complaint names no decision issued in this case.",
                            remedy="Name the decision the complaint is about.")
    if ground is None:
        if decision not in GROUND_OF_DECISION:
            raise RuleViolation(
                "NO-R9",
                f"A '{decision.value}' decision gives the family nothing to complain about but its failure.",
                remedy="Complain about a refusal, change, termination or refusal after 18, or give the ground "
                       "'right_not_fulfilled'.")
        return GROUND_OF_DECISION[decision]
    if decision not in GROUND_DECISIONS[ground]:
        allowed = ", ".join(sorted(d.value for d in GROUND_DECISIONS[ground]))
        raise RuleViolation(
            "NO-R9",
            f"A complaint on the ground '{ground.value}' is not about a '{decision.value}' decision.",
            remedy=f"That ground concerns a decision that is one of: {allowed}.")
    return ground


def require_latest_grant_stands(decision_id: str, latest_id: str | None) -> None:
    """NO-R9. Failure to fulfil the right is complained about while the grant stands: the latest decision."""
    if decision_id != latest_id:
        raise RuleViolation("NO-R9", f"Decision {decision_id} no longer stands; a later decision replaced it.",
                            remedy="Complain about the decision that stands now.")


def after_18_decision_overdue(majority_on: date | None, on: date, settings: LegalSettings) -> None:
    """NO-R9b. "No ordinary coordinator after 18" without a decision: complainable once the municipality has not
    decided within ``LegalSettings.no_ordinary_coordinator_decision_days`` of the 18th birthday (N unknown)."""
    days = settings.no_ordinary_coordinator_decision_days
    if days is None:
        raise RuleViolation(
            "NO-R9b", "No deadline for the decision on an ordinary coordinator after 18 is configured.",
            remedy="Complain about a refusal, or set LegalSettings.no_ordinary_coordinator_decision_days.")
    if majority_on is None or on < majority_on + timedelta(days=days):
        due = "the 18th birthday" if majority_on is None else (majority_on + timedelta(days=days)).isoformat()
        raise RuleViolation(
            "NO-R9b",
            f"The municipality still has time to decide on an ordinary coordinator after 18 (until {due}).",
            remedy=f"Complain once {days} days have passed since the 18th birthday without a decision.")


def require_forward_only_if_not_upheld(upheld: bool) -> None:
    """NO-R11. The unit reconsiders first; only a complaint it does not uphold goes to Statsforvalteren
    (bodo.kommune.no)."""
    if upheld:
        raise RuleViolation(
            "NO-R11",
            "A complaint the municipality upheld is not forwarded to Statsforvalteren.",
            remedy="Change the decision as the reconsideration found.",
        )


# ---- the coordinator's duties after the decision (seed 002) ---------------------------------------------------
FORBIDDEN_FOLLOW_UPS = frozenset({FollowUpPurpose.SERVICE_CONTENT, FollowUpPurpose.SERVICE_METHOD})


def require_family(field_name: str, refs: tuple[str, ...], family: tuple[str, ...]) -> None:
    """NO-R15. Information and guidance are given to, and views heard from, the child, the young person and the
    family (seed 002: 'the family and the child receive the necessary information'; 'allowed to express their
    needs, wishes and views ... when working with their child coordinator')."""
    strangers = [ref for ref in refs if ref not in family]
    if not refs or strangers:
        raise RuleViolation(
            "NO-R15",
            f"{field_name} must name the child or the family of this case"
            + (f"; {', '.join(strangers)} is not." if strangers else "."),
            remedy="Name the parents or the child the coordinator worked with.")


def require_permitted_follow_up(purpose: FollowUpPurpose) -> None:
    """NO-R16. Following up a service on the family's behalf asks whether it has assessed enough, how a case is
    progressing or what documentation it needs; it never tells the service which services to give, or how
    (seed 002, as NO-R6 for instructions)."""
    if purpose in FORBIDDEN_FOLLOW_UPS:
        raise RuleViolation(
            "NO-R16",
            "A barnekoordinator may not tell a service which services it provides or how, not even in a follow-up.",
            remedy="Ask whether the service has assessed enough, how the case is progressing or what it needs.")


def require_separate_specialist_coordinator(specialist_coordinator_ref: str, barnekoordinator_ref: str | None,
                                            linked: Collection[str]) -> None:
    """NO-R17. A family may have a coordinator in the specialist health service as well as the municipality's
    (seed 002): a second person, from the specialist service, linked once; never a replacement for the
    barnekoordinator (the specialist health service is not obliged to offer one)."""
    if specialist_coordinator_ref == barnekoordinator_ref:
        raise RuleViolation(
            "NO-R17", "The specialist health service's coordinator is another person than the barnekoordinator.",
            remedy="Link the coordinator the hospital or health trust appointed.")
    if specialist_coordinator_ref in linked:
        raise RuleViolation("NO-R17", f"{specialist_coordinator_ref} is already linked to this case.",
            remedy="Nothing to do: the specialist coordinator is already linked.")
