"""``GET /v1/dashboards/...``: the dashboard read model (``projections.dashboard``), scoped by the access model.

A municipality's lead or staff sees its own municipality only (asking for another is 403 ACCESS-SCOPE); a
supervisor sees its jurisdiction; the national agency only the suppressed national aggregate. Row-level rows
(plans due, transition watch, caseload per case manager) name cases and staff: each row shown is a read of
personal data and is logged like a case read, with the purpose (``X-Purpose``, default ``oversight``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar
from uuid import UUID

import psycopg
from fastapi import APIRouter, Depends, Header, Query, Request

from contracts.bounds import CalendarDate
from domain.access import AccessDenied, ReadKind, Scope
from domain.values import Actor
from projections.dashboard import deadlines as dashboard_deadlines
from projections.dashboard import oversight
from projections.dashboard import queries as dash_q
from services.api import models as m
from services.api.deps import PURPOSE_RULE, Services, caller, correlation, read_access, responses, services
from services.api.periods import DAY_RULE, day, period
from services.casework.read_log import Purpose

router = APIRouter(tags=["dashboards"])
T = TypeVar("T")
AS_OF = Query(None, description="The day (inclusive); today (UTC) when absent. " + DAY_RULE)
MUNI = Query(None, pattern=r"^muni:[A-Za-z0-9._-]{1,80}$",
             description="Only this municipality (the case's current one); a municipality may ask only its own.")
FROM = Query(None, alias="from", description="First day of the period (inclusive): " + DAY_RULE)
TO = Query(None, alias="to", description="Last day of the period (inclusive): " + DAY_RULE)
PURPOSE = Header(Purpose.OVERSIGHT, alias="X-Purpose", description="Why row-level data is read; logged." + PURPOSE_RULE)
HORIZON = Query(30, ge=0, le=366)


def _meta(kind: ReadKind, **extra: Any) -> dict[str, Any]:
    description, extension = read_access(kind)
    return {"responses": responses(401, 403, 422, 429, 503), "description": description,
            "openapi_extra": {"x-prosperity-access": extension}, **extra}


def _municipalities(cur: psycopg.Cursor[Any], scope: Scope) -> set[str] | None:
    """The municipalities of the scope's jurisdiction (None: no jurisdiction limit)."""
    if scope.jurisdiction is None:
        return None
    rows = cur.execute("SELECT municipality_ref FROM dash_case WHERE jurisdiction = %(j)s UNION "
                       "SELECT municipality_ref FROM dash_institution WHERE jurisdiction = %(j)s",
                       {"j": scope.jurisdiction.value}).fetchall()
    return {row[0] for row in rows}


def _municipality_of(row: Any) -> str | None:
    found: str | None = getattr(row, "municipality_ref", None)
    return found


def _scoped(svc: Services, scope: Scope, query: Callable[[psycopg.Cursor[Any], str | None], Sequence[T]],
            municipality_of: Callable[[T], str | None] = _municipality_of) -> list[T]:
    with svc.read_models.reading("dashboard") as cur:
        rows = query(cur, scope.municipality_ref)
        allowed = _municipalities(cur, scope)
    return [row for row in rows if allowed is None or municipality_of(row) in allowed]


def _grouped(scope: Scope, by: str) -> Callable[[Any], str | None]:
    """Rows grouped by municipality are filtered by their group; grouped otherwise (institution, age band), a
    jurisdiction's figures cannot be told apart after the fact, so a supervisor names one municipality."""
    if by == "municipality":
        return lambda row: str(row.group)
    if scope.jurisdiction is not None and scope.municipality_ref is None:
        raise AccessDenied("ACCESS-SCOPE", f"figures grouped by {by}", (), (), reason=(
            f"Figures grouped by {by} are given for one municipality at a time to a supervisor."),
            remedy="Add municipality_ref=<a municipality of your jurisdiction>, or group by municipality.")
    return _municipality_of


def _aggregate(request: Request, actor: Actor, svc: Services, resource: str, asked: str | None) -> Scope:
    return svc.reads.scope(actor, ReadKind.DASHBOARD, resource=resource, purpose=Purpose.OVERSIGHT,
                           asked_municipality=asked, correlation_id=correlation(request))


