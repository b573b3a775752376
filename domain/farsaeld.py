"""Iceland: Act No. 86/2021 on the Integration of Services in the Interest of Children's Prosperity
(*lög um samþættingu þjónustu í þágu farsældar barna*).

One function per rule, each with the stable id that errors and audit reports cite. Ids follow
domain.md: ``IS-G0`` (no processing without a basis), ``IS-INV-1..7`` (its invariants) and ``IS-R<n>``
(guard of row n of the command table in §2.3). Sources: seed 000 (BOFS, case managers), seed 001
(island.is, integration), seed 003 (coordinators by life stage), gev.is (complaints).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from domain.errors import RuleViolation
from domain.legal_settings import LegalSettings
from domain.rules import birthday
from domain.values import (
    ComplainantCapacity,
    FamilyMember,
    InstitutionType,
    LifeStage,
    MemberType,
    PlanElement,
    Role,
    SupportPlanContent,
    TeamMember,
    TeamOutcome,
)

SUPERVISORY_BODY = "GEV"
"""Gæða- og eftirlitsstofnun velferðarmála, the Quality and Supervisory Authority of Welfare (seed 000)."""

COORDINATOR_INSTITUTION: dict[LifeStage, InstitutionType] = {
    LifeStage.PREGNANCY: InstitutionType.HEALTH_CENTRE,
    LifeStage.INFANT: InstitutionType.HEALTH_CENTRE,
    LifeStage.PRESCHOOL: InstitutionType.PRESCHOOL,
    LifeStage.PRIMARY: InstitutionType.PRIMARY_SCHOOL,
    LifeStage.SECONDARY: InstitutionType.SECONDARY_SCHOOL,
    LifeStage.SOCIAL_SERVICES: InstitutionType.SOCIAL_SERVICES,
}
"""Seed 003: health centre from pregnancy until preschool or school; then the child's school; otherwise the
social services of the municipality of legal domicile."""

PLAN_ELEMENTS = tuple(element.value for element in PlanElement)
"""The support plan's five elements, in the order of seed 000 (one source: :class:`domain.values.PlanElement`)."""


def require_basis(has_active_request: bool, command: str) -> None:
    """IS-G0. No processing of the child's case without an active written request for integration
    (farsaeldbarna.is privacy page; litlakms.is form)."""
    if not has_active_request:
        raise RuleViolation(
            "IS-G0",
            f"{command} needs an active request for integration of services; there is none.",
            remedy="Record the parents' and/or child's written request for integration first.",
        )


def require_coordinator_for_life_stage(
    life_stage: LifeStage, institution_type: InstitutionType, designated: bool
) -> None:
    """IS-R1 / IS-R8. The coordinator works at the institution serving the child's life stage and is one of
    the coordinators that institution has designated (seed 003; island.is/s/bofs/tengilidir-farsaeldar)."""
    expected = COORDINATOR_INSTITUTION[life_stage]
    if institution_type is not expected:
        raise RuleViolation(
            "IS-R1",
            f"A child at life stage '{life_stage.value}' is served by a coordinator of a {expected.value},"
            f" not of a {institution_type.value}.",
            remedy=f"Assign a coordinator designated by the child's {expected.value}.",
        )
    if not designated:
        raise RuleViolation(
            "IS-R1",
            "The person is not a designated coordinator of that institution.",
            remedy="Designate the person as coordinator in the coordinator directory, or choose one who is.",
        )


def require_no_conflict_of_interest(declared_none: bool) -> None:
    """IS-INV-5. The coordinator must not be connected to the child or parents in a way that would make
    them disqualified (*vanhæfi*) (island.is/s/bofs/tengilidir-farsaeldar)."""
    if not declared_none:
        raise RuleViolation(
            "IS-INV-5",
            "A coordinator may be assigned only after declaring no conflict of interest with the family.",
            remedy="Have the coordinator declare no conflict of interest, or assign another coordinator.",
        )


def require_one_source_one_target(source_org_refs: Collection[str], target_refs: Collection[str]) -> None:
    """IS-R3. An information-sharing request authorises exactly one named provider to send to exactly one
    named coordinator or case manager, nothing more (farsaeldbarna.is/is/midlun-upplysinga)."""
    if len(source_org_refs) != 1 or len(target_refs) != 1:
        raise RuleViolation(
            "IS-R3",
            "An information-sharing request names exactly one source provider and one recipient.",
            remedy="Sign one request per provider and recipient pair.",
        )


