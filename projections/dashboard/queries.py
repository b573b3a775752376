"""Typed queries over the dashboard's per-case rows: every count, median and rate is made here.

Each function takes a cursor from ``ReadModelStore.reading()`` (read-only, ``search_path`` on the serving
generation) and returns frozen dataclasses. Conventions:

* ``as_of`` is a date, inclusive: a fact recorded on that local day has happened "as of" it.
* Municipality is the case's *current* domicile municipality (the envelope's ``municipality_ref`` after
  its latest fact): a case that moved is counted, for all of its history, where it is now.
* Levels count services and children, never cases (domain.md §0); a child is the pseudonymous
  ``child_ref``, so two episodes of one child are one child.
* Row-level results (plans due, transition watch, caseload) are for the municipality's own staff;
  the national aggregate is the only view meant to leave the municipality, and it is suppressed.

Complaints, closures and the half-yearly report are in :mod:`projections.dashboard.oversight` and
:mod:`projections.dashboard.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Literal

import psycopg

from domain.legal_settings import LegalSettings
from projections.dashboard.calendar import AGE_BANDS, age_band_sql, transition_window_birth_years
from projections.dashboard.stats import suppress

Cursor = psycopg.Cursor[Any]
Period = tuple[date, date]
"""First and last day, both inclusive."""

ALL_TIME: Period = (date(1, 1, 1), date(9999, 12, 31))

_ACTIVE_SERVICES = f"""
    SELECT c.child_ref, c.municipality_ref, s.provider_org_ref, s.service_level,
           {age_band_sql("c.birth_year", "%(as_of)s")} AS age_band
    FROM dash_service s JOIN dash_case c USING (case_id)
    WHERE s.start_date <= %(as_of)s::date AND (s.end_date IS NULL OR s.end_date >= %(as_of)s::date)
      AND (c.closed_on IS NULL OR c.closed_on > %(as_of)s::date)
      AND (%(muni)s::text IS NULL OR c.municipality_ref = %(muni)s)"""
"""Services running on ``as_of``: started, not ended (the end date is the last day of the service), and
within an open episode (once the episode closes, its services are no longer followed here)."""


# ---- services by level -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LevelCount:
    """Children with at least one active service at ``level``, and the active services at that level."""

    group: str
    """The municipality, the providing institution or the age band, as asked."""
    level: int
    children: int
    services: int


LevelGrouping = Literal["municipality", "institution", "age_band"]
_LEVEL_GROUP = {"municipality": "municipality_ref", "institution": "provider_org_ref", "age_band": "age_band"}


def services_by_level(cur: Cursor, *, as_of: date, by: LevelGrouping = "municipality",
                      municipality_ref: str | None = None) -> list[LevelCount]:
    """``services_by_level`` (domain.md §6): per municipality, per institution (the service's provider
    organisation) or per age band on ``as_of`` (see :func:`projections.dashboard.calendar.age_band`)."""
    column = _LEVEL_GROUP[by]
    rows = cur.execute(
        f"SELECT {column}, service_level, count(DISTINCT child_ref), count(*) FROM ({_ACTIVE_SERVICES}) a"
        " GROUP BY 1, 2 ORDER BY 1, 2", {"as_of": as_of, "muni": municipality_ref}).fetchall()
    return [LevelCount(group, level, children, services) for group, level, children, services in rows]


# ---- integration funnel ------------------------------------------------------------------------------
@dataclass(frozen=True)
class IcelandFunnel:
    """Cases (episodes) of one municipality that reached each stage, in the order of the law (§2.2)."""

    municipality_ref: str
    contacts: int
    information_sharing_requests: int
    integration_requests: int
    level1_integration: int
    """Integration started at the first level: an initial assessment, a service or a level-1 plan recorded."""
    case_manager_track: int
    """A case manager appointed (the case-manager-led track)."""
    support_teams: int
    support_plans: int
    closed: int
    closed_by_outcome: tuple[tuple[str, int], ...]
    """``(closure outcome, cases)``, most frequent first (see ``schema.CASES``)."""


@dataclass(frozen=True)
class NorwayFunnel:
    """Barnekoordinator cases of one municipality through request, assessment, decision and appointment."""

    municipality_ref: str
    requests: int
    assessed: int
    granted: int
    refused: int
    consented: int
    appointed: int
    individual_plans: int


def integration_funnel(cur: Cursor, *, period: Period = ALL_TIME,
                       municipality_ref: str | None = None) -> list[IcelandFunnel]:
    """``integration_funnel`` (domain.md §6): Icelandic cases that *reached* each stage within ``period``
    (a stage counts on the first day it was reached)."""
    params = {"from": period[0], "to": period[1], "muni": municipality_ref}

    def reached(column: str) -> str:
        return f"count(*) FILTER (WHERE {column} BETWEEN %(from)s AND %(to)s)"

    stages = ("opened_on", "info_request_on", "integration_requested_on", "level1_started_on",
              "case_manager_appointed_on", "team_established_on", "plan_adopted_on", "closed_on")
    rows = cur.execute(
        f"SELECT municipality_ref, {', '.join(reached(s) for s in stages)} FROM dash_case"
        " WHERE jurisdiction = 'IS' AND (%(muni)s::text IS NULL OR municipality_ref = %(muni)s)"
        " GROUP BY municipality_ref ORDER BY municipality_ref", params).fetchall()
    outcomes: dict[str, list[tuple[str, int]]] = {}
    for muni, outcome, count in cur.execute(
            "SELECT municipality_ref, closure_outcome, count(*) FROM dash_case WHERE jurisdiction = 'IS'"
            " AND closed_on BETWEEN %(from)s AND %(to)s AND (%(muni)s::text IS NULL OR municipality_ref = %(muni)s)"
            " GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2", params).fetchall():
        outcomes.setdefault(muni, []).append((outcome, count))
    return [IcelandFunnel(muni, contacts, sharing, requests, level1, managed, teams, plans, closed,
                          tuple(outcomes.get(muni, ())))
            for muni, contacts, sharing, requests, level1, managed, teams, plans, closed in rows]


def barnekoordinator_funnel(cur: Cursor, *, period: Period = ALL_TIME,
                            municipality_ref: str | None = None) -> list[NorwayFunnel]:
    """The Norwegian funnel: requests → assessed → granted / refused → consented → appointed → plan."""
    stages = ("opened_on", "assessed_on", "granted_on", "refused_on", "consented_on",
              "barnekoordinator_appointed_on", "individual_plan_on")
    counts = ", ".join(f"count(*) FILTER (WHERE {s} BETWEEN %(from)s AND %(to)s)" for s in stages)
    rows = cur.execute(
        f"SELECT municipality_ref, {counts} FROM dash_case WHERE jurisdiction = 'NO'"
        " AND (%(muni)s::text IS NULL OR municipality_ref = %(muni)s) GROUP BY 1 ORDER BY 1",
        {"from": period[0], "to": period[1], "muni": municipality_ref}).fetchall()
    return [NorwayFunnel(*row) for row in rows]


# ---- timeliness T1-T4 --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Thresholds:
    """Breach thresholds per timer (domain.md §3). ``None`` means the law gives no number: nothing is
    counted as a breach (``breaches`` is ``None``), the timings are still reported."""

    t1_working_days: int | None = None
    """T1 shared information → family contacted, in working days (Mon-Fri; public holidays not known)."""
    t2_days: int | None = None
    """T2 case manager needed → appointed, in calendar days."""
    t3_days: int | None = None
    """T3 team established → support plan adopted, in calendar days."""
    t4_days_late: int | None = None
    """T4 evaluation after the plan's due review date, in calendar days (0: any lateness is a breach)."""

    @classmethod
    def from_legal_settings(cls, settings: LegalSettings) -> Thresholds:
        """The configured values: T1 as set (5 working days [I] by default), T2 and T3 as set (unknown by
        default, so not enforced), and T4 on the plan's own date (the plan sets it, seed 000)."""
        return cls(t1_working_days=settings.t1_contact_family_working_days,
                   t2_days=settings.t2_case_manager_appointment_days, t3_days=settings.t3_plan_drafting_days,
                   t4_days_late=0)

    def for_timer(self, timer: str) -> int | None:
        return {"T1": self.t1_working_days, "T2": self.t2_days, "T3": self.t3_days, "T4": self.t4_days_late}[timer]