def _row_level(request: Request, actor: Actor, svc: Services, resource: str, asked: str | None,
               purpose: Purpose, query: Callable[[psycopg.Cursor[Any], str | None], Sequence[T]]) -> list[T]:
    scope = svc.reads.scope(actor, ReadKind.DASHBOARD_ROWS, resource=resource, purpose=purpose,
                            asked_municipality=asked, correlation_id=correlation(request))
    rows = _scoped(svc, scope, query)
    for row in rows:  # a row names a case, or (caseload per case manager) a member of staff
        case_id = getattr(row, "case_id", None)
        person = getattr(row, "person_ref", None)
        svc.reads.rows_read(actor, ReadKind.DASHBOARD_ROWS, resource=resource if person is None else
                            f"{resource} {person}", purpose=purpose,
                            cases=[(None if case_id is None else UUID(str(case_id)),
                                    getattr(row, "jurisdiction", None))], correlation_id=correlation(request))
    return rows


@router.get("/v1/dashboards/services-by-level", summary="Children and services by level",
            response_model=list[m.LevelCount], operation_id="services_by_level", **_meta(ReadKind.DASHBOARD))
def services_by_level(request: Request, as_of: CalendarDate | None = AS_OF,
                      by: Literal["municipality", "institution", "age_band"] = "municipality",
                      municipality_ref: str | None = MUNI, actor: Actor = Depends(caller),  # noqa: B008
                      svc: Services = Depends(services)) -> list[m.LevelCount]:  # noqa: B008
    scope = _aggregate(request, actor, svc, "services_by_level", municipality_ref)
    return _scoped(svc, scope, lambda cur, muni: dash_q.services_by_level(
        cur, as_of=day("as_of", as_of), by=by, municipality_ref=muni), _grouped(scope, by))


@router.get("/v1/dashboards/timeliness", summary="T1-T4: medians, 90th percentiles, breaches",
            response_model=list[m.Timeliness], operation_id="timeliness", **_meta(ReadKind.DASHBOARD))
def timeliness(request: Request, as_of: CalendarDate | None = AS_OF,
               by: Literal["municipality", "institution"] = "municipality", period_from: CalendarDate | None = FROM,
               period_to: CalendarDate | None = TO, municipality_ref: str | None = MUNI,
               actor: Actor = Depends(caller), svc: Services = Depends(services)) -> list[m.Timeliness]:  # noqa: B008
    scope = _aggregate(request, actor, svc, "timeliness", municipality_ref)
    span = period(period_from, period_to)
    thresholds = dash_q.Thresholds.from_legal_settings(svc.app.legal_settings)
    return _scoped(svc, scope, lambda cur, muni: dash_q.timeliness(
        cur, as_of=day("as_of", as_of), thresholds=thresholds, period=span, by=by, municipality_ref=muni),
        _grouped(scope, by))


@router.get("/v1/dashboards/plans-due", summary="Plans due for review or overdue",
            response_model=list[m.PlanReview], operation_id="plans_due", **_meta(ReadKind.DASHBOARD_ROWS))
def plans_due(request: Request, as_of: CalendarDate | None = AS_OF, horizon_days: int = HORIZON,
              municipality_ref: str | None = MUNI, purpose: Purpose = PURPOSE,
              actor: Actor = Depends(caller), svc: Services = Depends(services)) -> list[m.PlanReview]:  # noqa: B008
    return _row_level(request, actor, svc, "plans_due", municipality_ref, purpose,
                      lambda cur, muni: dash_q.plans_due_and_overdue(
                          cur, as_of=day("as_of", as_of), horizon_days=horizon_days, municipality_ref=muni))


@router.get("/v1/dashboards/transition-watch", summary="Children near 18 without an adult transition plan",
            response_model=list[m.TransitionWatch], operation_id="transition_watch",
            **_meta(ReadKind.DASHBOARD_ROWS))
def transition_watch(request: Request, as_of: CalendarDate | None = AS_OF, municipality_ref: str | None = MUNI,
                     purpose: Purpose = PURPOSE, actor: Actor = Depends(caller),  # noqa: B008
                     svc: Services = Depends(services)) -> list[m.TransitionWatch]:  # noqa: B008
    return _row_level(request, actor, svc, "transition_watch", municipality_ref, purpose,
                      lambda cur, muni: dash_q.transition_watch(cur, as_of=day("as_of", as_of), municipality_ref=muni))


@router.get("/v1/dashboards/closures-without-plan", summary="Support teams concluded without a plan",
            response_model=list[m.ClosuresWithoutPlanCount], operation_id="dashboard_closures_without_plan",
            **_meta(ReadKind.DASHBOARD))
