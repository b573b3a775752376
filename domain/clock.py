"""The law's clock: which time-driven facts a case's own state makes due, and on which day (domain.md §3).

Pure functions of a case and a day. The clock service (``services/clock``) asks them for the next days to look
at (its due-index) and, on the day, the case records what is due through one system command
(``Case.record_due_deadlines``): the case itself decides, so N clock replicas computing the same facts from the
same version record them once (the store's optimistic concurrency lets one save win; the next attempt finds
them recorded and nothing left due, rule CLOCK-1).

Each fact is keyed by its kind, the deadline and the warning stage (:attr:`DueFact.key`), held on the case once
recorded, so a fact is never recorded twice for the same deadline. The rules cited are the T-numbers of domain.md
§3 (``T9-18`` is T9 for the Norwegian decision on an ordinary coordinator after 18). Values the law leaves open
come from :class:`~domain.legal_settings.LegalSettings` (``None``: the deadline is not enforced, so no fact);
every fact carries the ``rules_version`` of the settings in force in its context.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from domain.legal_settings import LegalSettings
from domain.life_stage import derive_life_stage, next_life_stage_change
from domain.rules import birthday
from domain.values import IntegrationTrack, Jurisdiction


class Mark(StrEnum):
    """What the clock records about a deadline: the fact's kind."""

    WARNED = "warned"
    """Ahead of the due date (``DeadlineWarningRaised``)."""
    BREACHED = "breached"
    """The due date passed with the duty unmet (``DeadlineBreached``)."""
    REACHED = "reached"
    """A date the law sets has come and a duty starts or falls due (``DeadlineReached``: T13, T14)."""
    ESCALATED = "escalated"
    """Still unmet some days after the breach: the municipality's lead is told (``DeadlineEscalated``)."""


@dataclass(frozen=True, order=True)
class DueFact:
    """One time-driven fact a case's state implies: on ``fires_on`` the clock records ``mark`` of deadline
    ``deadline_id`` (rule ``rule_id``, due on ``due_on``)."""

    fires_on: date
    rule_id: str
    deadline_id: str
    mark: Mark
    due_on: date
    stage: str = ""
    """Which warning (``17y0m``, ``3d``); empty for the other marks."""

    @property
    def key(self) -> str:
        return f"{self.mark.value}|{self.deadline_id}|{self.stage}"


AFTER_MAJORITY = frozenset({"ordinary_coordinator_assessment", "adult_coordinator"})
"""Norwegian states only majority leads to."""
MAJORITY = "T6"
"""The 18th birthday (age-out, domain.md §3 T6): recorded by ``RecordMajority``, indexed like a deadline."""


def _day_after(day: date) -> date:
    return day + timedelta(days=1)


def _timer(rule_id: str, deadline_id: str, due_on: date, settings: LegalSettings, *,
           escalate: bool) -> Iterator[DueFact]:
    """A deadline with a due date: warned ``deadline_warning_days`` before, breached the day after it, escalated
    ``escalation_after_breach_days`` after the breach (domain.md §3 T2: 'escalate to municipality lead' [I])."""
    if settings.deadline_warning_days > 0:
        warn_on = due_on - timedelta(days=settings.deadline_warning_days)
        yield DueFact(warn_on, rule_id, deadline_id, Mark.WARNED, due_on, f"{settings.deadline_warning_days}d")
    breach_on = _day_after(due_on)
    yield DueFact(breach_on, rule_id, deadline_id, Mark.BREACHED, due_on)
    if escalate:
        yield DueFact(breach_on + timedelta(days=settings.escalation_after_breach_days), rule_id, deadline_id,
                      Mark.ESCALATED, due_on)