@dataclass(frozen=True)
class Timeliness:
    """One timer for one municipality or institution.

    ``median_days``/``p90_days`` are over timers completed by ``as_of`` (within the period, if one is
    given): days from start to the awaited fact, or for T4 days late (negative: early)."""

    timer: str
    group: str
    completed: int
    median_days: float | None
    p90_days: float | None
    threshold: int | None
    breaches: int | None
    """Completed timers over the threshold (T1 counted in working days)."""
    running: int
    """Timers still running on ``as_of``."""
    running_breaches: int | None
    """Running timers already over the threshold on ``as_of``."""


TimelinessGrouping = Literal["municipality", "institution"]
_TIMING_GROUP = {"municipality": "c.municipality_ref", "institution": "coalesce(t.institution_ref, '(none)')"}

_TIMINGS = """
WITH t AS (
    SELECT t.timer, {group} AS grp, t.started_on, t.due_on,
           coalesce(t.outcome = 'met' AND t.stopped_on <= %(as_of)s, false) AS completed,
           CASE WHEN t.outcome = 'met' AND t.stopped_on <= %(as_of)s THEN t.stopped_on ELSE %(as_of)s END AS end_on
    FROM dash_timer t JOIN dash_case c USING (case_id)
    WHERE t.timer IN ('T1', 'T2', 'T3', 'T4') AND t.started_on <= %(as_of)s
      AND (t.outcome IS NULL OR t.stopped_on > %(as_of)s OR t.outcome = 'met')
      AND (%(muni)s::text IS NULL OR c.municipality_ref = %(muni)s)
), m AS (
    SELECT timer, grp, completed,
           CASE WHEN timer = 'T4' THEN end_on - due_on ELSE end_on - started_on END AS days,
           (SELECT count(*) FROM generate_series(started_on + 1, end_on, interval '1 day') d
            WHERE extract(isodow FROM d) < 6) AS working_days
    FROM t WHERE NOT completed OR end_on BETWEEN %(from)s AND %(to)s
), b AS (
    SELECT *, CASE WHEN timer = 'T1' THEN working_days > %(t1)s::int ELSE days > CASE timer
              WHEN 'T2' THEN %(t2)s::int WHEN 'T3' THEN %(t3)s::int ELSE %(t4)s::int END END AS breach
    FROM m
)
SELECT timer, grp, count(*) FILTER (WHERE completed),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days) FILTER (WHERE completed),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days) FILTER (WHERE completed),
       count(*) FILTER (WHERE completed AND breach),
       count(*) FILTER (WHERE NOT completed),
       count(*) FILTER (WHERE NOT completed AND breach)
FROM b GROUP BY timer, grp ORDER BY timer, grp"""