def require_sharing_authorised(authorised: bool) -> None:
    """IS-INV-4. Information may be shared only for the exact provider → recipient pair named in an active
    information-sharing request (farsaeldbarna.is/is/midlun-upplysinga)."""
    if not authorised:
        raise RuleViolation(
            "IS-INV-4",
            "No active information-sharing request authorises this provider to send to this recipient.",
            remedy="Have the parents sign an information-sharing request naming this provider and recipient.",
        )


def require_contact_only_with_family(offered_to: Collection[FamilyMember], contacts: Collection[str],
                                     family_refs: Collection[str]) -> None:
    """IS-R5. Once the coordinator has received shared information, it may contact no one but the parents
    and/or the child (seed 001)."""
    outsiders = [ref for ref in contacts if ref not in family_refs]
    if not offered_to or outsiders:
        raise RuleViolation(
            "IS-R5",
            "After receiving shared information the coordinator may contact only the parents and/or the child.",
            remedy="Record contact with the child's parents or the child only.",
        )


def require_written_request(written: bool) -> None:
    """IS-R6. The request for integration of services is a formal, written request (seed 000)."""
    if not written:
        raise RuleViolation(
            "IS-R6",
            "A request for integration of services must be written.",
            remedy="Have the parents and/or child sign the written request form.",
        )


def require_requester_may_request_alone(requester_roles: Collection[FamilyMember], settings: LegalSettings) -> None:
    """IS-R6b. The age or maturity at which a child may request integration without the parents is unknown
    (domain.md §1.2), so a child-only request is blocked unless the municipality's settings allow it."""
    if not requester_roles:
        raise RuleViolation("IS-R6", "A request for integration needs at least one requester.",
                            remedy="Name the parents and/or the child who request.")
    if FamilyMember.PARENT not in requester_roles and not settings.child_may_request_integration_alone:
        raise RuleViolation(
            "IS-R6b",
            "A request by the child alone is blocked until the age rule has had legal review.",
            remedy="Have a parent join the request, or enable child-only requests in the legal settings.",
        )


def require_coordinator_actor(actor_role: Role, actor_ref: str, coordinator_ref: str | None) -> None:
    """IS-R12. It is the coordinator who tells the municipality that a case manager is needed (seed 003)."""
    if actor_role is not Role.COORDINATOR or actor_ref != coordinator_ref:
        raise RuleViolation(
            "IS-R12",
            "Only the child's coordinator notifies the municipality of the need for a case manager.",
            remedy="Have the assigned coordinator send the notification.",
        )


def require_domicile_municipality(municipality_ref: str, domicile_ref: str) -> None:
    """IS-R13. The case manager is appointed by the municipality where the child has legal domicile (seed 000)."""
    if municipality_ref != domicile_ref:
        raise RuleViolation(
            "IS-R13",
            "The case manager must be appointed by the municipality of the child's legal domicile.",
            remedy=f"Have {domicile_ref} appoint the case manager.",
        )


def require_case_manager_eligibility(request_present: bool, needs_l2_l3_multilevel: bool, long_term: bool) -> None:
    """IS-INV-2. A case manager is appointed only when integration was requested and the child needs
    multi-level services at the second and/or third level for a long period (seed 000)."""
    if not (request_present and needs_l2_l3_multilevel and long_term):
        raise RuleViolation(
            "IS-INV-2",
            "A case manager is appointed only for a child needing multi-level level 2/3 services long term.",
            remedy="Keep the case with the coordinator at the first level, or record the assessed need.",
        )


def require_case_manager_area(works_in_social_services_or_area_of_needs: bool) -> None:
    """IS-R13d. The case manager works in the municipality's social services or in the areas where the
    child's needs lie, and knows prosperity services (seed 000)."""
    if not works_in_social_services_or_area_of_needs:
        raise RuleViolation(
            "IS-R13d",
            "The case manager must work in social services or in an area where the child's needs lie.",
            remedy="Appoint an employee of social services or of the service area concerned.",
        )


def require_case_manager_actor(actor_role: Role, actor_ref: str, case_manager_ref: str | None, what: str) -> None:
    """IS-R14. The case manager establishes and leads the support team and is responsible for the support
    plan (seed 000)."""
    if actor_role is not Role.CASE_MANAGER or actor_ref != case_manager_ref:
        raise RuleViolation(
            "IS-R14",
            f"Only the case manager of this case may {what}.",
            remedy="Have the appointed case manager issue the command.",
        )


def require_team_after_request(has_active_request: bool) -> None:
    """IS-INV-1. No support team before the request for integration, nor after its withdrawal (seed 000)."""
    if not has_active_request:
        raise RuleViolation(
            "IS-INV-1",
            "A support team may only be established while a request for integration is active.",
            remedy="Record the family's written request for integration first.",
        )


