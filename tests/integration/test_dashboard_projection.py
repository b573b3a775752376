"""The dashboard read model on real PostgreSQL: the stories of ``dashboard_scenarios`` applied through
``ReadModelStore.apply``, then every query asked what a municipality, BOFS or a supervisor would ask."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts import commands as c
from contracts.events import EventEnvelopeV1
from domain.legal_settings import DEFAULT_LEGAL_SETTINGS
from domain.values import Actor, Role
from projections.dashboard.deadlines import DeadlineCount, deadline_counts
from projections.dashboard.oversight import (
    Caseload,
    ClosuresWithoutPlan,
    ComplaintStage,
    Coverage,
    caseload_per_case_manager,
    closures_without_plan,
    complaints_by_stage,
    coordinator_coverage,
)
from projections.dashboard.projection import DashboardProjection
from projections.dashboard.queries import (
    IcelandFunnel,
    LevelCount,
    NationalCell,
    NorwayFunnel,
    Thresholds,
    Timeliness,
    barnekoordinator_funnel,
    integration_funnel,
    national_aggregates,
    plans_due_and_overdue,
    services_by_level,
    timeliness,
    transition_watch,
)
from projections.dashboard.report import render_status_report, status_report
from projections.dashboard.schema import TABLES
from projections.dashboard.stats import percentile_cont
from services.casework.application import Casework, CommandMeta
from services.consumers.replay import published_events
from services.consumers.store import Outcome, ReadModelStore
from services.infra.postgres_env import PgTarget
from services.walkthrough import ensure_institution
from tests.actors import acting
from tests.integration.dashboard_scenarios import (
    AKUREYRI,
    BK_ACTIVE,
    BODO,
    KOP_CM,
    KOPAVOGUR,
    POPO,
    REYKJAVIK,
    build_all,
)

THRESHOLDS = Thresholds(t1_working_days=5, t2_days=5, t3_days=None, t4_days_late=0)
LATE_2026 = date(2026, 11, 1)


@pytest.fixture(scope="module")
def events() -> list[EventEnvelopeV1]:
    return build_all(Casework(env=POPO))


def open_store(dsn: str, schema: str) -> ReadModelStore:
    store = ReadModelStore(dsn, DashboardProjection(), base_schema=schema)
    store.setup()
    return store


@pytest.fixture
def dashboard(pg_schema: PgTarget, events: list[EventEnvelopeV1]) -> Iterator[ReadModelStore]:
    store = open_store(pg_schema.dsn, pg_schema.schema)
    try:
        assert {store.apply(event).outcome for event in events} == {Outcome.APPLIED}
        yield store
    finally:
        store.close()


# ---- services by level -------------------------------------------------------------------------------
def test_services_by_level_count_children_and_services_not_cases(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        by_municipality = services_by_level(cur, as_of=date(2025, 4, 1))
        by_institution = services_by_level(cur, as_of=date(2025, 4, 1), by="institution")
        by_age = services_by_level(cur, as_of=date(2025, 4, 1), by="age_band")
        reykjavik_2024 = services_by_level(cur, as_of=date(2024, 3, 1), municipality_ref=REYKJAVIK)
    # Child A's team ended (case closed) on 2025-03-23; child C's level-1 service runs to 2025-04-12.
    assert by_municipality == [
        LevelCount(AKUREYRI, 1, 5, 5),
        LevelCount(KOPAVOGUR, 1, 1, 1), LevelCount(KOPAVOGUR, 3, 1, 1),
        LevelCount(REYKJAVIK, 1, 2, 2), LevelCount(REYKJAVIK, 3, 2, 2),
    ]
    assert by_institution == [
        LevelCount("org:preschool-aku-1", 1, 5, 5), LevelCount("org:school-kop-1", 1, 1, 1),
        LevelCount("org:school-rvk-1", 1, 2, 2), LevelCount("org:social-kop", 3, 1, 1),
        LevelCount("org:social-rvk", 3, 2, 2),
    ]
    assert by_age == [LevelCount("0-5", 1, 5, 5), LevelCount("16-17", 1, 2, 2), LevelCount("16-17", 3, 3, 3),
                      LevelCount("6-12", 1, 1, 1)]
    assert reykjavik_2024 == [LevelCount(REYKJAVIK, 1, 2, 2), LevelCount(REYKJAVIK, 3, 2, 2)]


# ---- funnels -----------------------------------------------------------------------------------------
def test_the_integration_funnel_counts_cases_reaching_each_stage(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        all_time = integration_funnel(cur)
        first_half_2024 = integration_funnel(cur, period=(date(2024, 1, 1), date(2024, 6, 30)),
                                             municipality_ref=REYKJAVIK)
    assert all_time == [
        IcelandFunnel(AKUREYRI, 5, 0, 5, 5, 0, 0, 0, 0, ()),
        IcelandFunnel(KOPAVOGUR, 3, 1, 3, 3, 2, 2, 1, 2, (("concluded_without_plan", 1), ("withdrawn", 1))),
        IcelandFunnel(REYKJAVIK, 2, 2, 2, 2, 2, 2, 2, 2, (("goals_met", 2),)),
    ]
    assert first_half_2024 == [IcelandFunnel(REYKJAVIK, 2, 2, 2, 2, 2, 2, 2, 0, ())]


def test_the_barnekoordinator_funnel_counts_requests_decisions_and_appointments(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        assert barnekoordinator_funnel(cur) == [NorwayFunnel(BODO, 4, 4, 3, 1, 3, 3, 2)]
        assert barnekoordinator_funnel(cur, period=(date(2025, 1, 1), date(2025, 12, 31))) == [
            NorwayFunnel(BODO, 2, 2, 1, 1, 1, 1, 0)]


# ---- timeliness --------------------------------------------------------------------------------------
def test_timeliness_reports_medians_percentiles_and_breaches_per_municipality(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        rows = timeliness(cur, as_of=LATE_2026, thresholds=THRESHOLDS)
    assert rows == [
        # T1: Kópavogur took 8 days (6 working days > 5); Reykjavík 2 days (1 working day) for both children.
        Timeliness("T1", KOPAVOGUR, 1, 8.0, 8.0, 5, 1, 0, 0),
        Timeliness("T1", REYKJAVIK, 2, 2.0, 2.0, 5, 0, 0, 0),
        # T2: 2 and 7 days: median 4.5, p90 interpolated 6.5; one over 5 days.
        Timeliness("T2", KOPAVOGUR, 2, 4.5, 6.5, 5, 1, 0, 0),
        Timeliness("T2", REYKJAVIK, 2, 5.0, 5.0, 5, 0, 0, 0),
        # T3: no legal number, so no breaches are counted; child A's team ended without a plan (not timed).
        Timeliness("T3", KOPAVOGUR, 1, 18.0, 18.0, None, None, 0, None),
        Timeliness("T3", REYKJAVIK, 2, 15.0, 15.0, None, None, 0, None),
        # T4: child B's review of 2025-09-01 never happened: 426 days late on the as-of date.
        Timeliness("T4", KOPAVOGUR, 0, None, None, 0, 0, 1, 1),
        Timeliness("T4", REYKJAVIK, 2, 3.0, 3.0, 0, 2, 0, 0),
    ]


def test_breaches_are_read_from_the_clocks_facts_per_rule_and_rules_version(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        before = deadline_counts(cur, as_of=date(2025, 9, 1))
        after = deadline_counts(cur, as_of=date(2025, 9, 2), municipality_ref=KOPAVOGUR)
    assert before == []
    assert after == [DeadlineCount("IS", KOPAVOGUR, "T4", "2026-11", 0, 1, 0, 0, 1)]


def test_timeliness_per_institution_uses_the_institution_the_timer_belongs_to(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        rows = timeliness(cur, as_of=LATE_2026, thresholds=THRESHOLDS, by="institution")
    assert [(r.timer, r.group, r.completed + r.running) for r in rows] == [
        ("T1", "org:school-kop-1", 1), ("T1", "org:school-rvk-1", 2),
        ("T2", "org:social-kop", 2), ("T2", "org:social-rvk", 2),
        ("T3", "org:social-kop", 1), ("T3", "org:social-rvk", 2),
        ("T4", "org:social-kop", 1), ("T4", "org:social-rvk", 2),
    ]


def test_timeliness_percentiles_are_postgresql_percentile_cont(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        durations = [float(d) for (d,) in cur.execute(
            "SELECT stopped_on - started_on FROM dash_timer WHERE timer = 'T2' AND outcome = 'met'").fetchall()]
        everyone = Thresholds()
        (kopavogur_t2,) = [r for r in timeliness(cur, as_of=LATE_2026, thresholds=everyone, municipality_ref=KOPAVOGUR)
                           if r.timer == "T2"]
        (t2_by_law,) = [r for r in timeliness(cur, as_of=LATE_2026, by="institution") if r.group == "org:social-kop"
                        and r.timer == "T2"]
    assert sorted(durations) == [2.0, 5.0, 5.0, 7.0]
    assert kopavogur_t2.median_days == percentile_cont([2.0, 7.0], 0.5)
    assert kopavogur_t2.p90_days == percentile_cont([2.0, 7.0], 0.9)
    assert kopavogur_t2.breaches is None and t2_by_law.breaches is None  # unknown legal value: not enforced


def test_legal_settings_thresholds_enforce_t1_and_the_plans_own_review_date() -> None:
    assert Thresholds.from_legal_settings(DEFAULT_LEGAL_SETTINGS) == Thresholds(
        t1_working_days=5, t2_days=None, t3_days=None, t4_days_late=0)


# ---- plans, transition, closures ---------------------------------------------------------------------
def test_plans_due_and_overdue_on_the_as_of_date(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        new_year_2026 = plans_due_and_overdue(cur, as_of=date(2026, 1, 1))
        summer_2024 = plans_due_and_overdue(cur, as_of=date(2024, 8, 1), horizon_days=30)
    # The walkthrough's revision (2024-09-09) is due for review on 2025-03-01 (a review date before its adoption
    # would be refused, DATE-2), and nothing evaluated it since: both walkthrough cases are overdue on 2026-01-01.
    assert [(r.municipality_ref, r.plan_kind, r.due_on, r.overdue, r.days_overdue, r.lead_ref)
            for r in new_year_2026] == [
        *[(REYKJAVIK, "support_plan", date(2025, 3, 1), True, 306, "person:cm-is-1")] * 2,
        (KOPAVOGUR, "support_plan", date(2025, 9, 1), True, 122, KOP_CM),
    ]
    # The lead is today's: the termination of 2024-11-02 took the barnekoordinator off both cases.
    assert [(r.municipality_ref, r.plan_kind, r.plan_id, r.due_on, r.overdue, r.lead_ref) for r in summer_2024] == [
        (BODO, "individual_plan", "ip-1", date(2024, 8, 15), False, None)] * 2


def test_transition_watch_lists_case_manager_led_children_near_18_without_a_plan(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        new_year_2025 = transition_watch(cur, as_of=date(2025, 1, 1))
        new_year_2026 = transition_watch(cur, as_of=date(2026, 1, 1))
        june_2026 = transition_watch(cur, as_of=date(2026, 6, 1))
    # 2025: the walkthrough children (born 2008) are on the list; child B has no case manager yet.
    assert [(w.municipality_ref, w.case_manager_ref, w.age_this_year) for w in new_year_2025] == [
        (REYKJAVIK, "person:cm-is-1", 17)] * 2
    assert sorted((w.municipality_ref, w.birth_year) for w in new_year_2026) == [
        (KOPAVOGUR, 2008), (REYKJAVIK, 2008), (REYKJAVIK, 2008)]
    # By June 2026 the walkthrough children have their transition plans (adopted 2026-03-18); B still has none.
    assert [(w.municipality_ref, w.case_manager_ref, w.eighteenth_birthday_by) for w in june_2026] == [
        (KOPAVOGUR, KOP_CM, date(2026, 12, 31))]


def test_closures_without_plan_count_rate_and_complaints(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        assert closures_without_plan(cur) == [
            ClosuresWithoutPlan(KOPAVOGUR, 1, 1, 1.0, 1, 1),
            ClosuresWithoutPlan(REYKJAVIK, 2, 0, 0.0, 0, 0),
        ]
        assert closures_without_plan(cur, period=(date(2024, 1, 1), date(2024, 12, 31))) == [
            ClosuresWithoutPlan(KOPAVOGUR, 0, 0, None, 0, 0),
            ClosuresWithoutPlan(REYKJAVIK, 0, 0, None, 0, 0),
        ]


# ---- complaints, caseload, coverage ------------------------------------------------------------------
def test_complaints_by_stage_with_time_in_each_stage(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        stages = complaints_by_stage(cur, as_of=LATE_2026)
        before_forwarding = complaints_by_stage(cur, as_of=date(2024, 11, 23), municipality_ref=BODO)
    assert stages == [
        ComplaintStage("IS", KOPAVOGUR, "lodged", 1, 0, False, 35.0, None),
        ComplaintStage("IS", KOPAVOGUR, "outcome_recorded", 1, 1, True, None, None),
        ComplaintStage("IS", REYKJAVIK, "lodged", 2, 2, False, None, 68),
        ComplaintStage("NO", BODO, "received", 2, 0, False, 10.0, None),
        ComplaintStage("NO", BODO, "reconsidered", 2, 0, False, 1.0, None),
        ComplaintStage("NO", BODO, "forwarded", 2, 0, False, 59.0, None),
        ComplaintStage("NO", BODO, "decided", 2, 2, True, None, None),
    ]
    assert before_forwarding == [
        ComplaintStage("NO", BODO, "received", 2, 0, False, 10.0, None),
        ComplaintStage("NO", BODO, "reconsidered", 2, 2, False, None, 0),
    ]


def test_caseload_counts_open_cases_per_case_manager_and_barnekoordinator(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        assert caseload_per_case_manager(cur) == [
            Caseload("IS", KOPAVOGUR, KOP_CM, "case_manager", 1, 1),
            Caseload("NO", BODO, BK_ACTIVE, "barnekoordinator", 1, 1),
        ]


def test_coordinator_coverage_per_institution_follows_designations(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        spring_2025 = coordinator_coverage(cur, as_of=date(2025, 4, 1), municipality_ref=KOPAVOGUR)
        new_year_2026 = coordinator_coverage(cur, as_of=date(2026, 1, 1))
    assert [(c.org_ref, c.designated) for c in spring_2025] == [
        ("org:preschool-kop-1", False), ("org:primary-kop-1", True), ("org:school-kop-1", True)]
    assert new_year_2026 == [
        Coverage("org:preschool-aku-1", "preschool", AKUREYRI, "IS", True, 1),
        Coverage("org:preschool-kop-1", "preschool", KOPAVOGUR, "IS", False, 0),
        Coverage("org:primary-kop-1", "primary_school", KOPAVOGUR, "IS", False, 0),
        Coverage("org:school-kop-1", "primary_school", KOPAVOGUR, "IS", True, 1),
        Coverage("org:school-rvk-1", "secondary_school", REYKJAVIK, "IS", True, 1),
    ]


# ---- national aggregates and the status report -------------------------------------------------------
def test_national_aggregates_suppress_small_cells_and_keep_zeros(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        cells = national_aggregates(cur, as_of=date(2025, 4, 1))
    assert len(cells) == 3 * 3 * 6
    shown = {(c.municipality_ref, c.level, c.age_band): (c.children, c.services) for c in cells
             if (c.children, c.services) != ("0", "0")}
    assert shown == {
        (AKUREYRI, 1, "0-5"): ("5", "5"),
        (KOPAVOGUR, 1, "6-12"): ("<5", "<5"),
        (KOPAVOGUR, 3, "16-17"): ("<5", "<5"),
        (REYKJAVIK, 1, "16-17"): ("<5", "<5"),
        (REYKJAVIK, 3, "16-17"): ("<5", "<5"),
    }
    assert NationalCell(AKUREYRI, 2, "0-5", "0", "0") in cells


def test_half_yearly_status_report_for_a_municipality(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        report = status_report(cur, municipality_ref=KOPAVOGUR, year=2025, half=1,
                               thresholds=Thresholds.from_legal_settings(DEFAULT_LEGAL_SETTINGS))
    assert report.period == (date(2025, 1, 1), date(2025, 6, 30)) and report.report_date == date(2025, 7, 1)
    assert report.iceland == IcelandFunnel(KOPAVOGUR, 3, 1, 3, 3, 2, 2, 1, 2,
                                           (("concluded_without_plan", 1), ("withdrawn", 1)))
    assert report.norway is None
    assert (report.open_cases, report.children_with_services) == (1, 1)
    assert report.services_by_level == (LevelCount(KOPAVOGUR, 3, 1, 1),)
    assert [(t.timer, t.completed, t.breaches, t.running) for t in report.timeliness] == [
        ("T1", 1, 1, 0), ("T2", 2, None, 0), ("T3", 1, None, 0), ("T4", 0, 0, 1)]
    assert (report.plan_reviews_overdue, report.plan_reviews_due_soon, report.transition_watch) == (0, 0, 1)
    assert report.closures_without_plan == ClosuresWithoutPlan(KOPAVOGUR, 1, 1, 1.0, 1, 1)
    assert report.institutions_covered == 1 and len(report.coverage) == 3

    text = render_status_report(report)
    assert text.startswith(f"Integration of services for children's prosperity: {KOPAVOGUR}\n")
    for line in ("Implementation period: January 1, 2025 - June 30, 2025", "Status report on July 1, 2025",
                 "In the first half of 2025, 3 children came into contact with a coordinator of services",
                 "2 cases were closed (concluded without plan: 1, withdrawn: 1).",
                 "1 case was open and 1 child received services: 0 at level 1, 0 at level 2 and 1 at level 3",
                 "(T1): median 8 days, 90th percentile 8 days (1 completed; 1 over the threshold of 5 working days;"
                 " 0 still running)",
                 "(T2): median 4.5 days, 90th percentile 6.5 days (2 completed; no threshold set: the law gives no"
                 " number; 0 still running)",
                 "1 young person aged 16.5-18 on the case-manager track without an adult transition plan.",
                 "1 support team of 1 concluded without a plan; 1 complaint followed.",
                 "1 of 3 registered institutions had a designated coordinator of services."):
        assert line in text, line


def test_status_report_for_the_second_half_is_dated_january_first(dashboard: ReadModelStore) -> None:
    with dashboard.reading() as cur:
        report = status_report(cur, municipality_ref=BODO, year=2024, half=2)
    assert report.period == (date(2024, 7, 1), date(2024, 12, 31)) and report.report_date == date(2025, 1, 1)
    assert report.iceland is None and report.norway == NorwayFunnel(BODO, 0, 0, 0, 0, 0, 0, 0)
    text = render_status_report(report)
    assert "Status report on January 1, 2025" in text
    assert "On December 31, 2024, 2 cases were open.\n" in text and "level" not in text
    assert "Complaints by stage on December 31, 2024: received: 0, reconsidered: 0, forwarded: 2." in text


def test_a_case_that_moves_is_counted_in_its_new_municipality(pg_schema: PgTarget) -> None:
    app = Casework(env=POPO)
    lead = CommandMeta(acting("person:lead-rvk", Role.MUNICIPALITY_LEAD), datetime(2025, 1, 6, 9, tzinfo=UTC))
    coordinator = CommandMeta(Actor("person:coord-is-1", Role.COORDINATOR, "org:school-rvk-1"), lead.occurred_at)
    ensure_institution(app, "org:school-rvk-1", "secondary_school", REYKJAVIK, "IS", "person:coord-is-1", lead)
    case_id = app.register_contact(c.RegisterContact(
        child_ref="person:child-mover", parent_refs=("person:parent-mover",), birth_date=date(2009, 2, 3),
        municipality_ref=REYKJAVIK, coordinator_ref="person:coord-is-1", coordinator_org_ref="org:school-rvk-1",
        life_stage="secondary", conflict_of_interest_declared_none=True), coordinator).case_id
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id="r", requested_by_refs=("person:parent-mover",), requester_roles=("parent",),
        written=True, form_doc_ref="doc:r"), coordinator)
    app.record_service(c.RecordService(case_id=case_id, service_id="s", provider_org_ref="org:school-rvk-1",
                                       service_level=2, service_type_code="tutoring", start_date=date(2025, 1, 6)),
                       coordinator)
    app.change_domicile(c.ChangeDomicile(case_id=case_id, to_municipality_ref=KOPAVOGUR), coordinator)
    store = open_store(pg_schema.dsn, pg_schema.schema)
    try:
        for event in published_events(app):
            store.apply(event)
        with store.reading() as cur:
            assert services_by_level(cur, as_of=date(2025, 2, 1)) == [LevelCount(KOPAVOGUR, 2, 1, 1)]
            assert [f.municipality_ref for f in integration_funnel(cur)] == [KOPAVOGUR]
    finally:
        store.close()


# ---- order tolerance ---------------------------------------------------------------------------------
def redeliver(store: ReadModelStore, events: list[EventEnvelopeV1], rng: random.Random) -> Counter[Outcome]:
    """Deliver the events in a shuffled order with duplicates, as N replicas and redelivery do: a version that
    comes before its predecessor is held (parked) and applied as soon as the predecessor is. Returns the
    outcomes of all deliveries."""
    pending = [*events, *rng.sample(events, k=len(events) // 3)]
    rng.shuffle(pending)
    return Counter(store.apply(event).outcome for event in pending)


def snapshot(store: ReadModelStore) -> tuple[dict[str, list[tuple[Any, ...]]], list[Any]]:
    """Every table's rows, and every query's answer on a few dates."""
    with store.reading() as cur:
        tables = {table: cur.execute(f"SELECT * FROM {table} ORDER BY {table}::text").fetchall()
                  for table in TABLES}
        answers: list[Any] = [integration_funnel(cur), barnekoordinator_funnel(cur), closures_without_plan(cur),
                              caseload_per_case_manager(cur)]
        for as_of in (date(2024, 3, 1), date(2025, 4, 1), date(2026, 1, 1), LATE_2026):
            answers += [services_by_level(cur, as_of=as_of), services_by_level(cur, as_of=as_of, by="age_band"),
                        timeliness(cur, as_of=as_of, thresholds=THRESHOLDS),
                        plans_due_and_overdue(cur, as_of=as_of), transition_watch(cur, as_of=as_of),
                        complaints_by_stage(cur, as_of=as_of), coordinator_coverage(cur, as_of=as_of),
                        national_aggregates(cur, as_of=as_of)]
        answers.append(status_report(cur, municipality_ref=KOPAVOGUR, year=2025, half=1, thresholds=THRESHOLDS))
    return tables, answers


def test_any_interleaving_of_cases_with_duplicates_gives_identical_tables_and_answers(
        pg_schema: PgTarget, events: list[EventEnvelopeV1]) -> None:
    stores = [open_store(pg_schema.dsn, f"{pg_schema.schema}__order{n}") for n in range(4)]
    try:
        for event in events:  # the reference: notification order
            assert stores[0].apply(event).outcome is Outcome.APPLIED
        deliveries = [redeliver(store, events, random.Random(seed)) for seed, store in enumerate(stores[1:], 1)]
        for outcomes in deliveries:  # held-back versions and duplicates really happened, and nothing failed
            assert outcomes[Outcome.HELD] > 0 and outcomes[Outcome.DUPLICATE] > 0
            assert outcomes[Outcome.QUARANTINED] == outcomes[Outcome.FAILED] == 0
        reference = snapshot(stores[0])
        assert all(reference[0][table] for table in TABLES)
        for store in stores[1:]:
            assert snapshot(store) == reference
    finally:
        for store in stores:
            store.close()
