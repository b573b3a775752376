"""``GET /v1/reports/status``: the half-yearly status report of one municipality (seed 004; domain.md §6
``status_report_export``), as JSON, CSV or the Reykjavík-style text, and ``GET /v1/dashboards/coverage-by-type``.

Who may ask (ACCESS-READ-STATUS-REPORT): the municipality's lead about its own municipality, the supervisor about
a municipality of its jurisdiction. A report is an export: each one is a row in the read-access log naming the
municipality, the half-year and the **recipient** (``X-Recipient``: the council, board or body it is for; the
caller's own organisation when absent), so "exports and their recipients" (§5 item 8) can be answered.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import TypeAdapter

from contracts.bounds import CalendarDate
from domain.access import AccessDenied, ReadKind
from domain.values import Actor
from projections.dashboard.coverage import TypeCoverage, coverage_by_type
from projections.dashboard.queries import Thresholds
from projections.dashboard.report_export import StatusExport, status_export, to_csv
from services.api.deps import Services, caller, correlation, read_access, responses, services
from services.api.periods import day
from services.api.routers.dashboards import _municipalities
from services.casework.export_log import record_export
from services.casework.read_log import Purpose

router = APIRouter(tags=["reports"])
MUNI = Query(None, pattern=r"^muni:[A-Za-z0-9._-]{1,80}$",
             description="The municipality; a lead may leave it out (its own), a supervisor names one.")
RECIPIENT = Header(None, alias="X-Recipient", pattern=r"^(org|muni|person):[A-Za-z0-9._-]{1,80}$",
                   description="Who the report is for (logged); the caller's organisation when absent.")
_DESCRIPTION, _ACCESS = read_access(ReadKind.STATUS_REPORT)
_DASH_DESCRIPTION, _DASH_ACCESS = read_access(ReadKind.DASHBOARD)
_EXPORT = TypeAdapter(StatusExport)
"""Serialises the export (dataclasses) as JSON, the way FastAPI would."""


def _municipality(request: Request, actor: Actor, svc: Services, kind: ReadKind, asked: str | None,
                  resource: str) -> str:
    """The one municipality the caller may have the report (or figures) of, or AccessDenied (403)."""
    scope = svc.reads.scope(actor, kind, resource=resource, purpose=Purpose.OVERSIGHT, asked_municipality=asked,
                            correlation_id=correlation(request))
    muni = scope.municipality_ref or asked
    if muni is None:
        raise AccessDenied("ACCESS-SCOPE", f"the {kind.value} read", (), (), reason=(
            "A status report is of one municipality; a supervisor names it."),
            remedy="Add municipality_ref=<a municipality of your jurisdiction>.")
    if scope.jurisdiction is not None:
        with svc.read_models.reading("dashboard") as cur:
            allowed = _municipalities(cur, scope)
        if allowed is not None and muni not in allowed:
            raise AccessDenied("ACCESS-SCOPE", f"the {kind.value} read", (), (), reason=(
                f"{muni} is not a municipality of your jurisdiction ({scope.jurisdiction.value})."),
                remedy="Ask about a municipality of your own jurisdiction.")
    return muni


@router.get("/v1/reports/status", summary="The half-yearly status report of a municipality",
            response_model=StatusExport, responses={**responses(401, 403, 422, 429, 503),
                       200: {"content": {"application/json": {}, "text/csv": {}, "text/plain": {}}}},
            operation_id="status_report", description=f"The Reykjavík-style half-yearly report (seed 004): the "
            f"figures of the half-year and coverage per institution type; `format=csv` for a spreadsheet, `text` for "
            f"the paragraphs. Each report is logged with its recipient.\n\n{_DESCRIPTION}",
            openapi_extra={"x-prosperity-access": _ACCESS})
def status(request: Request, year: int = Query(ge=2000, le=2099), half: int = Query(ge=1, le=2),
           municipality_ref: str | None = MUNI, format: Literal["json", "csv", "text"] = "json",
           recipient: str | None = RECIPIENT, actor: Actor = Depends(caller),  # noqa: B008
           svc: Services = Depends(services)) -> Response:  # noqa: B008
    muni = _municipality(request, actor, svc, ReadKind.STATUS_REPORT, municipality_ref, "status_report")
    to = recipient or actor.org_ref or actor.municipality_ref or actor.person_ref
    thresholds = Thresholds.from_legal_settings(svc.app.legal_settings)
    with svc.read_models.reading("dashboard") as cur:
        export = status_export(cur, municipality_ref=muni, year=year, half=1 if half == 1 else 2,
                               thresholds=thresholds)
    jurisdiction = None if actor.jurisdiction is None else actor.jurisdiction.value
    svc.reads.rows_read(actor, ReadKind.STATUS_REPORT, resource=f"status_report {muni} {year}-H{half} {format} "
                        f"to {to}", purpose=Purpose.OVERSIGHT, cases=[(None, jurisdiction)],
                        correlation_id=correlation(request))
    filename = f"status-{muni.removeprefix('muni:')}-{year}-h{half}"
    if format == "csv":
        body, media = to_csv(export).encode(), "text/csv; charset=utf-8"
    elif format == "text":
        body, media = export.text.encode(), "text/plain; charset=utf-8"
    else:
        body, media = _EXPORT.dump_json(export), "application/json"
    if svc.exports is not None:  # every export in the export log with its recipient, before it is handed over
        record_export(svc.exports, actor, kind="status_report", export_format=format, recipient_ref=to,
                      rule_id="ACCESS-READ-STATUS-REPORT", content=body, jurisdiction=jurisdiction,
                      correlation_id=correlation(request))
    headers = {"Content-Disposition": f'attachment; filename="{filename}.csv"'} if format == "csv" else None
    return Response(body, media_type=media, headers=headers)


@router.get("/v1/dashboards/coverage-by-type", summary="Coverage per institution type, case managers at centres",
            response_model=list[TypeCoverage], operation_id="coverage_by_type",
            responses=responses(401, 403, 422, 429, 503), description=f"Seed 004: the percentage of each type of "
            f"institution with a designated coordinator, and of the centres with a case manager (registered or "
            f"not).\n\n{_DASH_DESCRIPTION}", openapi_extra={"x-prosperity-access": _DASH_ACCESS})
def coverage(request: Request, as_of: CalendarDate | None = Query(None), municipality_ref: str | None = MUNI,  # noqa: B008
             actor: Actor = Depends(caller), svc: Services = Depends(services)) -> list[TypeCoverage]:  # noqa: B008
    muni = _municipality(request, actor, svc, ReadKind.DASHBOARD, municipality_ref, "coverage_by_type")
    with svc.read_models.reading("dashboard") as cur:
        return coverage_by_type(cur, as_of=day("as_of", as_of), municipality_ref=muni)
