"""Queries for supervision and capacity: closures without a plan, complaints by stage, caseload per case
manager or barnekoordinator, coordinator coverage per institution (domain.md §6).

Same conventions as :mod:`projections.dashboard.queries`: a cursor from ``store.reading()``, ``as_of``
inclusive, the case's current municipality, frozen dataclasses out, every count made here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from projections.dashboard.queries import ALL_TIME, Cursor, Period


# ---- closures without plan ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ClosuresWithoutPlan:
    """IS-INV-6 follow-up for one municipality: support teams that ended without a plan."""

    municipality_ref: str
    teams_concluded: int
    """Support teams concluded in the period, whatever the outcome."""
    without_plan: int
    rate: float | None
    """``without_plan / teams_concluded``; ``None`` when no team concluded."""
    complaints_linked: int
    """Complaints recorded on the cases closed without a plan (any subject)."""
    complaints_about_closure: int
    """Of those, complaints whose subject is the conclusion without a plan."""


def closures_without_plan(cur: Cursor, *, period: Period = ALL_TIME,
                          municipality_ref: str | None = None) -> list[ClosuresWithoutPlan]:
    """``closures_without_plan`` (domain.md §6): count, rate and the complaints that followed. The
    justification is a document (never a category on the event), so no justification breakdown is made."""
    rows = cur.execute(
        "SELECT c.municipality_ref, count(*) FILTER (WHERE c.team_concluded_on BETWEEN %(from)s AND %(to)s),"
        " count(*) FILTER (WHERE c.team_outcome = 'concluded_without_plan'"
        "                  AND c.team_concluded_on BETWEEN %(from)s AND %(to)s),"
        " coalesce(sum(k.linked) FILTER (WHERE c.team_outcome = 'concluded_without_plan'"
        "                  AND c.team_concluded_on BETWEEN %(from)s AND %(to)s), 0)::int,"
        " coalesce(sum(k.about) FILTER (WHERE c.team_outcome = 'concluded_without_plan'"
        "                  AND c.team_concluded_on BETWEEN %(from)s AND %(to)s), 0)::int"
        " FROM dash_case c LEFT JOIN (SELECT case_id, count(*) AS linked,"
        "   count(*) FILTER (WHERE subject = 'team_concluded_without_plan') AS about"
        "   FROM dash_complaint GROUP BY case_id) k USING (case_id)"
        " WHERE c.jurisdiction = 'IS' AND c.team_established_on IS NOT NULL"
        " AND (%(muni)s::text IS NULL OR c.municipality_ref = %(muni)s)"
        " GROUP BY c.municipality_ref ORDER BY c.municipality_ref",
        {"from": period[0], "to": period[1], "muni": municipality_ref}).fetchall()
    return [ClosuresWithoutPlan(muni, concluded, without, without / concluded if concluded else None, linked, about)
            for muni, concluded, without, linked, about in rows]


# ---- complaints by stage -----------------------------------------------------------------------------
ComplaintStageName = Literal["lodged", "outcome_recorded", "received", "reconsidered", "forwarded", "decided"]


@dataclass(frozen=True)
class ComplaintStage:
    """Complaints of one jurisdiction and municipality at one stage of their path, on ``as_of``.

    IS (GEV): ``lodged`` → ``outcome_recorded``. NO: ``received`` (by the municipality) → ``reconsidered``
    (upheld: the path ends there) → ``forwarded`` (to Statsforvalteren) → ``decided``."""

    jurisdiction: str
    municipality_ref: str
    stage: ComplaintStageName
    entered: int
    """Complaints that reached the stage by ``as_of``."""
    current: int
    """Complaints in the stage on ``as_of`` (for a final stage: those that ended there)."""
    final: bool
    """Whether a complaint at this stage has finished its path (upheld reconsiderations are final too)."""
    median_days_in_stage: float | None
    """Days spent in the stage by complaints that moved on by ``as_of``."""
    longest_waiting_days: int | None
    """Days the longest-waiting complaint still in this (non-final) stage has waited on ``as_of``."""


_STAGES = """
WITH s AS (
    SELECT k.jurisdiction, c.municipality_ref, st.stage, st.ord, st.final, st.entered_on,
           CASE WHEN st.left_on <= %(as_of)s THEN st.left_on END AS left_on
    FROM dash_complaint k JOIN dash_case c USING (case_id),
    LATERAL (VALUES
        ('IS', 'lodged', 1, k.lodged_on, k.outcome_on, false),
        ('IS', 'outcome_recorded', 2, k.outcome_on, NULL::date, true),
        ('NO', 'received', 1, k.lodged_on, k.reconsidered_on, false),
        ('NO', 'reconsidered', 2, k.reconsidered_on, k.forwarded_on, k.reconsideration_outcome = 'upheld'),
        ('NO', 'forwarded', 3, k.forwarded_on, k.decided_on, false),
        ('NO', 'decided', 4, k.decided_on, NULL::date, true)
    ) AS st(law, stage, ord, entered_on, left_on, final)
    WHERE st.law = k.jurisdiction AND st.entered_on <= %(as_of)s
      AND (%(muni)s::text IS NULL OR c.municipality_ref = %(muni)s)
)
SELECT jurisdiction, municipality_ref, stage, count(*), count(*) FILTER (WHERE left_on IS NULL),
       bool_and(final), percentile_cont(0.5) WITHIN GROUP (ORDER BY left_on - entered_on)
           FILTER (WHERE left_on IS NOT NULL),
       max(%(as_of)s::date - entered_on) FILTER (WHERE left_on IS NULL AND NOT final)