def require_service_provider_on_team(members: Collection[TeamMember]) -> None:
    """IS-R14c. The support team consists of representatives of the providers serving the child (seed 000)."""
    if not any(m.member_type is MemberType.SERVICE_PROVIDER_REP for m in members):
        raise RuleViolation(
            "IS-R14c",
            "A support team needs at least one representative of a service provider.",
            remedy="Add the representatives of the providers who serve the child.",
        )


def require_necessity_justification(justification_ref: str | None) -> None:
    """IS-R15. General-service providers join the team only by invitation 'if necessary' (seed 000)."""
    if not justification_ref:
        raise RuleViolation(
            "IS-R15",
            "Inviting a general-service provider needs a justification of why it is necessary.",
            remedy="Attach the necessity justification document.",
        )


def require_parent_not_removed(member_type: MemberType) -> None:
    """IS-R16. Parents are members of the support team (seed 000); they cannot be removed from it."""
    if member_type is MemberType.PARENT:
        raise RuleViolation(
            "IS-R16",
            "Parents are members of the support team and cannot be removed.",
            remedy="Record the parents' absence at meetings instead.",
        )


def require_family_invited(invited: Collection[str], parent_refs: Collection[str],
                           child_ref: str, child_participates: bool) -> None:
    """IS-R17. Parents (and, where applicable, the child) attend the team's meetings (seed 000), so they must
    have been invited to each meeting."""
    missing = [p for p in parent_refs if p not in invited]
    if child_participates and child_ref not in invited:
        missing.append(child_ref)
    if missing:
        raise RuleViolation(
            "IS-R17",
            "The parents (and the child where applicable) were not invited to this meeting.",
            remedy="Send the meeting invitation to the parents and the child, then record the meeting.",
        )


def require_five_elements(content: SupportPlanContent) -> None:
    """IS-R19. A written support plan holds, where appropriate: a needs assessment, objectives, each
    provider's role, how progress is evaluated, and its duration (seed 000). An element left out must
    give its reason (``not_applicable``)."""
    present = {
        "needs_assessment": bool(content.needs_assessment_ref),
        "objectives": bool(content.objectives),
        "provider_roles": bool(content.provider_roles),
        "evaluation_method": bool(content.evaluation_method),
        "duration": content.valid_from is not None and content.valid_to is not None,
    }
    missing = [name for name in PLAN_ELEMENTS if not present[name] and not content.not_applicable.get(name)]
    if missing:
        raise RuleViolation(
            "IS-R19",
            f"The support plan lacks {', '.join(missing)} without a reason why it does not apply.",
            remedy="Add each element, or give a not-applicable reason for it.",
        )
    unknown = set(content.not_applicable) - set(PLAN_ELEMENTS)
    if unknown:
        raise RuleViolation("IS-R19", f"Unknown plan elements: {', '.join(sorted(unknown))}.",
                            remedy=f"Use the elements {', '.join(PLAN_ELEMENTS)}.")
    if content.valid_from and content.valid_to and content.valid_to <= content.valid_from:
        raise RuleViolation("IS-R19", "The plan's duration must end after it starts.",
                            remedy="Give a valid_to date after valid_from.")


def require_team_exists(team_active: bool, what: str) -> None:
    """IS-R19c. The support team draws up the plan (seed 000): no team, no plan."""
    if not team_active:
        raise RuleViolation(
            "IS-R19c",
            f"{what} needs an active support team.",
            remedy="Establish the support team first.",
        )


def require_single_active_plan(current_version: int | None) -> None:
    """IS-INV-3. At most one active support plan version per case; adopted versions are immutable."""
    if current_version is not None:
        raise RuleViolation(
            "IS-INV-3",
            f"The case already has an active support plan (version {current_version}).",
            remedy="Revise the plan to create a new version instead of adopting another.",
        )


def require_supersedes_current(supersedes: int, current_version: int | None) -> None:
    """IS-INV-3. A revision supersedes the current version; an adopted version itself never changes."""
    if current_version is None or supersedes != current_version:
        raise RuleViolation(
            "IS-INV-3",
            f"The revision must supersede the current plan version ({current_version}), not {supersedes}.",
            remedy="Reload the case and revise its current plan version.",
        )


def require_active_plan(current_version: int | None, what: str) -> None:
    """IS-R20. Only an adopted plan can be evaluated or revised (seed 000: 're-evaluated and renewed')."""
    if current_version is None:
        raise RuleViolation("IS-R20", f"{what} needs an adopted support plan.",
                            remedy="Adopt the support plan first.")