def _months_after(start: date, months: int) -> date:
    year, month = divmod(start.month - 1 + months, 12)
    try:
        return start.replace(year=start.year + year, month=month + 1)
    except ValueError:  # 29-31 of a shorter month: the first of the next month
        return date(start.year + year + (month + 1) // 12, (month + 1) % 12 + 1, 1)


def _transition_warnings(case: Any, settings: LegalSettings, majority: date) -> Iterator[DueFact]:
    """T5 [I]: warnings at 17y0m and 17y6m (``transition_warning_months``) before the hard 18th birthday."""
    for months in settings.transition_warning_months:
        stage = f"{months // 12}y{months % 12}m"
        yield DueFact(_months_after(case.birth_date, months), "T5", "T5", Mark.WARNED, majority, stage)


def _iceland(case: Any, settings: LegalSettings) -> Iterator[DueFact]:
    status = str(case.status)
    majority = None if case.birth_date is None else birthday(case.birth_date, settings.age_of_majority_years)
    need_notified_on = getattr(case, "need_notified_on", None)
    if settings.t2_case_manager_appointment_days is not None and need_notified_on is not None and (
            status == "awaiting_case_manager"):
        due = need_notified_on + timedelta(days=settings.t2_case_manager_appointment_days)
        yield from _timer("T2", f"T2:{need_notified_on.isoformat()}", due, settings, escalate=True)
    team_established_on = getattr(case, "team_established_on", None)
    if settings.t3_plan_drafting_days is not None and team_established_on is not None and (
            status == "team_active_no_plan"):
        due = team_established_on + timedelta(days=settings.t3_plan_drafting_days)
        yield from _timer("T3", f"T3:{team_established_on.isoformat()}", due, settings, escalate=True)
    if status == "plan_active" and case.next_review is not None:
        deadline = f"T4:{case.plan_id}:{case.next_review.isoformat()}"
        breach_on = _day_after(case.next_review)
        yield DueFact(breach_on, "T4", deadline, Mark.BREACHED, case.next_review)
        yield DueFact(breach_on + timedelta(days=settings.escalation_after_breach_days), "T4", deadline,
                      Mark.ESCALATED, case.next_review)
    if majority is not None and case.track is IntegrationTrack.CASE_MANAGER_LED and (
            case.transition_plan_adopted_on is None):
        yield from _transition_warnings(case, settings, majority)
        yield DueFact(majority, "T5", "T5", Mark.BREACHED, majority)
    yield from _improvement_deadlines(case)
    yield from _handover(case)


def _improvement_deadlines(case: Any) -> Iterator[DueFact]:
    """T14: GEV's deadline for improvement, set in a complaint's outcome (gev.is: a report, recommendations and
    a deadline, then a warning, then daily fines)."""
    for complaint_id, deadline in getattr(case, "improvement_deadlines", ()):
        yield DueFact(deadline, "T14", f"T14:{complaint_id}", Mark.REACHED, deadline)


def _handover(case: Any) -> Iterator[DueFact]:
    """T13: the child's age-derived life stage changes (school start, upper secondary) and the coordinator's
    institution no longer serves it: a handover to the new stage's coordinator is due (seed 003)."""
    since = getattr(case, "coordinator_since", None)
    if case.birth_date is None or since is None:
        return
    change = next_life_stage_change(case.birth_date, since)
    # The typical stage for the age (derive_life_stage), not every stage LIFE-1 tolerates a year either side:
    # the handover duty starts when the age-derived stage changes, even if a late start keeps it lawful.
    if change is not None and case.life_stage is not derive_life_stage(case.birth_date, change[0]):
        yield DueFact(change[0], "T13", f"T13:{change[0].isoformat()}", Mark.REACHED, change[0],
                      change[1].value)


def _norway(case: Any, settings: LegalSettings) -> Iterator[DueFact]:
    status = str(case.status)
    if case.birth_date is not None and status == "active":
        yield from _transition_warnings(case, settings,
                                        birthday(case.birth_date, settings.age_of_majority_years))
    days = settings.no_ordinary_coordinator_decision_days
    if days is not None and case.birth_date is not None and status == "ordinary_coordinator_assessment":
        # from the birthday, not from the day majority was recorded: a late clock does not move the deadline
        eighteenth = birthday(case.birth_date, settings.age_of_majority_years)
        due = eighteenth + timedelta(days=days)
        yield from _timer("T9-18", f"T9-18:{eighteenth.isoformat()}", due, settings, escalate=False)


def scheduled(case: Any, settings: LegalSettings) -> list[DueFact]:
    """Every fact the case's current state implies and has not recorded yet, in the order they fire. A closed
    case owes only GEV's deadline for improvement (T14): a complaint outlives its case (domain.md §2.3 row 25)."""
    if not case.is_open:
        facts: Iterator[DueFact] = _improvement_deadlines(case)
    else:
        facts = _iceland(case, settings) if case.jurisdiction is Jurisdiction.ICELAND else _norway(case, settings)
    recorded = set(getattr(case, "clock_marks", ()))
    return sorted(fact for fact in facts if fact.key not in recorded)


def due(case: Any, on: date, settings: LegalSettings) -> list[DueFact]:
    """The facts due on ``on`` (and not recorded). A warning whose due date has come is left out: a late clock
    does not warn about what is already due or breached."""
    return [fact for fact in scheduled(case, settings)
            if fact.fires_on <= on and not (fact.mark is Mark.WARNED and fact.due_on <= on)]


def majority_due(case: Any, on: date, settings: LegalSettings) -> bool:
    """Whether ``RecordMajority`` is due: the case is open, the 18th birthday has come, majority not recorded (a
    Norwegian case restored from a snapshot older than ``majority_on`` shows it by its state)."""
    if not case.is_open or case.birth_date is None or getattr(case, "majority_on", None) is not None:
        return False
    if str(case.status) in AFTER_MAJORITY:
        return False
    return on >= birthday(case.birth_date, settings.age_of_majority_years)


def next_day_to_look(case: Any, settings: LegalSettings) -> date | None:
    """The first day the clock has something to record for this case (a deadline fact or majority), if any:
    what the clock's due-index keeps per case."""
    days = [fact.fires_on for fact in scheduled(case, settings)]
    if case.is_open and case.birth_date is not None and getattr(case, "majority_on", None) is None and (
            str(case.status) not in AFTER_MAJORITY):
        days.append(birthday(case.birth_date, settings.age_of_majority_years))
    return min(days, default=None)
