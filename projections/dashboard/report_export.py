"""The half-yearly status report as an export: the structured report of :mod:`projections.dashboard.report` plus
coverage per institution type (:mod:`projections.dashboard.coverage`), as JSON-ready data or as CSV.

CSV because a council's or board's secretariat pastes figures into its own documents (seed 004: Reykjavík's
reports are tables of progress); one figure a row, ``section,group,measure,value``, so the file reads the same
whatever the municipality has (a municipality without Norwegian cases simply has no ``norway`` rows). The csv
module writes it (quoting, line ends); nothing here formats by hand.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from projections.dashboard.calendar import Half
from projections.dashboard.coverage import TypeCoverage, coverage_by_type
from projections.dashboard.queries import Cursor, Thresholds
from projections.dashboard.report import StatusReport, render_status_report, status_report

Row = tuple[str, str, str, Any]


@dataclass(frozen=True)
class StatusExport:
    report: StatusReport
    coverage_by_type: tuple[TypeCoverage, ...]

    @property
    def text(self) -> str:
        """The Reykjavík-style paragraphs, with a last paragraph on coverage per institution type."""
        lines = [render_status_report(self.report).rstrip("\n")]
        for c in self.coverage_by_type:
            what = "had a designated coordinator" if c.role == "coordinator" else "had a case manager"
            kind = "centres (social services)" if c.role == "case_manager" else c.institution_type.replace("_", " ")
            share = "-" if c.percentage is None else f"{c.percentage}%"
            unregistered = f", {c.unregistered} not in the directory" if c.unregistered else ""
            lines.append(f"\nCoverage, {kind}: {c.covered} of {c.institutions} {what} ({share}{unregistered}).")
        return "\n".join(lines) + "\n"


def status_export(cur: Cursor, *, municipality_ref: str, year: int, half: Half,
                  thresholds: Thresholds | None = None) -> StatusExport:
    report = status_report(cur, municipality_ref=municipality_ref, year=year, half=half, thresholds=thresholds)
    coverage = coverage_by_type(cur, as_of=report.period[1], municipality_ref=municipality_ref)
    return StatusExport(report, tuple(coverage))


def rows(export: StatusExport) -> Iterator[Row]:
    """Every figure of the export, one ``(section, group, measure, value)`` a row."""
    r = export.report
    yield ("report", r.municipality_ref, "period", f"{r.period[0]}/{r.period[1]}")
    yield ("report", r.municipality_ref, "report_date", r.report_date.isoformat())
    for section, funnel in (("iceland", r.iceland), ("norway", r.norway)):
        if funnel is not None:
            for measure, value in asdict(funnel).items():
                if measure != "municipality_ref" and not isinstance(value, tuple | list):
                    yield (section, r.municipality_ref, measure, value)
    yield ("cases", r.municipality_ref, "open_cases", r.open_cases)
    yield ("services", r.municipality_ref, "children_with_services", r.children_with_services)
    for level in r.services_by_level:
        yield ("services_by_level", f"level {level.level}", "children", level.children)
        yield ("services_by_level", f"level {level.level}", "services", level.services)
    for t in r.timeliness:
        for measure in ("completed", "median_days", "p90_days", "threshold", "breaches", "running"):
            yield ("timeliness", t.timer, measure, getattr(t, measure))
    yield ("plans", r.municipality_ref, "reviews_overdue", r.plan_reviews_overdue)
    yield ("plans", r.municipality_ref, "reviews_due_soon", r.plan_reviews_due_soon)
    yield ("plans", r.municipality_ref, "transition_watch", r.transition_watch)
    if r.closures_without_plan is not None:
        yield ("closures_without_plan", r.municipality_ref, "teams_concluded", r.closures_without_plan.teams_concluded)
        yield ("closures_without_plan", r.municipality_ref, "without_plan", r.closures_without_plan.without_plan)
    for s in r.complaints:
        yield ("complaints", f"{s.jurisdiction} {s.stage}", "current", s.current)
    for c in export.coverage_by_type:
        group = f"{c.institution_type} {c.role}"
        for measure in ("institutions", "covered", "percentage", "unregistered"):
            yield ("coverage", group, measure, getattr(c, measure))


def to_csv(export: StatusExport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "group", "measure", "value"))
    writer.writerows(("" if v is None else v for v in row) for row in rows(export))
    return out.getvalue()
