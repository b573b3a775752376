"""Response models of the read endpoints (``services.api.routers``): what the OpenAPI document publishes.

Where a query module (``projections.dashboard``, ``projections.audit``) already returns a frozen dataclass,
that dataclass *is* the response model (FastAPI publishes dataclasses through pydantic), so a query's result
and the published response cannot drift apart; the models defined here are the views no query returns as is.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from projections.audit import deadlines as audit_deadlines
from projections.audit import queries as audit_q
from projections.dashboard import deadlines as dashboard_deadlines
from projections.dashboard import oversight
from projections.dashboard import queries as dash_q
from services.audit import time_travel


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
LevelCount = dash_q.LevelCount


Timeliness = dash_q.Timeliness


PlanReview = dash_q.PlanReview


TransitionWatch = dash_q.TransitionWatch


ClosuresWithoutPlanCount = oversight.ClosuresWithoutPlan


class ComplaintStageCount(_Out):
    jurisdiction: str
    municipality_ref: str
    stage: str
    entered: int
    current: int
    final: bool
    median_days_in_stage: float | None
    longest_waiting_days: int | None


MyCaseView = dash_q.MyCase


Caseload = oversight.Caseload


Coverage = oversight.Coverage


NationalCell = dash_q.NationalCell


# ---- audit (projections.audit) -----------------------------------------------------------------------------
AuditEntryView = audit_q.AuditEntry


ClosureWithoutPlanView = audit_q.ClosureWithoutPlan


AgeOutView = audit_q.AgeOut


class RequestWithoutDecision(_Out):
    """Norway: a barnekoordinator request with no written decision yet."""

    case_id: UUID


ComplaintStageView = audit_q.ComplaintStage


ComplaintTimelineView = audit_q.ComplaintTimeline


FactRefView = time_travel.FactRef


CaseSnapshotView = time_travel.CaseSnapshot


class ReadLogEntry(_Out):
    """One attempt to read personal data (domain.md §8.3 item 4): who, in which role and organisation, when, why,
    what, and whether it was granted or refused (with the access rule, or ``not_found``)."""

    id: int
    read_at: datetime
    subject: str
    role: str
    org_ref: str | None
    municipality_ref: str | None
    case_id: UUID | None
    resource: str
    purpose: str
    outcome: Literal["granted", "refused"]
    reason: str | None
    jurisdiction: str | None
    correlation_id: str | None


# ---- the law's clock (projections.dashboard.deadlines, projections.audit.deadlines) ------------------------
DeadlineCountView = dashboard_deadlines.DeadlineCount
DeadlineBreachView = audit_deadlines.DeadlineBreach
