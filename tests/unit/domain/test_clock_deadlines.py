"""The law's clock in the domain: each deadline fact once, citing its rule, on the day the case's own state makes
it due (domain/clock.py); CLOCK-1 refuses when nothing is due; IS-R23b refuses the age-out override after majority;
every fact records the rules version in force."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain import clock
from domain.case_iceland import IcelandStatus
from domain.case_norway import NorwayStatus
from domain.legal_settings import LegalSettings
from domain.values import (
    RULES_VERSION_BEFORE_RECORDING,
    SYSTEM_ACTOR,
    ComplainantCapacity,
    ComplaintSubject,
    Context,
    InstitutionType,
    LifeStage,
    TeamOutcome,
)
from services.casework.application import Casework
from tests.unit.domain.builders import (
    CASE_MANAGER,
    COORDINATOR,
    IS_18TH_BIRTHDAY,
    NO_18TH_BIRTHDAY,
    PRIMARY_SCHOOL_ORG,
    REYKJAVIK,
    SETTINGS,
    designated_institution,
    event_names,
    iceland_case,
    norway_case,
    refused,
    register_contact,
)

T2_IN_14_DAYS = replace(SETTINGS, t2_case_manager_appointment_days=14, rules_version="2026-12")


def on(day: date, version: str = SETTINGS.rules_version) -> Context:
    """The clock's context: the system actor, 06:00 UTC on ``day``."""
    return Context(SYSTEM_ACTOR, datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC), rules_version=version)


def last(case: Any) -> Any:
    """The fact the last command recorded."""
    return case.pending_events[-1]


def clock_facts(case: Any) -> list[tuple[str, str, str, date]]:
    return [(type(e).__name__, e.rule_id, e.deadline_id, e.due_on) for e in case.pending_events
            if type(e).__name__.startswith("Deadline")]


def test_nothing_due_is_refused_and_records_nothing() -> None:
    """CLOCK-1: a day with nothing due records nothing (the second replica's attempt ends here)."""
    case = iceland_case(IcelandStatus.INTEGRATION_ACTIVE_L1)
    with refused(case, "CLOCK-1"):
        case.record_due_deadlines(on(date(2026, 4, 1)), settings=SETTINGS)


def test_t2_is_warned_breached_then_escalated_to_the_municipality_each_once() -> None:
    """T2 (configured at 14 days): warned 3 days before, breached the day after, escalated 7 days later."""
    case = iceland_case(IcelandStatus.AWAITING_CASE_MANAGER)  # need notified on day 10: 2026-03-12
    due = date(2026, 3, 26)
    case.record_due_deadlines(on(date(2026, 3, 23), "2026-12"), settings=T2_IN_14_DAYS)
    warned = last(case)
    assert (type(warned).__name__, warned.rule_id, warned.warning, warned.due_on) == (
        "DeadlineWarningRaised", "T2", "3d", due)
    assert warned.ctx.rules_version == "2026-12"
    with refused(case, "CLOCK-1"):  # the same warning is never recorded twice
        case.record_due_deadlines(on(date(2026, 3, 24)), settings=T2_IN_14_DAYS)
    case.record_due_deadlines(on(date(2026, 3, 27)), settings=T2_IN_14_DAYS)
    case.record_due_deadlines(on(date(2026, 4, 3)), settings=T2_IN_14_DAYS)
    assert clock_facts(case) == [
        ("DeadlineWarningRaised", "T2", "T2:2026-03-12", due),
        ("DeadlineBreached", "T2", "T2:2026-03-12", due),
        ("DeadlineEscalated", "T2", "T2:2026-03-12", due),
    ]
    assert last(case).escalated_to_ref == REYKJAVIK
    assert case.deadline_breached("T2") and not case.deadline_breached("T3")


def test_appointing_the_case_manager_ends_t2() -> None:
    case = iceland_case(IcelandStatus.TEAM_FORMING)
    assert [f for f in clock.scheduled(case, T2_IN_14_DAYS) if f.rule_id == "T2"] == []


def test_a_late_clock_records_the_breach_without_the_warning_it_missed() -> None:
    case = iceland_case(IcelandStatus.AWAITING_CASE_MANAGER)
    case.record_due_deadlines(on(date(2026, 3, 28)), settings=T2_IN_14_DAYS)
    assert [name for name, *_ in clock_facts(case)] == ["DeadlineBreached"]


def test_t3_no_plan_drafted_is_breached() -> None:
    settings = replace(SETTINGS, t3_plan_drafting_days=10, deadline_warning_days=0)
    case = iceland_case(IcelandStatus.TEAM_ACTIVE_NO_PLAN)  # team established on day 20: 2026-03-22
    case.record_due_deadlines(on(date(2026, 4, 2)), settings=settings)
    assert clock_facts(case) == [("DeadlineBreached", "T3", "T3:2026-03-22", date(2026, 4, 1))]


def test_t4_an_overdue_plan_review_is_breached_then_escalated_to_the_lead() -> None:
    case = iceland_case(IcelandStatus.PLAN_ACTIVE)  # review on 2026-07-01
    case.record_due_deadlines(on(date(2026, 7, 2)), settings=SETTINGS)
    case.record_due_deadlines(on(date(2026, 7, 9)), settings=SETTINGS)
    assert [(name, rule) for name, rule, *_ in clock_facts(case) if rule == "T4"] == [
        ("DeadlineBreached", "T4"), ("DeadlineEscalated", "T4")]


