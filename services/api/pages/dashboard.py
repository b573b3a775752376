"""The municipality lead's dashboard (also municipal staff): services by level, the funnel, timeliness T1-T4,
plans due and coverage per institution type (case managers at the centres included) as server-drawn SVG charts,
the half-yearly status report so far (its text) and any half-year's report as CSV.

Every figure is the JSON API's own read (``services.api.routers.dashboards``, called with the signed-in person: the
same scope, a municipality's own figures only, and one read-log row per row-level case shown); the funnel and the
report come from the existing queries (``projections.dashboard``) within the same scope. The download is an
export: it is logged with its recipient (a pseudonymous ``org:``/``muni:`` reference) in the read-access log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request, Response

from domain import privacy
from domain.access import AccessDenied, ReadKind
from domain.errors import InvalidValue
from domain.values import Actor
from projections.dashboard import queries as dash_q
from projections.dashboard.calendar import Half
from projections.dashboard.coverage import TypeCoverage
from projections.dashboard.report_export import StatusExport, status_export, to_csv
from services.api.deps import ReadModelNotBuilt
from services.api.pages.cases import refusal_page
from services.api.pages.charts import Chart, bars
from services.api.pages.deps import PageServices, available, csrf_checked, render, signed_in
from services.api.routers import dashboards as dash_api
from services.api.routers import reports as reports_api
from services.casework.read_log import Outcome, Purpose, ReadAttempt

router = APIRouter(include_in_schema=False)
OVERSIGHT = Purpose.OVERSIGHT
FUNNEL_IS = ("contacts", "information_sharing_requests", "integration_requests", "level1_integration",
             "case_manager_track", "support_teams", "support_plans", "closed")
FUNNEL_NO = ("requests", "assessed", "granted", "refused", "consented", "appointed", "individual_plans")


def _label(name: str) -> str:
    return name.replace("_", " ")


def _charts(request: Request, actor: Actor, web: PageServices) -> tuple[list[Chart], dict[str, Any]]:
    svc, today = web.api, datetime.now(UTC).date()
    scope = svc.reads.scope(actor, ReadKind.DASHBOARD, resource="funnel", purpose=OVERSIGHT,
                            correlation_id=getattr(request.state, "correlation_id", None))
    if scope.municipality_ref is None:
        raise AccessDenied("ACCESS-SCOPE", "the municipality dashboard", (), (), reason=(
            "The municipality dashboard shows one municipality's own figures, to its lead and staff."),
            remedy="Supervisors use the oversight pages and the JSON dashboards with municipality_ref.")
    levels = dash_api.services_by_level(request, today, "municipality", None, actor, svc)
    timing = dash_api.timeliness(request, today, "municipality", None, None, None, actor, svc)
    due = dash_api.plans_due(request, today, 30, None, OVERSIGHT, actor, svc)
    with svc.read_models.reading("dashboard") as cur:
        iceland = dash_q.integration_funnel(cur, municipality_ref=scope.municipality_ref)
        norway = dash_q.barnekoordinator_funnel(cur, municipality_ref=scope.municipality_ref)
    charts = [bars("levels", "Services by level (active today)",
                   [(f"level {lc.level}", [lc.children, lc.services]) for lc in levels],
                   series=("children", "services"))]
    if iceland:
        charts.append(bars("funnel", "Integration funnel (cases reaching each stage)",
                           [(_label(s), [getattr(iceland[0], s)]) for s in FUNNEL_IS], series=("cases",)))
    if norway:
        charts.append(bars("funnel-no", "Barnekoordinator funnel", [(_label(s), [getattr(norway[0], s)])
                                                                   for s in FUNNEL_NO], series=("cases",)))
    charts.append(bars("timeliness", "Timeliness T1-T4 (days; T1 working days, T4 days late)",
                       [(f"{t.timer} ({t.completed} done, {t.running} running)", [t.median_days, t.p90_days])
                        for t in timing], series=("median", "90th percentile"), unit="days"))
    overdue = sum(1 for r in due if r.overdue)
    charts.append(bars("plans", "Plan reviews", [("overdue", [overdue]), ("due within 30 days", [len(due) - overdue])],
                       series=("plans",)))
    by_type = reports_api.coverage(request, today, None, actor, svc)
    charts.append(bars("coverage", "Coverage by institution type (% with a coordinator; centres: a case manager)",
                       [(_coverage_label(c), [c.percentage]) for c in by_type], series=("% covered",),
                       unit="%"))
    return charts, {"municipality": scope.municipality_ref, "due": due, "timing": timing, "coverage": by_type,
                    "report": _current_report(request, actor, web, scope.municipality_ref)}


def _coverage_label(c: TypeCoverage) -> str:
    kind = "centres (case managers)" if c.role == "case_manager" else _label(c.institution_type)
    return f"{kind}: {c.covered} of {c.institutions}"


def _current_report(request: Request, actor: Actor, web: PageServices, municipality_ref: str) -> StatusExport:
    """The half-year so far, shown on the page: a read of the report by the lead themselves, logged as one."""
    svc, today = web.api, datetime.now(UTC).date()
    half: Half = 1 if today.month <= 6 else 2
    svc.reads.scope(actor, ReadKind.STATUS_REPORT, resource="status_report", purpose=OVERSIGHT,
                    correlation_id=getattr(request.state, "correlation_id", None))
    thresholds = dash_q.Thresholds.from_legal_settings(svc.app.legal_settings)
    with svc.read_models.reading("dashboard") as cur:
        export = status_export(cur, municipality_ref=municipality_ref, year=today.year, half=half,
                               thresholds=thresholds)
    svc.reads.rows_read(actor, ReadKind.STATUS_REPORT, resource=f"status_report {municipality_ref} {today.year}-H"
                        f"{half} page to {actor.person_ref}", purpose=OVERSIGHT, cases=[(None, None)],
                        correlation_id=getattr(request.state, "correlation_id", None))
    return export


@router.get("/dashboard")
def dashboard(request: Request, actor: Actor = Depends(signed_in),  # noqa: B008
              web: PageServices = Depends(available)) -> Response:  # noqa: B008
    try:
        charts, extra = _charts(request, actor, web)
    except (AccessDenied, InvalidValue, ReadModelNotBuilt) as error:
        return refusal_page(request, error)
    year = datetime.now(UTC).year
    return render(request, "dashboard.html", {"charts": charts, "years": list(range(year, year - 6, -1)), **extra})


@router.post("/dashboard/status-report.csv", dependencies=[Depends(csrf_checked)])
def status_report_csv(request: Request, year: int = Form(ge=1990, le=2099), half: int = Form(ge=1, le=2),
                      recipient_ref: str = Form(), actor: Actor = Depends(signed_in),  # noqa: B008
                      web: PageServices = Depends(available)) -> Response:  # noqa: B008
    """The half-yearly status report of the person's own municipality, logged as an export with its recipient."""
    svc = web.api
    correlation = getattr(request.state, "correlation_id", None)
    try:
        recipient = recipient_ref.strip()
        if recipient.startswith("muni:"):
            privacy.check_ref("recipient_ref", recipient, "muni")
        else:
            privacy.check_ref("recipient_ref", recipient, "org")
        scope = svc.reads.scope(actor, ReadKind.STATUS_REPORT, resource="status_report_export", purpose=OVERSIGHT,
                                correlation_id=correlation)
        if scope.municipality_ref is None:
            raise AccessDenied("ACCESS-SCOPE", "the status report", (), (), reason=(
                "A status report is one municipality's, exported by its lead or staff."))
        thresholds = dash_q.Thresholds.from_legal_settings(svc.app.legal_settings)
        with svc.read_models.reading("dashboard") as cur:
            export = status_export(cur, municipality_ref=scope.municipality_ref, year=year,
                                   half=1 if half == 1 else 2, thresholds=thresholds)
    except (AccessDenied, InvalidValue, ReadModelNotBuilt) as error:
        return refusal_page(request, error)
    svc.read_log.record([ReadAttempt(actor, f"status_report_export {year}H{half}", OVERSIGHT, Outcome.GRANTED,
                                     f"ACCESS-READ-STATUS-REPORT: exported to {recipient}",
                                     correlation_id=correlation)])
    name = f"status-report-{scope.municipality_ref.split(':', 1)[1]}-{year}-H{half}.csv"
    return Response(to_csv(export), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