def timeliness(cur: Cursor, *, as_of: date, thresholds: Thresholds | None = None, period: Period = ALL_TIME,
               by: TimelinessGrouping = "municipality", municipality_ref: str | None = None) -> list[Timeliness]:
    """``timeliness`` (domain.md §6): T1-T4 medians and 90th percentiles (PostgreSQL ``percentile_cont``
    over the per-case timer rows) and breach counts. Institutions: T1 the coordinator's, T2 the appointing
    unit, T3/T4 the case manager's unit."""
    thresholds = thresholds or Thresholds()
    rows = cur.execute(_TIMINGS.format(group=_TIMING_GROUP[by]), {
        "as_of": as_of, "from": period[0], "to": period[1], "muni": municipality_ref,
        "t1": thresholds.t1_working_days, "t2": thresholds.t2_days, "t3": thresholds.t3_days,
        "t4": thresholds.t4_days_late}).fetchall()
    result = []
    for timer, group, completed, median, p90, breaches, running, running_breaches in rows:
        threshold = thresholds.for_timer(timer)
        enforced = threshold is not None
        result.append(Timeliness(timer, group, completed, median, p90, threshold, breaches if enforced else None,
                                 running, running_breaches if enforced else None))
    return result


# ---- plans due, transition watch ---------------------------------------------------------------------
@dataclass(frozen=True)
class PlanReview:
    """A plan whose review is due soon or overdue on ``as_of`` (IS support plan T4; NO individual plan T10)."""

    case_id: str
    jurisdiction: str
    municipality_ref: str
    plan_kind: Literal["support_plan", "individual_plan"]
    plan_id: str | None
    lead_ref: str | None
    """The case's current case manager (IS) or barnekoordinator (NO); none when nobody leads it now."""
    due_on: date
    overdue: bool
    days_overdue: int


def plans_due_and_overdue(cur: Cursor, *, as_of: date, horizon_days: int = 30,
                          municipality_ref: str | None = None) -> list[PlanReview]:
    """``plans_due_review`` / ``plans_overdue`` (domain.md §6): reviews pending on ``as_of`` and due within
    ``horizon_days`` or already past due, most overdue first."""
    rows = cur.execute(
        "SELECT c.case_id::text, c.jurisdiction, c.municipality_ref,"
        " CASE t.timer WHEN 'T4' THEN 'support_plan' ELSE 'individual_plan' END, c.plan_id,"
        " CASE t.timer WHEN 'T4' THEN c.case_manager_ref ELSE c.barnekoordinator_ref END, t.due_on"
        " FROM dash_timer t JOIN dash_case c USING (case_id)"
        " WHERE t.timer IN ('T4', 'T10') AND t.started_on <= %(as_of)s"
        " AND (t.outcome IS NULL OR t.stopped_on > %(as_of)s) AND t.due_on <= %(until)s"
        " AND (%(muni)s::text IS NULL OR c.municipality_ref = %(muni)s)"
        " ORDER BY t.due_on, c.case_id",
        {"as_of": as_of, "until": as_of + timedelta(days=horizon_days), "muni": municipality_ref}).fetchall()
    return [PlanReview(case_id, law, muni, kind, plan_id, lead, due, due < as_of, max(0, (as_of - due).days))
            for case_id, law, muni, kind, plan_id, lead, due in rows]


