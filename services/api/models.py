"""Response models of the read endpoints (``services.api.queries``): what the OpenAPI document publishes.

They mirror the frozen dataclasses of the query modules (``projections.dashboard``, ``projections.audit``)
field for field and are filled from them with ``model_validate(..., from_attributes=True)``, so a query's
result and the published response cannot drift apart silently (a missing attribute fails the request).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


# ---- a case and the coordinator directory --------------------------------------------------------------
class TeamMemberView(_Out):
    person_ref: str
    member_type: str


class DecisionView(_Out):
    """Norway: a written decision on the barnekoordinator request."""

    decision_id: str
    decision: str
    appeal_deadline: datetime | None


class ComplaintView(_Out):
    complaint_id: str
    stage: str
    """Iceland: ``lodged`` or ``outcome_recorded``; Norway: the complaint's stage (under reconsideration, ...)."""
    decision_id: str | None = None
    """Norway: the decision complained about."""


class CaseSummary(_Out):
    """A case as it stands now, from its aggregate in the event store (never from a read model)."""

    case_id: UUID
    jurisdiction: Literal["IS", "NO"]
    status: str
    version: int = Field(description="The case version; also sent as the ETag.")
    episode: int
    child_ref: str
    parent_refs: list[str]
    municipality_ref: str
    closed_on: date | None
    coordinator_ref: str | None = Field(description="IS: the coordinator (tengiliður); NO: the barnekoordinator.")
    coordinator_org_ref: str | None
    case_manager_ref: str | None = Field(description="Iceland only.")
    track: str | None
    team_id: str | None
    team_members: list[TeamMemberView]
    plan_id: str | None
    plan_version: int | None
    next_review: date | None
    transition_plan_adopted_on: date | None
    highest_level: int | None = Field(description="Iceland: the highest level among the active services.")
    basis_active: bool = Field(description="IS: the integration request is in force; NO: the consent is.")
    decisions: list[DecisionView]
    complaints: list[ComplaintView]


class InstitutionView(_Out):
    """An institution in the coordinator directory and its designated coordinators."""

    org_ref: str
    institution_type: str
    municipality_ref: str
    jurisdiction: Literal["IS", "NO"]
    coordinators: list[str]
    version: int


# ---- dashboards (projections.dashboard) ------------------------------------------------------------------
class LevelCount(_Out):
    group: str
    level: int
    children: int
    services: int


class Timeliness(_Out):
    timer: str
    group: str
    completed: int
    median_days: float | None
    p90_days: float | None
    threshold: int | None
    breaches: int | None
    running: int
    running_breaches: int | None


class PlanReview(_Out):
    case_id: str
    jurisdiction: str
    municipality_ref: str
    plan_kind: Literal["support_plan", "individual_plan"]
    plan_id: str | None
    lead_ref: str | None
    due_on: date
    overdue: bool
    days_overdue: int


class TransitionWatch(_Out):
    case_id: str
    municipality_ref: str
    case_manager_ref: str | None
    birth_year: int
    age_this_year: int
    eighteenth_birthday_by: date


class ClosuresWithoutPlanCount(_Out):
    municipality_ref: str
    teams_concluded: int
    without_plan: int
    rate: float | None
    complaints_linked: int
    complaints_about_closure: int


class ComplaintStageCount(_Out):
    jurisdiction: str
    municipality_ref: str
    stage: str
    entered: int
    current: int
    final: bool
    median_days_in_stage: float | None
    longest_waiting_days: int | None


class MyCaseView(_Out):
    """One open case of the caller's caseload (``GET /v1/me/caseload``) and its next deadline."""

    case_id: str
    jurisdiction: str
    municipality_ref: str
    status: str
    roles: list[Literal["coordinator", "case_manager", "barnekoordinator"]] = Field(
        description="The caller's roles in the case: IS coordinator (tengiliður) or case manager; NO barnekoordinator.")
    plan_kind: Literal["support_plan", "individual_plan"] | None
    plan_id: str | None
    next_due_on: date | None = Field(
        description="The earliest pending plan review (IS) or individual plan revision (NO); none when none is due.")
    overdue: bool
    days_overdue: int
    transition_watch: bool = Field(description="IS: possibly 16.5-18 years old and no adult transition plan yet.")
    eighteenth_birthday_by: date | None


class Caseload(_Out):
    jurisdiction: str
    municipality_ref: str
    person_ref: str
    role: Literal["case_manager", "barnekoordinator"]
    open_cases: int
    children: int


class Coverage(_Out):
    org_ref: str
    institution_type: str
    municipality_ref: str
    jurisdiction: str | None
    designated: bool
    coordinators: int


class NationalCell(_Out):
    """Counts from 1 to 4 are published as ``"<5"`` (small-cell suppression); no totals."""

    municipality_ref: str
    level: int
    age_band: str
    children: str
    services: str


# ---- audit (projections.audit) -----------------------------------------------------------------------------
class AuditEntryView(_Out):
    case_id: UUID
    case_version: int
    notification_id: int
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    actor_role: str
    actor_person_ref: str
    legal_basis: str | None
    rule_id: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class ClosureWithoutPlanView(_Out):
    case_id: UUID
    case_version: int
    team_id: str
    concluded_at: datetime
    concluded_by: str
    justification_doc_ref: str | None
    notice_case_version: int | None
    notice_at: datetime | None
    notice_recipients: list[str]
    notice_justification_doc_ref: str | None
    complaint_info_included: bool
    complaint_body: str | None


class AgeOutView(_Out):
    case_id: UUID
    case_version: int
    reached_majority_on: date
    case_manager_ref: str | None
    transition_plan_id: str | None
    transition_plan_adopted_at: datetime | None
    child_age_at_adoption: int | None
    plan_before_birthday: bool
    transition_plan_existed: bool
    age_out_override_reason: str | None


class RequestWithoutDecision(_Out):
    """Norway: a barnekoordinator request with no written decision yet."""

    case_id: UUID


class ComplaintStageView(_Out):
    stage: str
    case_version: int
    at: datetime
    outcome: str | None = None


class ComplaintTimelineView(_Out):
    case_id: UUID
    jurisdiction: str | None
    complaint_id: str
    body: str | None
    decision_id: str | None
    subject: str | None
    within_deadline: bool | None
    stages: list[ComplaintStageView]


class FactRefView(_Out):
    case_version: int
    fact: str
    occurred_at: datetime
    recorded_at: datetime


class CaseSnapshotView(_Out):
    """A case as of an instant: ``by=recorded`` what the system knew then, ``by=occurred`` the world then."""

    case_id: UUID
    as_of: datetime
    by: Literal["occurred", "recorded"]
    version: int
    latest_version: int
    status: str
    jurisdiction: str
    municipality_ref: str
    child_ref: str
    episode: int
    closed_on: date | None
    coordinator_ref: str | None
    case_manager_ref: str | None
    team_id: str | None
    plan_id: str | None
    plan_version: int | None
    highest_level: int | None
    consent_active: bool | None
    last_fact: FactRefView
    backdated_after: list[FactRefView]


class ReadLogEntry(_Out):
    """One recorded read of a case's data (domain.md §8.3 item 4): who, in which role, when, why, what."""

    id: int
    read_at: datetime
    subject: str
    role: str
    org_ref: str | None
    case_id: UUID
    resource: str
    purpose: str
    correlation_id: str | None
