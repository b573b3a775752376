"""The supervisor's pages: the domain.md §5 questions with drill-down, and a case's audit trail with the verified
hash-chain badge, time travel (the case as of a day) and the case's read-access log.

Each list and each case read is the JSON API's own read (``services.api.routers.audit``), called with the signed-in
supervisor: the same scope (the supervisor's jurisdiction), the same filtering and the same read-log rows. The
badge is :func:`services.audit.case_check.check_case` (the trail recomputed from the event store).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from domain.access import AccessDenied
from domain.errors import InvalidValue
from domain.values import Actor
from services.api.deps import ReadModelNotBuilt
from services.api.pages.cases import not_found, refusal_page
from services.api.pages.deps import PageServices, available, render, signed_in
from services.api.routers import audit as audit_api
from services.audit.case_check import check_case
from services.casework.errors import CaseNotFound
from services.casework.read_log import Purpose

router = APIRouter(include_in_schema=False)
S = Purpose.SUPERVISION
AT = Query(None, description="The day (inclusive) to see the case as of.")
BY = Query("recorded")


@router.get("/oversight")
def oversight(request: Request, actor: Actor = Depends(signed_in),  # noqa: B008
              web: PageServices = Depends(available)) -> Response:  # noqa: B008
    svc = web.api
    try:
        lists = {"closures": audit_api.audit_closures(request, S, actor, svc),
                 "age_outs": audit_api.age_outs(request, S, actor, svc),
                 "complaints": audit_api.audit_complaints(request, None, S, actor, svc),
                 "no_decisions": audit_api.no_decisions(request, S, actor, svc)}
    except (AccessDenied, ReadModelNotBuilt) as error:
        return refusal_page(request, error)
    return render(request, "oversight.html", lists)


def _instant(day: date | None) -> datetime | None:
    """The end of ``day`` (UTC): "as of 3 March" includes what happened or was recorded on 3 March."""
    return None if day is None else datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


@router.get("/oversight/cases/{case_id}")
def audit_case(request: Request, case_id: UUID, at: date | None = AT, by: Literal["recorded", "occurred"] = BY,
               actor: Actor = Depends(signed_in),  # noqa: B008
               web: PageServices = Depends(available)) -> Response:  # noqa: B008
    svc = web.api
    snapshot: dict[str, Any] | None = None
    try:
        entries = audit_api.trail(request, case_id, S, None, actor, svc)
        if at is not None:
            instant = _instant(at)
            assert instant is not None
            answer = audit_api.as_of(request, instant, case_id, by, S, actor, svc)
            snapshot = json.loads(bytes(answer.body))
        log = audit_api.read_log_entries(request, case_id, None, 200, actor, svc)
    except CaseNotFound:
        return not_found(request)
    except (AccessDenied, ReadModelNotBuilt, InvalidValue) as error:
        return refusal_page(request, error)
    check = check_case(svc.app, case_id, entries)
    return render(request, "audit_case.html", {"case_id": case_id, "entries": entries, "check": check, "at": at,
                                               "by": by, "snapshot": snapshot, "log": log})
