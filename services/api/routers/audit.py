"""``GET /v1/audit/...``: the audit read model (``projections.audit``), time travel and the read-access log, for
the supervisor of the data's jurisdiction only (domain.md §1.9, §5; §8.3 item 4).

One case's trail or snapshot is a read of that case (ACCESS-READ-AUDIT-CASE; a case of another jurisdiction
answers like a missing one); the lists answer only cases of the supervisor's jurisdiction, and each case they
name is logged; the read-access log shows the supervisor's own jurisdiction, filtered by case and outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Annotated, Any, Literal
from uuid import UUID

import psycopg
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from contracts.bounds import Instant
from domain import bounds
from domain.access import ReadKind, Scope
from domain.values import Actor
from projections.audit import deadlines as audit_deadlines
from projections.audit import queries as audit_q
from services.api import models as m
from services.api.deps import PURPOSE_RULE, Services, caller, correlation, read_access, responses, services
from services.api.problems import problem
from services.audit.time_travel import case_as_of
from services.casework.read_log import Outcome, Purpose

router = APIRouter(tags=["audit"])
PURPOSE = Header(alias="X-Purpose", description="Why the case is read; recorded in the read-access log." + PURPOSE_RULE)
LIST_PURPOSE = Header(Purpose.SUPERVISION, alias="X-Purpose",
                 description="Why the cases are read; logged." + PURPOSE_RULE)
CASE_PATH = Path(description="The case id.")
UP_TO = Query(None, ge=1, le=1_000_000_000)
AT = Query(description="The instant: RFC 3339 with a zone, within DATE-1.")
"""In ``Annotated``: FastAPI drops a type's own validators (``Instant``'s RFC 3339 parsing) when a required
parameter's ``Query()`` is its default, and would take a number as seconds since 1970."""
CASE_FILTER = Query(None)
LIMIT = Query(1000, ge=1, le=10_000)
OUTCOME = Query(None, description="Only granted or only refused attempts.")
_SNAPSHOT = TypeAdapter(m.CaseSnapshotView)
"""Serialises a time-travel snapshot (a dataclass) the way its published response model does."""


def _meta(kind: ReadKind, *statuses: int) -> dict[str, Any]:
    description, extension = read_access(kind)
    return {"responses": responses(*statuses), "description": description,
            "openapi_extra": {"x-prosperity-access": extension}}


def _scope(request: Request, actor: Actor, svc: Services, kind: ReadKind, resource: str, purpose: Purpose) -> Scope:
    return svc.reads.scope(actor, kind, resource=resource, purpose=purpose, correlation_id=correlation(request))


def _cases_of(cur: psycopg.Cursor[Any], scope: Scope) -> set[UUID]:
    assert scope.jurisdiction is not None  # the supervisor's token carries it (services.api.identity)
    rows = cur.execute("SELECT case_id FROM audit_trail WHERE case_version = 1 AND payload->>'jurisdiction' = %s",
                       (scope.jurisdiction.value,)).fetchall()
    return {row[0] for row in rows}


def _listed(request: Request, actor: Actor, svc: Services, resource: str, purpose: Purpose,
            rows: Sequence[Any], cases: set[UUID]) -> list[Any]:
    shown = [row for row in rows if row.case_id in cases]
    svc.reads.rows_read(actor, ReadKind.AUDIT, resource=resource, purpose=purpose,
                        cases=[(row.case_id, None) for row in shown], correlation_id=correlation(request))
    return shown


@router.get("/v1/audit/cases/{case_id}/trail", summary="A case's hash-chained audit trail",
            response_model=list[m.AuditEntryView], operation_id="audit_trail",
            **_meta(ReadKind.AUDIT_CASE, 401, 403, 404, 422, 429, 503))
def trail(request: Request, case_id: UUID = CASE_PATH, purpose: Purpose = PURPOSE, up_to_version: int | None = UP_TO,
          actor: Actor = Depends(caller), svc: Services = Depends(services)) -> list[m.AuditEntryView]:  # noqa: B008
    svc.reads.case(actor, case_id, purpose=purpose, resource="audit_trail", kind=ReadKind.AUDIT_CASE,
                   correlation_id=correlation(request))
    with svc.read_models.reading("audit") as cur:
        return list(audit_q.case_trail(cur, case_id, up_to_version=up_to_version))


@router.get("/v1/audit/cases/{case_id}/as-of", summary="A case as of an instant (time travel)",
            response_model=m.CaseSnapshotView, operation_id="audit_case_as_of",
            **_meta(ReadKind.AUDIT_CASE, 401, 403, 404, 422, 429))
def as_of(request: Request, at: Annotated[Instant, AT], case_id: UUID = CASE_PATH,
          by: Literal["recorded", "occurred"] = "recorded", purpose: Purpose = PURPOSE,
          actor: Actor = Depends(caller), svc: Services = Depends(services)) -> Response:  # noqa: B008
    """``by=recorded``: what the system knew at ``at``; ``by=occurred``: the case in the world at ``at``."""
    bounds.check_instant("at", at)  # the pages call this with a day they parsed themselves
    svc.reads.case(actor, case_id, purpose=purpose, resource="as_of", kind=ReadKind.AUDIT_CASE,
                   correlation_id=correlation(request))
    snapshot = case_as_of(svc.app, case_id, at.astimezone(UTC), by=by)
    if snapshot is None:
        return problem(404, "no-facts-yet", "The case had no facts by then",
                       f"Case {case_id} had recorded no fact by {at.isoformat()} ({by}).", case_id=str(case_id))
    return JSONResponse(_SNAPSHOT.dump_python(snapshot, mode="json"))


