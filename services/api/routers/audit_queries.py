"""``GET /v1/audit/processing-without-basis``, ``/v1/audit/no-decision-lead-times`` and ``/v1/audit/daily-digests``:
the audit questions of domain.md §5 that ``projections.audit.queries`` answers and v2 had not exposed (issue 12).

Same rule as the other audit lists (ACCESS-READ-AUDIT: the supervisor of the jurisdiction): a list answers the
cases of the supervisor's own jurisdiction only, and each case it names is a row in the read-access log. The daily
digests name no case and no person (a count and a hash per UTC day over the whole store: tamper evidence, §5),
so they are answered whole to any supervisor, the read itself logged once.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from contracts.bounds import CalendarDate
from domain.access import ReadKind
from domain.errors import InvalidValue
from domain.values import Actor
from projections.audit import queries as audit_q
from services.api.deps import Services, caller, correlation, services
from services.api.periods import DAY_RULE
from services.api.routers.audit import LIST_PURPOSE, _cases_of, _listed, _meta, _scope
from services.casework.read_log import Purpose

router = APIRouter(tags=["audit"])
CASE_FILTER = Query(None, description="Only this case.")
SINCE = Query(None, description="First UTC day (inclusive): " + DAY_RULE)
UNTIL = Query(None, description="Last UTC day (inclusive): " + DAY_RULE)

ProcessingFactView = audit_q.ProcessingFact
NorwayDecisionView = audit_q.NorwayDecision
DailyDigestView = audit_q.DailyDigest


@router.get("/v1/audit/processing-without-basis", summary="Facts processed with no active request or consent",
            response_model=list[ProcessingFactView], operation_id="audit_processing_without_basis",
            **_meta(ReadKind.AUDIT, 401, 403, 422, 429, 503))
def processing_without_basis(request: Request, purpose: Purpose = LIST_PURPOSE,
                             case_id: UUID | None = CASE_FILTER, actor: Actor = Depends(caller),  # noqa: B008
                             svc: Services = Depends(services)) -> list[ProcessingFactView]:  # noqa: B008
    """§5 question 1 and 11: every processing fact with no basis active when it was recorded (should be none)."""
    scope = _scope(request, actor, svc, ReadKind.AUDIT, "audit_processing_without_basis", purpose)
    with svc.read_models.reading("audit") as cur:
        rows, cases = audit_q.processing_without_basis(cur, case_id), _cases_of(cur, scope)
    return _listed(request, actor, svc, "audit_processing_without_basis", purpose, rows, cases)


@router.get("/v1/audit/no-decision-lead-times", summary="Norway: each written decision and its lead time",
            response_model=list[NorwayDecisionView], operation_id="audit_no_decision_lead_times",
            **_meta(ReadKind.AUDIT, 401, 403, 422, 429, 503))
def no_decision_lead_times(request: Request, purpose: Purpose = LIST_PURPOSE, actor: Actor = Depends(caller),  # noqa: B008
                           svc: Services = Depends(services)) -> list[NorwayDecisionView]:  # noqa: B008
    """§5 question 10: every request (oral ones too) has a written decision with justification and appeal
    information; the time from request to decision."""
    scope = _scope(request, actor, svc, ReadKind.AUDIT, "audit_no_decision_lead_times", purpose)
    with svc.read_models.reading("audit") as cur:
        rows, cases = audit_q.norway_decisions(cur), _cases_of(cur, scope)
    return _listed(request, actor, svc, "audit_no_decision_lead_times", purpose, rows, cases)


@router.get("/v1/audit/daily-digests", summary="Per-day digests of the hash chain (tamper evidence)",
            response_model=list[DailyDigestView], operation_id="audit_daily_digests",
            **_meta(ReadKind.AUDIT, 401, 403, 422, 429, 503))
def daily_digests(request: Request, since: CalendarDate | None = SINCE, until: CalendarDate | None = UNTIL,
                  actor: Actor = Depends(caller),  # noqa: B008
                  svc: Services = Depends(services)) -> list[DailyDigestView]:  # noqa: B008
    if since is not None and until is not None and since > until:
        raise InvalidValue("until", "must not be before since")
    _scope(request, actor, svc, ReadKind.AUDIT, "audit_daily_digests", Purpose.SUPERVISION)
    svc.reads.rows_read(actor, ReadKind.AUDIT, resource="audit_daily_digests", purpose=Purpose.SUPERVISION,
                        cases=[(None, None if actor.jurisdiction is None else actor.jurisdiction.value)],
                        correlation_id=correlation(request))
    with svc.read_models.reading("audit") as cur:
        return audit_q.daily_digests(cur, since=since, until=until)

