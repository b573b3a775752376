"""The records inside commands (a team member, a support plan, an individual plan …), as the API receives them.

Each is a pydantic model mirroring a domain record of :mod:`domain.values`, so what a caller sends inside a body is
bounded like every other field: references and codes in the PRIV-1 grammar (:mod:`contracts.refs`), dates strict
and within DATE-1 (:mod:`contracts.bounds`), lists of a bounded size. ``to_domain()`` gives the domain record the
command method takes. A domain record may be given where one of these is expected (``from_attributes``): the
walkthrough, the demo and the tests build commands from the domain's own values, and they are checked the same way.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from contracts.bounds import CalendarDate
from contracts.refs import Code, DocRef, OrgRef, PersonRef
from domain.values import (
    AdultServiceHandover,
    EligibilityCriteria,
    IndividualPlanContent,
    MemberType,
    PlanElement,
    ProviderRole,
    SupportPlanContent,
    TeamMember,
)

MAX_ITEMS = 50
"""The most entries any list in a command holds (members, objectives, dates …): far above any real plan or team."""


_AT_MOST = Field(max_length=MAX_ITEMS)


def _distinct(refs: tuple[str, ...]) -> tuple[str, ...]:
    """A list of references names each once: a parent or a signatory twice is a mistake, stored for good."""
    twice = sorted({ref for ref in refs if refs.count(ref) > 1})
    if twice:
        raise ValueError(f"LIST-1: must not name a reference twice ({', '.join(twice)})")
    return refs


_DISTINCT = AfterValidator(_distinct)
PersonRefs = Annotated[tuple[PersonRef, ...], _AT_MOST, _DISTINCT]
OrgRefs = Annotated[tuple[OrgRef, ...], _AT_MOST, _DISTINCT]
DocRefs = Annotated[tuple[DocRef, ...], _AT_MOST, _DISTINCT]
Codes = Annotated[tuple[Code, ...], _AT_MOST, _DISTINCT]
Dates = Annotated[tuple[CalendarDate, ...], _AT_MOST]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, from_attributes=True)


class TeamMemberIn(_Record):
    person_ref: PersonRef
    org_ref: OrgRef | None
    member_type: MemberType

    def to_domain(self) -> TeamMember:
        return TeamMember(self.person_ref, self.org_ref, self.member_type)


class ProviderRoleIn(_Record):
    org_ref: OrgRef
    role_doc_ref: DocRef

    def to_domain(self) -> ProviderRole:
        return ProviderRole(self.org_ref, self.role_doc_ref)


class SupportPlanContentIn(_Record):
    """The five elements of an Icelandic support plan (seed 000); each present, or absent with a reason code."""

    needs_assessment_ref: DocRef | None
    objectives: DocRefs
    provider_roles: Annotated[tuple[ProviderRoleIn, ...], _AT_MOST]
    evaluation_method: Code | None
    valid_from: CalendarDate | None
    valid_to: CalendarDate | None
    review_dates: Dates = ()
    participants: PersonRefs = ()
    parents_participated: StrictBool = False
    child_participated: StrictBool = False
    not_applicable: Annotated[dict[PlanElement, Code], Field(max_length=5)] = Field(
        default_factory=dict, description="Plan element → the reason code why it is absent. The elements: "
        + ", ".join(e.value for e in PlanElement) + " (duration is valid_from and valid_to together).")
    """Plan element (one of :class:`~domain.values.PlanElement`, the one list of them) → the reason code why it is
    absent; the OpenAPI document lists the allowed keys (``propertyNames``)."""

    def to_domain(self) -> SupportPlanContent:
        return SupportPlanContent(
            needs_assessment_ref=self.needs_assessment_ref, objectives=tuple(self.objectives),
            provider_roles=tuple(role.to_domain() for role in self.provider_roles),
            evaluation_method=self.evaluation_method, valid_from=self.valid_from, valid_to=self.valid_to,
            review_dates=tuple(self.review_dates), participants=tuple(self.participants),
            parents_participated=self.parents_participated, child_participated=self.child_participated,
            not_applicable={element.value: reason for element, reason in self.not_applicable.items()})


class AdultServiceHandoverIn(_Record):
    org_ref: OrgRef
    contact_role: Code
    """A role code (``case_worker``), never a name."""

    def to_domain(self) -> AdultServiceHandover:
        return AdultServiceHandover(self.org_ref, self.contact_role)


class EligibilityCriteriaIn(_Record):
    under_18_or_expecting: StrictBool
    serious_illness_injury_or_functional_variation: StrictBool
    long_term_complex_needs_with_other_welfare_services: StrictBool

    def to_domain(self) -> EligibilityCriteria:
        return EligibilityCriteria(self.under_18_or_expecting, self.serious_illness_injury_or_functional_variation,
                                   self.long_term_complex_needs_with_other_welfare_services)


class IndividualPlanContentIn(_Record):
    """The nine items of a Norwegian individual plan (forskrift § 19)."""

    goals_resources_and_needs_ref: DocRef | None
    participants: PersonRefs
    responsible_for_coordination_ref: DocRef | None
    contributions_ref: DocRef | None
    measures_ref: DocRef | None
    implementation_ref: DocRef | None
    plan_period_from: CalendarDate | None
    plan_period_to: CalendarDate | None
    revision_dates: Dates
    recipient_consent_to_plan: StrictBool
    recipient_consent_to_sharing: StrictBool
    cooperation_with_other_services_ref: DocRef | None

    def to_domain(self) -> IndividualPlanContent:
        return IndividualPlanContent(
            goals_resources_and_needs_ref=self.goals_resources_and_needs_ref, participants=tuple(self.participants),
            responsible_for_coordination_ref=self.responsible_for_coordination_ref,
            contributions_ref=self.contributions_ref, measures_ref=self.measures_ref,
            implementation_ref=self.implementation_ref, plan_period_from=self.plan_period_from,
            plan_period_to=self.plan_period_to, revision_dates=tuple(self.revision_dates),
            recipient_consent_to_plan=self.recipient_consent_to_plan,
            recipient_consent_to_sharing=self.recipient_consent_to_sharing,
            cooperation_with_other_services_ref=self.cooperation_with_other_services_ref)