FROM s GROUP BY jurisdiction, municipality_ref, stage, ord ORDER BY jurisdiction, municipality_ref, ord"""


def complaints_by_stage(cur: Cursor, *, as_of: date, municipality_ref: str | None = None) -> list[ComplaintStage]:
    """``complaints`` (domain.md §6): IS complaints to GEV and NO complaints through reconsideration to
    Statsforvalteren, counted per stage, with the time spent in each stage."""
    rows = cur.execute(_STAGES, {"as_of": as_of, "muni": municipality_ref}).fetchall()
    return [ComplaintStage(*row) for row in rows]


# ---- caseload -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Caseload:
    """Open cases led by one person now: an Icelandic case manager or a Norwegian barnekoordinator."""

    jurisdiction: str
    municipality_ref: str
    person_ref: str
    role: Literal["case_manager", "barnekoordinator"]
    open_cases: int
    children: int


def caseload_per_case_manager(cur: Cursor, *, municipality_ref: str | None = None) -> list[Caseload]:
    """``caseload_per_case_manager`` (domain.md §6), on the current state: IS open cases on the
    case-manager-led track by their case manager; NO open cases by their appointed barnekoordinator."""
    rows = cur.execute(
        "SELECT jurisdiction, municipality_ref, lead, role, count(*), count(DISTINCT child_ref) FROM ("
        "  SELECT jurisdiction, municipality_ref, child_ref, case_manager_ref AS lead, 'case_manager' AS role"
        "  FROM dash_case WHERE jurisdiction = 'IS' AND track = 'case_manager_led' AND case_manager_ref IS NOT NULL"
        "  AND closed_on IS NULL"
        "  UNION ALL"
        "  SELECT jurisdiction, municipality_ref, child_ref, barnekoordinator_ref, 'barnekoordinator'"
        "  FROM dash_case WHERE jurisdiction = 'NO' AND barnekoordinator_ref IS NOT NULL AND closed_on IS NULL"
        ") led WHERE (%(muni)s::text IS NULL OR municipality_ref = %(muni)s)"
        " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 5 DESC, 3", {"muni": municipality_ref}).fetchall()
    return [Caseload(*row) for row in rows]


# ---- coordinator coverage ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Coverage:
    """Whether an institution in the coordinator directory had a designated coordinator on ``as_of``."""

    org_ref: str
    institution_type: str
    municipality_ref: str
    jurisdiction: str | None
    designated: bool
    coordinators: int


def coordinator_coverage(cur: Cursor, *, as_of: date, municipality_ref: str | None = None) -> list[Coverage]:
    """``coordinator_coverage`` (domain.md §6; the Reykjavík Oct 2022 milestone, seed 004): institutions
    registered by ``as_of`` and their coordinators designated and not withdrawn on that day."""
    rows = cur.execute(
        "SELECT i.org_ref, i.institution_type, i.municipality_ref, i.jurisdiction,"
        " count(d.seq) FILTER (WHERE d.designated_on <= %(as_of)s"
        "                      AND (d.withdrawn_on IS NULL OR d.withdrawn_on > %(as_of)s))"
        " FROM dash_institution i LEFT JOIN dash_designation d USING (institution_id)"
        " WHERE i.registered_on <= %(as_of)s AND (%(muni)s::text IS NULL OR i.municipality_ref = %(muni)s)"
        " GROUP BY 1, 2, 3, 4 ORDER BY 3, 2, 1", {"as_of": as_of, "muni": municipality_ref}).fetchall()
    return [Coverage(org, kind, muni, law, count > 0, count) for org, kind, muni, law, count in rows]
