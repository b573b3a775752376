"""The municipality lead's dashboard (also municipal staff): services by level, the funnel, timeliness T1-T4,
plans due and coordinator coverage as server-drawn SVG charts, and the half-yearly status report as CSV.

Every figure is the JSON API's own read (``services.api.routers.dashboards``, called with the signed-in person: the
same scope, a municipality's own figures only, and one read-log row per row-level case shown); the funnel and the
report come from the existing queries (``projections.dashboard``) within the same scope. The download is an
export: it is logged with its recipient (a pseudonymous ``org:``/``muni:`` reference) in the read-access log.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request, Response

from domain import privacy
from domain.access import AccessDenied, ReadKind
from domain.errors import InvalidValue
from domain.values import Actor
from projections.dashboard import queries as dash_q
from projections.dashboard.report import StatusReport, status_report
from services.api.deps import ReadModelNotBuilt
from services.api.pages.cases import refusal_page
from services.api.pages.charts import Chart, bars
from services.api.pages.deps import PageServices, available, csrf_checked, render, signed_in
from services.api.routers import dashboards as dash_api
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
    coverage = dash_api.coordinator_coverage(request, today, None, actor, svc)
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
    kinds = sorted({c.institution_type for c in coverage})
    charts.append(bars("coverage", "Coordinator coverage by institution type",
                       [(_label(k), [sum(1 for c in coverage if c.institution_type == k and c.designated),
                                     sum(1 for c in coverage if c.institution_type == k and not c.designated)])
                        for k in kinds], series=("with a coordinator", "without")))
    return charts, {"municipality": scope.municipality_ref, "due": due, "timing": timing}


@router.get("/dashboard")
def dashboard(request: Request, actor: Actor = Depends(signed_in),  # noqa: B008
              web: PageServices = Depends(available)) -> Response:  # noqa: B008
    try:
        charts, extra = _charts(request, actor, web)
    except (AccessDenied, InvalidValue, ReadModelNotBuilt) as error:
        return refusal_page(request, error)
    year = datetime.now(UTC).year
    return render(request, "dashboard.html", {"charts": charts, "years": list(range(year, year - 6, -1)), **extra})


def report_rows(report: StatusReport) -> Iterator[tuple[str, str, str]]:
    """The structured report flattened to (section, item, value) rows."""
    start, end = report.period
    yield "report", "municipality", report.municipality_ref
    yield "report", "period", f"{start.isoformat()}/{end.isoformat()}"
    yield "report", "report_date", report.report_date.isoformat()
    for name, funnel in (("iceland_funnel", report.iceland), ("norway_funnel", report.norway)):
        if funnel is not None:
            for key, value in vars(funnel).items():
                if key != "municipality_ref":
                    yield name, key, str(value)
    yield "state", "open_cases", str(report.open_cases)
    yield "state", "children_with_services", str(report.children_with_services)
    for level in report.services_by_level:
        yield "services_by_level", f"level_{level.level}", f"{level.children} children, {level.services} services"
    for t in report.timeliness:
        yield "timeliness", t.timer, (f"median {t.median_days}, p90 {t.p90_days}, completed {t.completed}, "
                                      f"breaches {t.breaches}, running {t.running}")
    yield "plans", "reviews_overdue", str(report.plan_reviews_overdue)
    yield "plans", "reviews_due_soon", str(report.plan_reviews_due_soon)
    yield "plans", "transition_watch", str(report.transition_watch)
    if report.closures_without_plan is not None:
        c = report.closures_without_plan
        yield "closures_without_plan", "teams_concluded", str(c.teams_concluded)
        yield "closures_without_plan", "without_plan", str(c.without_plan)
    for stage in report.complaints:
        yield "complaints", stage.stage, str(stage.current)
    yield "coverage", "institutions", str(len(report.coverage))
    yield "coverage", "with_coordinator", str(report.institutions_covered)


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
        scope = svc.reads.scope(actor, ReadKind.DASHBOARD, resource="status_report_export", purpose=OVERSIGHT,
                                correlation_id=correlation)
        if scope.municipality_ref is None:
            raise AccessDenied("ACCESS-SCOPE", "the status report", (), (), reason=(
                "A status report is one municipality's, exported by its lead or staff."))
        thresholds = dash_q.Thresholds.from_legal_settings(svc.app.legal_settings)
        with svc.read_models.reading("dashboard") as cur:
            report = status_report(cur, municipality_ref=scope.municipality_ref, year=year,
                                   half=1 if half == 1 else 2, thresholds=thresholds)
    except (AccessDenied, InvalidValue, ReadModelNotBuilt) as error:
        return refusal_page(request, error)
    svc.read_log.record([ReadAttempt(actor, f"status_report_export {year}H{half}", OVERSIGHT, Outcome.GRANTED,
                                     f"ACCESS-READ-DASHBOARD: exported to {recipient}",
                                     correlation_id=correlation)])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("section", "item", "value"))
    writer.writerows(report_rows(report))
    name = f"status-report-{scope.municipality_ref.split(':', 1)[1]}-{year}-H{half}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