@router.get("/v1/audit/closures-without-plan", summary="Support teams concluded without a plan, and the notices",
            response_model=list[m.ClosureWithoutPlanView], operation_id="audit_closures_without_plan",
            **_meta(ReadKind.AUDIT, 401, 403, 422, 429, 503))
def audit_closures(request: Request, purpose: Purpose = LIST_PURPOSE, actor: Actor = Depends(caller),  # noqa: B008
                   svc: Services = Depends(services)) -> list[m.ClosureWithoutPlanView]:  # noqa: B008
    scope = _scope(request, actor, svc, ReadKind.AUDIT, "audit_closures_without_plan", purpose)
    with svc.read_models.reading("audit") as cur:
        rows, cases = audit_q.closures_without_plan(cur), _cases_of(cur, scope)
    return _listed(request, actor, svc, "audit_closures_without_plan", purpose, rows, cases)


@router.get("/v1/audit/age-outs", summary="Case-manager-led children who turned 18",
            response_model=list[m.AgeOutView], operation_id="audit_age_outs",
            **_meta(ReadKind.AUDIT, 401, 403, 422, 429, 503))
def age_outs(request: Request, purpose: Purpose = LIST_PURPOSE, actor: Actor = Depends(caller),  # noqa: B008
             svc: Services = Depends(services)) -> list[m.AgeOutView]:  # noqa: B008
    scope = _scope(request, actor, svc, ReadKind.AUDIT, "audit_age_outs", purpose)
    with svc.read_models.reading("audit") as cur:
        rows, cases = audit_q.age_outs(cur), _cases_of(cur, scope)
    return _listed(request, actor, svc, "audit_age_outs", purpose, rows, cases)


@router.get("/v1/audit/no-decisions", summary="Norway: requests without a written decision",
            response_model=list[m.RequestWithoutDecision], operation_id="audit_no_decisions",
            **_meta(ReadKind.AUDIT, 401, 403, 422, 429, 503))
def no_decisions(request: Request, purpose: Purpose = LIST_PURPOSE, actor: Actor = Depends(caller),  # noqa: B008
                 svc: Services = Depends(services)) -> list[m.RequestWithoutDecision]:  # noqa: B008
    scope = _scope(request, actor, svc, ReadKind.AUDIT, "audit_no_decisions", purpose)
    with svc.read_models.reading("audit") as cur:
        rows, cases = audit_q.requests_without_decision(cur), _cases_of(cur, scope)
    views = [m.RequestWithoutDecision(case_id=case_id) for case_id in rows]
    return _listed(request, actor, svc, "audit_no_decisions", purpose, views, cases)


@router.get("/v1/audit/complaints", summary="Complaint timelines in both countries",
            response_model=list[m.ComplaintTimelineView], operation_id="audit_complaints",
            **_meta(ReadKind.AUDIT, 401, 403, 422, 429, 503))
def audit_complaints(request: Request, case_id: UUID | None = CASE_FILTER, purpose: Purpose = LIST_PURPOSE,
                     actor: Actor = Depends(caller),  # noqa: B008
                     svc: Services = Depends(services)) -> list[m.ComplaintTimelineView]:  # noqa: B008
    scope = _scope(request, actor, svc, ReadKind.AUDIT, "audit_complaints", purpose)
    with svc.read_models.reading("audit") as cur:
        rows, cases = audit_q.complaint_timelines(cur, case_id), _cases_of(cur, scope)
    return _listed(request, actor, svc, "audit_complaints", purpose, rows, cases)


@router.get("/v1/audit/read-log", summary="Who read (or tried to read) case data, when, why, and the outcome",
            response_model=list[m.ReadLogEntry], operation_id="read_log", **_meta(ReadKind.READ_LOG, 401, 403, 422,
                                                                                    429))
def read_log_entries(request: Request, case_id: UUID | None = CASE_FILTER, outcome: Outcome | None = OUTCOME,
                     limit: int = LIMIT, actor: Actor = Depends(caller),  # noqa: B008
                     svc: Services = Depends(services)) -> list[m.ReadLogEntry]:  # noqa: B008
    scope = _scope(request, actor, svc, ReadKind.READ_LOG, "read_log", Purpose.SUPERVISION)
    jurisdiction = None if scope.jurisdiction is None else scope.jurisdiction.value
    return [m.ReadLogEntry.model_validate(row)
            for row in svc.read_log.entries(case_id=case_id, outcome=outcome, jurisdiction=jurisdiction, limit=limit)]


@router.get("/v1/audit/deadline-breaches", summary="Deadlines the clock recorded as breached, and their escalation",
            response_model=list[m.DeadlineBreachView], operation_id="audit_deadline_breaches",
            **_meta(ReadKind.AUDIT, 401, 403, 422, 429, 503))
def deadline_breaches(request: Request, purpose: Purpose = LIST_PURPOSE, actor: Actor = Depends(caller),  # noqa: B008
                      svc: Services = Depends(services)) -> list[m.DeadlineBreachView]:  # noqa: B008
    """§5 (3): each breach with its rule (T-number), the rules version in force then, and when the lead was told."""
    scope = _scope(request, actor, svc, ReadKind.AUDIT, "audit_deadline_breaches", purpose)
    with svc.read_models.reading("audit") as cur:
        rows, cases = audit_deadlines.deadline_breaches(cur), _cases_of(cur, scope)
    return _listed(request, actor, svc, "audit_deadline_breaches", purpose, rows, cases)