def test_t5_warns_at_17y0m_and_17y6m_and_is_breached_at_majority_before_the_case_closes() -> None:
    case = iceland_case(IcelandStatus.TEAM_FORMING)  # case-manager-led, born 2009-06-15, no transition plan
    case.record_due_deadlines(on(date(2026, 6, 15)), settings=SETTINGS)
    assert last(case).warning == "17y0m"
    case.record_due_deadlines(on(date(2026, 12, 15)), settings=SETTINGS)
    assert last(case).warning == "17y6m"
    case.record_majority(on(IS_18TH_BIRTHDAY), settings=SETTINGS)
    assert event_names(case)[-2:] == ["DeadlineBreached", "ChildReachedMajority"]
    assert clock_facts(case)[-1] == ("DeadlineBreached", "T5", "T5", IS_18TH_BIRTHDAY)
    assert clock.scheduled(case, SETTINGS) == []


def test_t13_a_life_stage_change_reaches_the_coordinator_handover() -> None:
    """Born 2010-05-01 and registered at primary school: on 1 August 2026 the child is of upper-secondary age."""
    school = designated_institution(PRIMARY_SCHOOL_ORG, InstitutionType.PRIMARY_SCHOOL)
    case = register_contact(birth_date=date(2010, 5, 1), coordinator_institution=school,
                            life_stage=LifeStage.PRIMARY)
    assert clock.next_day_to_look(case, SETTINGS) == date(2026, 8, 1)
    case.record_due_deadlines(on(date(2026, 8, 1)), settings=SETTINGS)
    reached = last(case)
    assert (type(reached).__name__, reached.rule_id, reached.stage) == ("DeadlineReached", "T13", "secondary")


def test_t14_gevs_improvement_deadline_is_reached_even_on_a_closed_case() -> None:
    case = iceland_case(IcelandStatus.INTEGRATION_ACTIVE_L1)
    case.record_complaint(on(date(2026, 3, 10)), complaint_id="gev-1", complainant_ref=COORDINATOR.person_ref,
                          complainant_capacity=ComplainantCapacity.USER, subject=ComplaintSubject.SERVICE_QUALITY)
    case.record_complaint_outcome(on(date(2026, 4, 1)), complaint_id="gev-1", outcome_summary_ref="doc:gev-report",
                                  deadline_for_improvement=date(2026, 9, 1))
    case.close_case(on(date(2026, 5, 1)), closure_reason="no_further_need")
    case.record_due_deadlines(on(date(2026, 9, 1)), settings=SETTINGS)
    assert clock_facts(case) == [("DeadlineReached", "T14", "T14:gev-1", date(2026, 9, 1))]


def test_the_age_out_override_is_refused_once_majority_is_recorded() -> None:
    """IS-R23b: after majority the override can no longer stand in for the missing transition plan."""
    case = iceland_case(IcelandStatus.PLAN_ACTIVE)
    case.record_majority(on(IS_18TH_BIRTHDAY), settings=SETTINGS)
    ctx = Context(CASE_MANAGER, on(IS_18TH_BIRTHDAY).occurred_at)
    with refused(case, "IS-R23b"):
        case.conclude_support_team(ctx, outcome=TeamOutcome.AGE_OUT, justification_doc_ref=None,
                                   settings=SETTINGS, override_reason_code="late_referral")


def test_norway_warns_before_18_and_breaches_t9_18_when_no_decision_follows_majority() -> None:
    settings = replace(SETTINGS, no_ordinary_coordinator_decision_days=30)
    case = norway_case(NorwayStatus.ACTIVE)
    case.record_due_deadlines(on(date(2031, 4, 20)), settings=settings)
    assert last(case).warning == "17y0m"
    case.record_majority(on(NO_18TH_BIRTHDAY), settings=settings)
    assert case.status is NorwayStatus.ORDINARY_COORDINATOR_ASSESSMENT and not case.after_18_decision_overdue
    case.record_due_deadlines(on(date(2032, 5, 17)), settings=settings)
    case.record_due_deadlines(on(date(2032, 5, 21)), settings=settings)
    assert clock_facts(case)[-2:] == [
        ("DeadlineWarningRaised", "T9-18", "T9-18:2032-04-20", date(2032, 5, 20)),
        ("DeadlineBreached", "T9-18", "T9-18:2032-04-20", date(2032, 5, 20)),
    ]
    assert case.after_18_decision_overdue


def test_the_after_18_deadline_is_not_enforced_when_switched_off() -> None:
    settings = replace(SETTINGS, no_ordinary_coordinator_decision_days=None)
    case = norway_case(NorwayStatus.ACTIVE)
    case.record_majority(on(NO_18TH_BIRTHDAY), settings=settings)
    assert clock.scheduled(case, settings) == []


def test_the_after_18_deadline_runs_from_the_birthday_even_when_majority_is_recorded_late() -> None:
    case = norway_case(NorwayStatus.ACTIVE)
    case.record_majority(on(NO_18TH_BIRTHDAY + timedelta(days=10)), settings=SETTINGS)
    breach = [f for f in clock.scheduled(case, SETTINGS) if f.mark is clock.Mark.BREACHED]
    assert [(f.deadline_id, f.due_on) for f in breach] == [("T9-18:2032-04-20", date(2032, 5, 20))]


def test_a_fact_stored_before_rules_versions_were_recorded_reads_the_version_there_was() -> None:
    transcoder = Casework({"PERSISTENCE_MODULE": "eventsourcing.popo"}).construct_transcoder()
    stored = transcoder.encode(on(date(2026, 3, 2), "2027-01"))
    old = stored.replace(b',"rules_version":"2027-01"', b"")
    assert old != stored
    assert transcoder.decode(old).rules_version == RULES_VERSION_BEFORE_RECORDING
    assert transcoder.decode(stored).rules_version == "2027-01"


def test_a_settings_default_stays_unknown_where_the_law_is() -> None:
    assert LegalSettings().t2_case_manager_appointment_days is None
