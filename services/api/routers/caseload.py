"""``GET /v1/me/caseload``: the caller's own open cases (coordinator, case manager, barnekoordinator) and their
next deadlines, from the dashboard read model (ACCESS-READ-CASELOAD). Each case returned is a read of its data,
one row in the read-access log with the stated purpose."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request

from contracts.bounds import CalendarDate
from domain.access import ReadKind
from domain.values import Actor
from projections.dashboard import queries as dash_q
from services.api import models as m
from services.api.deps import PURPOSE_RULE, Services, caller, correlation, read_access, responses, services
from services.api.periods import DAY_RULE, day
from services.casework.read_log import Purpose

router = APIRouter(tags=["cases"])
PURPOSE = Header(alias="X-Purpose",
                 description="Why the cases are read; recorded in the read-access log." + PURPOSE_RULE)
AS_OF = Query(None, description="The day (inclusive); today (UTC) when absent. " + DAY_RULE)
_DESCRIPTION, _ACCESS = read_access(ReadKind.CASELOAD)


@router.get("/v1/me/caseload", summary="My open cases and their next deadlines", response_model=list[m.MyCaseView],
            responses=responses(401, 403, 422, 429, 503), operation_id="my_caseload",
            description="The open cases where the caller is the coordinator, case manager or barnekoordinator, the "
                        f"earliest next deadline first; each case returned is logged.\n\n{_DESCRIPTION}",
            openapi_extra={"x-prosperity-access": _ACCESS})
def my_caseload(request: Request, purpose: Purpose = PURPOSE, as_of: CalendarDate | None = AS_OF,
                actor: Actor = Depends(caller), svc: Services = Depends(services)) -> list[m.MyCaseView]:  # noqa: B008
    svc.reads.scope(actor, ReadKind.CASELOAD, resource="caseload", purpose=purpose,
                    correlation_id=correlation(request))
    with svc.read_models.reading("dashboard") as cur:
        rows = dash_q.my_caseload(cur, person_ref=actor.person_ref, as_of=day("as_of", as_of))
    svc.reads.rows_read(actor, ReadKind.CASELOAD, resource="caseload", purpose=purpose,
                        cases=[(UUID(row.case_id), row.jurisdiction) for row in rows],
                        correlation_id=correlation(request))
    return list(rows)