def closures_without_plan(request: Request, period_from: CalendarDate | None = FROM,
                          period_to: CalendarDate | None = TO, municipality_ref: str | None = MUNI,
                          actor: Actor = Depends(caller),  # noqa: B008
                          svc: Services = Depends(services)) -> list[m.ClosuresWithoutPlanCount]:  # noqa: B008
    scope = _aggregate(request, actor, svc, "closures_without_plan", municipality_ref)
    span = period(period_from, period_to)
    return _scoped(svc, scope, lambda cur, muni: oversight.closures_without_plan(
        cur, period=span, municipality_ref=muni))


@router.get("/v1/dashboards/complaints", summary="Complaints by stage",
            response_model=list[m.ComplaintStageCount], operation_id="dashboard_complaints",
            **_meta(ReadKind.DASHBOARD))
def complaints(request: Request, as_of: CalendarDate | None = AS_OF, municipality_ref: str | None = MUNI,
               actor: Actor = Depends(caller),  # noqa: B008
               svc: Services = Depends(services)) -> list[m.ComplaintStageCount]:  # noqa: B008
    scope = _aggregate(request, actor, svc, "complaints", municipality_ref)
    rows = _scoped(svc, scope, lambda cur, muni: oversight.complaints_by_stage(
        cur, as_of=day("as_of", as_of), municipality_ref=muni))
    return [m.ComplaintStageCount.model_validate(row) for row in rows]


@router.get("/v1/dashboards/caseload", summary="Open cases per case manager or barnekoordinator",
            response_model=list[m.Caseload], operation_id="caseload", **_meta(ReadKind.DASHBOARD_ROWS))
def caseload(request: Request, municipality_ref: str | None = MUNI, purpose: Purpose = PURPOSE,
             actor: Actor = Depends(caller), svc: Services = Depends(services)) -> list[m.Caseload]:  # noqa: B008
    return _row_level(request, actor, svc, "caseload_per_case_manager", municipality_ref, purpose,
                      lambda cur, muni: oversight.caseload_per_case_manager(cur, municipality_ref=muni))


@router.get("/v1/dashboards/coordinator-coverage", summary="Designated coordinators per institution",
            response_model=list[m.Coverage], operation_id="coordinator_coverage", **_meta(ReadKind.DASHBOARD))
def coordinator_coverage(request: Request, as_of: CalendarDate | None = AS_OF, municipality_ref: str | None = MUNI,
                         actor: Actor = Depends(caller),  # noqa: B008
                         svc: Services = Depends(services)) -> list[m.Coverage]:  # noqa: B008
    scope = _aggregate(request, actor, svc, "coordinator_coverage", municipality_ref)
    return _scoped(svc, scope, lambda cur, muni: oversight.coordinator_coverage(
        cur, as_of=day("as_of", as_of), municipality_ref=muni))


@router.get("/v1/dashboards/national", summary="National aggregate (small cells suppressed)",
            response_model=list[m.NationalCell], operation_id="national_aggregate", **_meta(ReadKind.NATIONAL))
def national(request: Request, as_of: CalendarDate | None = AS_OF, actor: Actor = Depends(caller),  # noqa: B008
             svc: Services = Depends(services)) -> list[m.NationalCell]:  # noqa: B008
    """Counts per municipality, level and age band; 1-4 published as "<5"; never row level."""
    scope = svc.reads.scope(actor, ReadKind.NATIONAL, resource="national_aggregate", purpose=Purpose.OVERSIGHT,
                            correlation_id=correlation(request))
    return _scoped(svc, scope, lambda cur, _muni: dash_q.national_aggregates(cur, as_of=day("as_of", as_of)))


@router.get("/v1/dashboards/deadlines", summary="The clock's deadline facts per rule and rules version",
            response_model=list[m.DeadlineCountView], operation_id="dashboard_deadlines",
            **_meta(ReadKind.DASHBOARD))
def deadlines(request: Request, as_of: CalendarDate | None = AS_OF, municipality_ref: str | None = MUNI,
              actor: Actor = Depends(caller),  # noqa: B008
              svc: Services = Depends(services)) -> list[m.DeadlineCountView]:  # noqa: B008
    """Warned, breached (and still open), escalated and reached deadlines, read from the facts the clock recorded:
    late under the rules version in force when it was recorded (domain.md §3)."""
    scope = _aggregate(request, actor, svc, "deadlines", municipality_ref)
    return _scoped(svc, scope, lambda cur, muni: dashboard_deadlines.deadline_counts(
        cur, as_of=day("as_of", as_of), municipality_ref=muni))
