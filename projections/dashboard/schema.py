"""The dashboard's tables: one row per case, service, timer, complaint, institution and designation.

Why per-entity rows and no counters: the runtime applies each case's facts in order, but facts of
*different* cases arrive in any order. A row that only its own case (or institution) ever writes is the
same whatever the interleaving; every count, median and rate is computed at query time
(:mod:`projections.dashboard.queries`). All dates are local days of ``occurred_at`` in the jurisdiction
(:func:`projections.dashboard.calendar.local_day`).
"""

from __future__ import annotations

from projections.dashboard.deadlines import TABLE as DEADLINES

CASES = """CREATE TABLE IF NOT EXISTS dash_case (
    case_id uuid PRIMARY KEY,
    jurisdiction text,
    municipality_ref text NOT NULL,
    child_ref text NOT NULL,
    episode bigint NOT NULL,
    birth_year int,
    opened_on date NOT NULL,
    status text NOT NULL,
    track text,
    coordinator_ref text,
    coordinator_org_ref text,
    info_request_on date,
    info_shared_on date,
    offered_on date,
    integration_requested_on date,
    level1_started_on date,
    case_manager_notified_on date,
    case_manager_appointed_on date,
    case_manager_ref text,
    case_manager_org_ref text,
    team_established_on date,
    team_concluded_on date,
    team_outcome text,
    plan_id text,
    plan_version bigint,
    plan_adopted_on date,
    transition_plan_on date,
    assessed_on date,
    granted_on date,
    refused_on date,
    consented_on date,
    barnekoordinator_appointed_on date,
    barnekoordinator_ref text,
    barnekoordinator_unit_ref text,
    last_decision text,
    individual_plan_on date,
    closed_on date,
    closure_outcome text,
    closure_reason text
)"""
"""One row per case (episode). ``*_on`` columns keep the *first* day a stage was reached (the funnel);
``status``, ``track`` and the ``*_ref`` columns the current state. IS: ``closure_outcome`` is the team's
outcome (``goals_met``, ``concluded_without_plan``, ``age_out``, ``moved``), ``withdrawn``, ``majority``
or ``case_closed``; NO: ``ended``, ``majority`` or ``case_closed``."""

SERVICES = """CREATE TABLE IF NOT EXISTS dash_service (
    case_id uuid NOT NULL,
    service_id text NOT NULL,
    provider_org_ref text NOT NULL,
    service_level int NOT NULL CHECK (service_level BETWEEN 1 AND 3),
    service_type_code text NOT NULL,
    start_date date NOT NULL,
    end_date date,
    PRIMARY KEY (case_id, service_id)
)"""
"""One row per Icelandic service: the service is tiered, not the case (domain.md §0)."""

TIMERS = """CREATE TABLE IF NOT EXISTS dash_timer (
    case_id uuid NOT NULL,
    timer text NOT NULL CHECK (timer IN ('T1', 'T2', 'T3', 'T4', 'T10')),
    seq int NOT NULL,
    institution_ref text,
    started_at timestamptz NOT NULL,
    started_on date NOT NULL,
    due_on date,
    stopped_at timestamptz,
    stopped_on date,
    outcome text CHECK (outcome IN ('met', 'cancelled', 'superseded')),
    PRIMARY KEY (case_id, timer, seq)
)"""
"""One row per running or finished deadline of a case (domain.md §3): T1 information shared → family
contacted; T2 case manager needed → appointed; T3 team established → plan adopted; T4 a support plan's due
review (``due_on``) → its evaluation; T10 a Norwegian individual plan's due revision → the next plan.
``outcome`` is NULL while running, ``met`` when the awaited fact came, ``superseded`` when a new plan
version replaced the pending review, ``cancelled`` when the case or team ended first."""

COMPLAINTS = """CREATE TABLE IF NOT EXISTS dash_complaint (
    case_id uuid NOT NULL,
    complaint_id text NOT NULL,
    jurisdiction text,
    subject text,
    complainant_capacity text,
    decision_id text,
    within_deadline boolean,
    lodged_on date NOT NULL,
    outcome_on date,
    reconsidered_on date,
    reconsideration_outcome text,
    forwarded_on date,
    decided_on date,
    statsforvalteren_outcome text,
    PRIMARY KEY (case_id, complaint_id)
)"""
"""One row per complaint: IS to GEV (lodged, outcome recorded); NO to the municipality, then
Statsforvalteren (received = ``lodged_on``, reconsidered, forwarded, decided)."""

INSTITUTIONS = """CREATE TABLE IF NOT EXISTS dash_institution (
    institution_id uuid PRIMARY KEY,
    org_ref text NOT NULL,
    institution_type text NOT NULL,
    municipality_ref text NOT NULL,
    jurisdiction text,
    registered_on date NOT NULL
)"""

DESIGNATIONS = """CREATE TABLE IF NOT EXISTS dash_designation (
    institution_id uuid NOT NULL,
    seq bigint NOT NULL,
    person_ref text NOT NULL,
    designated_on date NOT NULL,
    withdrawn_on date,
    PRIMARY KEY (institution_id, seq)
)"""
"""One row per designation of a coordinator by an institution, closed by its withdrawal (seed 003, 004)."""

DDL: tuple[str, ...] = (
    CASES, SERVICES, TIMERS, COMPLAINTS, INSTITUTIONS, DESIGNATIONS, DEADLINES,
    "CREATE INDEX IF NOT EXISTS dash_case_municipality ON dash_case (municipality_ref)",
    "CREATE INDEX IF NOT EXISTS dash_timer_open ON dash_timer (case_id, timer) WHERE outcome IS NULL",
)

TABLES: tuple[str, ...] = ("dash_case", "dash_service", "dash_timer", "dash_complaint", "dash_institution",
                           "dash_designation", "dash_deadline")
"""Every table of the projection (what a rebuild fills and a comparison dumps)."""
