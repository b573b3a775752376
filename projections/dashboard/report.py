"""The half-yearly status report of one municipality, in the Reykjavík style (seed 004; domain.md §6
``status_report_export``): a structured report, and a plain-text rendering for a council or board.

Reykjavík publishes its prosperity status reports twice a year, "Status report on July 1, 2025" for the
first half and on January 1 for the second, as short progress paragraphs. The structured report holds the
key figures the paragraphs are written from; both come from the same queries as the dashboard.
Municipal figures are not suppressed (the municipality reports on its own services); what leaves for
national use goes through :func:`projections.dashboard.queries.national_aggregates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from projections.dashboard.calendar import Half, half_year, report_date
from projections.dashboard.oversight import (
    ClosuresWithoutPlan,
    ComplaintStage,
    Coverage,
    closures_without_plan,
    complaints_by_stage,
    coordinator_coverage,
)
from projections.dashboard.queries import (
    Cursor,
    IcelandFunnel,
    LevelCount,
    NorwayFunnel,
    Period,
    Thresholds,
    Timeliness,
    barnekoordinator_funnel,
    integration_funnel,
    plans_due_and_overdue,
    services_by_level,
    timeliness,
    transition_watch,
)

DUE_SOON_DAYS = 30


@dataclass(frozen=True)
class StatusReport:
    """One municipality's half-year: flows within the period, states on its last day."""

    municipality_ref: str
    year: int
    half: Half
    period: Period
    report_date: date
    iceland: IcelandFunnel | None
    """Cases that reached each stage within the period."""
    norway: NorwayFunnel | None
    open_cases: int
    """Cases open on the last day of the period."""
    children_with_services: int
    """Children with at least one active service (any level) on the last day."""
    services_by_level: tuple[LevelCount, ...]
    timeliness: tuple[Timeliness, ...]
    """Timers completed within the period; running ones as of the last day."""
    plan_reviews_overdue: int
    plan_reviews_due_soon: int
    transition_watch: int
    closures_without_plan: ClosuresWithoutPlan | None
    complaints: tuple[ComplaintStage, ...]
    coverage: tuple[Coverage, ...]

    @property
    def institutions_covered(self) -> int:
        return sum(1 for institution in self.coverage if institution.designated)


def status_report(cur: Cursor, *, municipality_ref: str, year: int, half: Half,
                  thresholds: Thresholds | None = None) -> StatusReport:
    """The structured report for ``municipality_ref`` and the half-year (Jan 1-Jun 30 or Jul 1-Dec 31)."""
    period = half_year(year, half)
    end = period[1]
    muni = municipality_ref
    iceland = integration_funnel(cur, period=period, municipality_ref=muni)
    norway = barnekoordinator_funnel(cur, period=period, municipality_ref=muni)
    open_row = cur.execute(
        "SELECT count(*) FROM dash_case WHERE municipality_ref = %s AND opened_on <= %s"
        " AND (closed_on IS NULL OR closed_on > %s)", (municipality_ref, end, end)).fetchone()
    children_row = cur.execute(
        "SELECT count(DISTINCT c.child_ref) FROM dash_service s JOIN dash_case c USING (case_id)"
        " WHERE c.municipality_ref = %(muni)s AND s.start_date <= %(end)s"
        " AND (s.end_date IS NULL OR s.end_date >= %(end)s) AND (c.closed_on IS NULL OR c.closed_on > %(end)s)",
        {"muni": municipality_ref, "end": end}).fetchone()
    reviews = plans_due_and_overdue(cur, as_of=end, horizon_days=DUE_SOON_DAYS, municipality_ref=muni)
    closures = closures_without_plan(cur, period=period, municipality_ref=muni)
    return StatusReport(
        municipality_ref=municipality_ref, year=year, half=half, period=period, report_date=report_date(year, half),
        iceland=iceland[0] if iceland else None, norway=norway[0] if norway else None,
        open_cases=open_row[0] if open_row else 0, children_with_services=children_row[0] if children_row else 0,
        services_by_level=tuple(services_by_level(cur, as_of=end, municipality_ref=muni)),
        timeliness=tuple(timeliness(cur, as_of=end, thresholds=thresholds, period=period, municipality_ref=muni)),
        plan_reviews_overdue=sum(1 for r in reviews if r.overdue),
        plan_reviews_due_soon=sum(1 for r in reviews if not r.overdue),
        transition_watch=len(transition_watch(cur, as_of=end, municipality_ref=muni)),
        closures_without_plan=closures[0] if closures else None,
        complaints=tuple(complaints_by_stage(cur, as_of=end, municipality_ref=muni)),
        coverage=tuple(coordinator_coverage(cur, as_of=end, municipality_ref=muni)))