def require_before_majority(birth_date: date, on: date, settings: LegalSettings) -> None:
    """IS-INV-7. Before the child reaches 18 the support team draws up a plan for services after adulthood
    (seed 000): the adult transition plan must be adopted before the 18th birthday."""
    if on >= birthday(birth_date, settings.age_of_majority_years):
        raise RuleViolation(
            "IS-INV-7",
            "The adult transition plan must be adopted before the young person's 18th birthday.",
            remedy="Adopt it before the birthday; after it, record the age-out instead.",
        )


def require_closure_justification(outcome: TeamOutcome, justification_ref: str | None) -> None:
    """IS-INV-6. A support team that ends without a plan must give a written justification, which goes with
    the notice to the parents and the case manager (seed 000)."""
    if outcome is TeamOutcome.CONCLUDED_WITHOUT_PLAN and not justification_ref:
        raise RuleViolation(
            "IS-INV-6",
            "A support team may end without a plan only with a written justification.",
            remedy="Attach the justification document and conclude again.",
        )


def require_transition_plan_at_age_out(has_transition_plan: bool, override_reason: str | None,
                                       settings: LegalSettings) -> None:
    """IS-R23. A case-manager-led team that ends because the child turns 18 should already have an adult
    transition plan (INV-7); concluding without one needs an override reason, where settings allow it."""
    if has_transition_plan:
        return
    if override_reason and settings.age_out_override_allowed:
        return
    raise RuleViolation(
        "IS-R23",
        "The team cannot conclude at age-out without an adult transition plan.",
        remedy="Adopt the adult transition plan, or give an override reason where allowed.",
    )


def require_conclusion_notice(recipients: Collection[str], parent_refs: Collection[str],
                              case_manager_ref: str | None, justification_ref: str | None) -> None:
    """IS-R24 (INV-6). The notice of a conclusion without a plan goes to the parents and the case manager,
    carries the justification and tells how to complain to GEV (seed 000)."""
    required = [*parent_refs, *([case_manager_ref] if case_manager_ref else [])]
    if any(r not in recipients for r in required) or not justification_ref:
        raise RuleViolation(
            "IS-R24",
            "The conclusion notice must reach the parents and the case manager with the justification.",
            remedy="Send the notice to every parent and the case manager, with the justification attached.",
        )


def require_complainant_capacity(capacity: ComplainantCapacity) -> None:
    """IS-R25. GEV accepts complaints only from the service user or someone acting for them by mandate or
    by law; anyone else may send a tip (*ábending*) (gev.is/eftirlitsverkefni/kvartanir…)."""
    if capacity is ComplainantCapacity.OTHER:
        raise RuleViolation(
            "IS-R25",
            "GEV accepts a complaint only from the service user or their representative.",
            remedy="Record it as a tip to GEV, or have the user or their representative complain.",
        )


def require_complaint_about_closure(closed_without_plan: bool) -> None:
    """IS-R25b. A complaint about the team concluding without a plan presupposes such a conclusion (seed 000)."""
    if not closed_without_plan:
        raise RuleViolation(
            "IS-R25b",
            "There is no conclusion without a plan in this case to complain about.",
            remedy="Choose the subject that matches the complaint (service quality or other).",
        )


def require_override_before_majority(majority_on: date | None) -> None:
    """IS-R23b. The age-out override (IS-R23) stands in for a transition plan the team could still adopt; once
    the clock has recorded majority (row 28, T6) the child is an adult and the override can no longer be used:
    the missing plan stays on the record as T5's breach (domain.md §5 question 6)."""
    if majority_on is not None:
        raise RuleViolation(
            "IS-R23b",
            f"Majority was recorded on {majority_on.isoformat()}; the age-out override can no longer be used.",
            remedy="The episode ended at majority; the missing transition plan is on the record as T5's breach.",
        )


def require_reached_majority(birth_date: date, on: date, settings: LegalSettings) -> None:
    """IS-R28. The Act's child is under 18 (bill Art. 2(2)); the episode closes on the 18th birthday."""
    if on < birthday(birth_date, settings.age_of_majority_years):
        raise RuleViolation("IS-R28", "The child has not reached majority on that date.",
                            remedy="Record majority on or after the 18th birthday.")


def require_no_open_team(team_active: bool) -> None:
    """IS-R29. A case is closed only once its support team has concluded (domain.md §2.3 row 29)."""
    if team_active:
        raise RuleViolation("IS-R29", "The case still has an active support team.",
                            remedy="Conclude the support team first.")