@dataclass(frozen=True)
class TransitionWatch:
    """A child on the case-manager track who may be 16.5-18 on ``as_of`` and has no adult transition plan."""

    case_id: str
    municipality_ref: str
    case_manager_ref: str | None
    birth_year: int
    age_this_year: int
    eighteenth_birthday_by: date
    """The latest the 18th birthday can be (31 December of the year): the hard deadline (T5) is before it."""


def transition_watch(cur: Cursor, *, as_of: date, municipality_ref: str | None = None) -> list[TransitionWatch]:
    """``transition_watch`` (domain.md §6, §3 T5): open Icelandic cases on the case-manager-led track on
    ``as_of``, children possibly aged 16.5 to under 18 (birth year only, so conservative; see
    :func:`projections.dashboard.calendar.transition_window_birth_years`), without an adult transition plan."""
    first_year, last_year = transition_window_birth_years(as_of)
    rows = cur.execute(
        "SELECT case_id::text, municipality_ref, case_manager_ref, birth_year FROM dash_case"
        " WHERE jurisdiction = 'IS' AND track = 'case_manager_led' AND case_manager_appointed_on <= %(as_of)s"
        " AND (closed_on IS NULL OR closed_on > %(as_of)s)"
        " AND (transition_plan_on IS NULL OR transition_plan_on > %(as_of)s)"
        " AND birth_year BETWEEN %(first)s AND %(last)s"
        " AND (%(muni)s::text IS NULL OR municipality_ref = %(muni)s) ORDER BY birth_year, case_id",
        {"as_of": as_of, "first": first_year, "last": last_year, "muni": municipality_ref}).fetchall()
    return [TransitionWatch(case_id, muni, manager, year, as_of.year - year, date(year + 18, 12, 31))
            for case_id, muni, manager, year in rows]


# ---- my caseload ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MyCase:
    """An open case the person leads or coordinates, with its next deadline on ``as_of``."""

    case_id: str
    jurisdiction: str
    municipality_ref: str
    status: str
    roles: list[str]
    """``coordinator`` (IS tengiliður), ``case_manager`` (IS), ``barnekoordinator`` (NO): every one that holds."""
    plan_kind: Literal["support_plan", "individual_plan"] | None
    plan_id: str | None
    next_due_on: date | None
    """The earliest pending plan review (IS T4) or individual plan revision (NO T10); none when nothing is due."""
    overdue: bool
    days_overdue: int
    transition_watch: bool
    """On the transition watch list (:func:`transition_watch`): a possible 16.5-18 year old without a plan."""
    eighteenth_birthday_by: date | None
    tasks: list[CaseTask] = field(default_factory=list)
    """What waits on the case on ``as_of`` besides plan reviews: contacting the family after information was
    shared (T1) and the appointment of a case manager the municipality was told is needed (T2)."""


@dataclass(frozen=True)
class CaseTask:
    """A running deadline of the case that is a task for its caseworkers (domain.md §3 T1, T2)."""

    task: TaskName
    timer: str
    since: date
    """The day the deadline started: information shared (T1), the need for a case manager notified (T2)."""
    days_waiting: int


TaskName = Literal["contact_family", "appoint_case_manager"]
_TASKS: dict[str, TaskName] = {"T1": "contact_family", "T2": "appoint_case_manager"}


def _tasks(cur: Cursor, case_ids: list[str], as_of: date) -> dict[str, list[CaseTask]]:
    """The running T1 and T2 deadlines of the cases on ``as_of``, oldest first."""
    found: dict[str, list[CaseTask]] = {}
    if not case_ids:
        return found
    rows = cur.execute(
        "SELECT case_id::text, timer, started_on FROM dash_timer WHERE case_id = ANY(%(ids)s::uuid[])"
        " AND timer IN ('T1', 'T2') AND started_on <= %(as_of)s AND (outcome IS NULL OR stopped_on > %(as_of)s)"
        " ORDER BY started_on, timer", {"ids": case_ids, "as_of": as_of}).fetchall()
    for case_id, timer, since in rows:
        found.setdefault(case_id, []).append(CaseTask(_TASKS[timer], timer, since, (as_of - since).days))
    return found