# ---- the plain-text rendering ------------------------------------------------------------------------
_TIMER_NAMES = {
    "T1": "contacting the family after information was shared (T1)",
    "T2": "appointing a case manager (T2)",
    "T3": "adopting a support plan after the team was formed (T3)",
    "T4": "evaluating support plans on their review date (T4)",
}
_UNITS = {"T1": "working days", "T2": "days", "T3": "days", "T4": "days late"}


def _long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _n(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def render_status_report(report: StatusReport) -> str:
    """The report as plain text, in the shape of Reykjavík's status reports (seed 004)."""
    start, end = report.period
    half_name = "first" if report.half == 1 else "second"
    lines = [
        f"Integration of services for children's prosperity: {report.municipality_ref}",
        "",
        f"Implementation period: {_long_date(start)} - {_long_date(end)}",
        "Status: In progress",
        "",
        f"Status report on {_long_date(report.report_date)}",
        "",
    ]
    paragraphs: list[str] = []
    if report.iceland is not None:
        f = report.iceland
        sharing = _n(f.information_sharing_requests, "information-sharing request was",
                     "information-sharing requests were")
        paragraphs.append(
            f"In the {half_name} half of {report.year}, {_n(f.contacts, 'child', 'children')} came into contact with a"
            f" coordinator of services, {sharing} signed and"
            f" {_n(f.integration_requests, 'family', 'families')} requested integration of services."
            f" Integration started at the first level for {_n(f.level1_integration, 'child', 'children')};"
            f" a case manager was appointed for {_n(f.case_manager_track, 'child', 'children')},"
            f" {_n(f.support_teams, 'support team was', 'support teams were')} established and"
            f" {_n(f.support_plans, 'support plan was', 'support plans were')} adopted."
            f" {_n(f.closed, 'case was', 'cases were')} closed"
            + (" (" + ", ".join(f"{outcome.replace('_', ' ')}: {count}" for outcome, count in f.closed_by_outcome)
               + ")." if f.closed_by_outcome else "."))
    if report.norway is not None:
        n = report.norway
        paragraphs.append(
            f"In the {half_name} half of {report.year}, {_n(n.requests, 'family', 'families')} asked for a"
            f" barnekoordinator; {n.assessed} assessed, {n.granted} granted, {n.refused} refused,"
            f" {_n(n.appointed, 'coordinator', 'coordinators')} appointed and"
            f" {_n(n.individual_plans, 'individual plan', 'individual plans')} adopted.")
    open_cases = f"On {_long_date(end)}, {_n(report.open_cases, 'case was', 'cases were')} open"
    if report.iceland is None:
        paragraphs.append(open_cases + ".")
    else:
        by_level = {level: sum(c.children for c in report.services_by_level if c.level == level)
                    for level in (1, 2, 3)}
        paragraphs.append(
            f"{open_cases} and {_n(report.children_with_services, 'child', 'children')} received services:"
            f" {by_level[1]} at level 1, {by_level[2]} at level 2 and {by_level[3]} at level 3 (the service is"
            " tiered, not the child's case, so a child may be counted at more than one level).")
    for t in report.timeliness:
        unit = "days late" if t.timer == "T4" else "days"
        threshold = ("no threshold set: the law gives no number" if t.threshold is None else
                     f"{t.breaches} over the threshold of {t.threshold} {_UNITS[t.timer]}")
        paragraphs.append(
            f"Time for {_TIMER_NAMES[t.timer]}: median {_days(t.median_days)} {unit}, 90th percentile"
            f" {_days(t.p90_days)} {unit} ({t.completed} completed; {threshold}; {t.running} still running).")
    reviews = (f"Plan reviews: {report.plan_reviews_overdue} overdue and {report.plan_reviews_due_soon} due within"
               f" {DUE_SOON_DAYS} days.")
    if report.iceland is not None:
        reviews += (f" Transition to adulthood: {_n(report.transition_watch, 'young person', 'young people')}"
                    " aged 16.5-18 on the case-manager track without an adult transition plan.")
    paragraphs.append(reviews)
    if report.closures_without_plan is not None and report.closures_without_plan.teams_concluded:
        c = report.closures_without_plan
        paragraphs.append(
            f"{_n(c.without_plan, 'support team', 'support teams')} of {c.teams_concluded} concluded without a"
            f" plan; {_n(c.complaints_linked, 'complaint', 'complaints')} followed.")
    if report.complaints:
        stages = ", ".join(f"{s.stage.replace('_', ' ')}: {s.current}" for s in report.complaints)
        paragraphs.append(f"Complaints by stage on {_long_date(end)}: {stages}.")
    if report.coverage:
        registered = _n(len(report.coverage), "registered institution", "registered institutions")
        paragraphs.append(
            f"{report.institutions_covered} of {registered}"
            " had a designated coordinator of services.")
    lines.extend(paragraph + "\n" for paragraph in paragraphs)
    return "\n".join(lines).rstrip() + "\n"