def my_caseload(cur: Cursor, *, person_ref: str, as_of: date) -> list[MyCase]:
    """``my_caseload`` (domain.md §6): the open cases (on the current state) where ``person_ref`` is the
    coordinator, case manager or barnekoordinator, each with its next deadline; the earliest deadline first,
    cases without one last."""
    first_year, last_year = transition_window_birth_years(as_of)
    rows = cur.execute(
        "SELECT c.case_id::text, c.jurisdiction, c.municipality_ref, c.status,"
        " c.coordinator_ref = %(me)s, c.case_manager_ref = %(me)s, c.barnekoordinator_ref = %(me)s,"
        " CASE t.timer WHEN 'T4' THEN 'support_plan' WHEN 'T10' THEN 'individual_plan' END, c.plan_id, t.due_on,"
        " (c.jurisdiction = 'IS' AND c.track = 'case_manager_led' AND c.case_manager_appointed_on <= %(as_of)s"
        "  AND (c.transition_plan_on IS NULL OR c.transition_plan_on > %(as_of)s)"
        "  AND c.birth_year BETWEEN %(first)s AND %(last)s), c.birth_year"
        " FROM dash_case c LEFT JOIN LATERAL ("
        "  SELECT timer, due_on FROM dash_timer t WHERE t.case_id = c.case_id AND t.timer IN ('T4', 'T10')"
        "  AND t.due_on IS NOT NULL AND t.started_on <= %(as_of)s AND (t.outcome IS NULL OR t.stopped_on > %(as_of)s)"
        "  ORDER BY t.due_on LIMIT 1) t ON true"
        " WHERE c.closed_on IS NULL"
        " AND (c.coordinator_ref = %(me)s OR c.case_manager_ref = %(me)s OR c.barnekoordinator_ref = %(me)s)"
        " ORDER BY t.due_on NULLS LAST, c.case_id",
        {"me": person_ref, "as_of": as_of, "first": first_year, "last": last_year}).fetchall()
    result = []
    for (case_id, law, muni, status, coordinator, manager, bk, kind, plan_id, due, watch, year) in rows:
        roles = [name for name, held in (("coordinator", coordinator), ("case_manager", manager),
                                         ("barnekoordinator", bk)) if held]
        result.append(MyCase(case_id, law, muni, status, roles, kind, plan_id if kind else None, due,
                             due is not None and due < as_of, 0 if due is None else max(0, (as_of - due).days),
                             bool(watch), date(year + 18, 12, 31) if watch else None))
    tasks = _tasks(cur, [row.case_id for row in result], as_of)
    return [replace(row, tasks=tasks.get(row.case_id, [])) for row in result]


# ---- national aggregate ------------------------------------------------------------------------------
@dataclass(frozen=True)
class NationalCell:
    """One cell of the national table; counts are suppressed (:func:`projections.dashboard.stats.suppress`)."""

    municipality_ref: str
    level: int
    age_band: str
    children: str
    services: str


def national_aggregates(cur: Cursor, *, as_of: date) -> list[NationalCell]:
    """``national_aggregate`` (domain.md §6) for BOFS: every municipality with an Icelandic case, by level and
    age band, children and active services on ``as_of``, with counts 1-4 shown as ``"<5"`` and 0 as ``"0"``.
    Never row level, and no totals (they would undo the suppression)."""
    rows = cur.execute(
        f"WITH counts AS (SELECT municipality_ref, service_level, age_band, count(DISTINCT child_ref) AS children,"
        f" count(*) AS services FROM ({_ACTIVE_SERVICES}) a GROUP BY 1, 2, 3),"
        " munis AS (SELECT DISTINCT municipality_ref FROM dash_case WHERE jurisdiction = 'IS'"
        " AND opened_on <= %(as_of)s)"
        " SELECT m.municipality_ref, l.level, b.band, coalesce(k.children, 0), coalesce(k.services, 0)"
        " FROM munis m CROSS JOIN generate_series(1, 3) AS l(level)"
        " CROSS JOIN unnest(%(bands)s::text[]) WITH ORDINALITY AS b(band, ord)"
        " LEFT JOIN counts k ON k.municipality_ref = m.municipality_ref AND k.service_level = l.level"
        " AND k.age_band = b.band ORDER BY m.municipality_ref, l.level, b.ord",
        {"as_of": as_of, "muni": None, "bands": list(AGE_BANDS)}).fetchall()
    return [NationalCell(muni, level, band, suppress(children), suppress(services))
            for muni, level, band, children, services in rows]
