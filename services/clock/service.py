"""``ClockService``: the process that records the law's time-driven facts (``prosperity clock``).

Each pass (:meth:`ClockService.tick`) does two things:

1. **follow the store**: read the notification log after the index's position; for every case a new fact
   touched, load it and keep its next day to look at (:class:`~services.clock.index.DueIndex`);
2. **record what is due today**: claim each case whose day has come, and issue, as the system identity (the
   ``clock`` relationship of the access model), ``RecordMajority`` on the 18th birthday (which records any
   deadline fact due with it first, so T5's breach precedes the close) or ``RecordDueDeadlines``. The case
   decides what is due (``domain.clock``) and records each fact once, citing its T-rule, with the rules version
   of the settings in force in its context.

``today`` comes from an injected clock (``now``), the same one the ``Casework`` it drives uses, so a test can
move time through a child's birthdays. The day is the UTC date; a Norwegian birthday therefore comes at most
two hours late (01:00/02:00 Oslo time), never early.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from uuid import UUID

import structlog

from contracts import commands as c
from domain import clock
from domain.errors import RuleViolation
from domain.values import SYSTEM_ACTOR
from services.casework.application import Casework, CommandMeta
from services.casework.errors import CaseNotFound, ConcurrencyConflict
from services.clock.index import DueIndex
from services.infra import topic_filter
from services.observability.metrics import DEADLINE_FACTS

FACT_KINDS = {"DeadlineWarningRaised": "warned", "DeadlineBreached": "breached", "DeadlineReached": "reached",
              "DeadlineEscalated": "escalated", "ChildReachedMajority": "majority"}
"""The metric's ``kind`` label of each clock fact."""

log = structlog.get_logger("clock")

BATCH = 500


@dataclass
class ClockStats:
    """What ``/metrics`` and the logs report (counts only, never a case's content)."""

    passes: int = 0
    facts_recorded: int = 0
    majorities_recorded: int = 0
    already_recorded: int = 0
    """Cases another replica (or an earlier pass) had already brought up to date."""
    failures: int = 0
    last_pass_at: datetime | None = None
    by_rule: dict[str, int] = field(default_factory=dict)


class ClockService:
    def __init__(self, app: Casework, index: DueIndex, *, now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 name: str = "clock") -> None:
        self.app, self.index, self.now, self.name = app, index, now, name
        self.stats = ClockStats()

    # ---- 1 the due-index, from the store ------------------------------------------------------------------
    def follow_store(self) -> int:
        """Bring the index up to the end of the notification log; returns how many cases were indexed."""
        indexed = 0
        position = self.index.position()
        while True:
            notifications = self.app.recorder.select_notifications(
                start=position, limit=BATCH, inclusive_of_start=False, topics=topic_filter.PUBLISHED)
            if not notifications:
                return indexed
            case_ids = list(dict.fromkeys(UUID(str(n.originator_id)) for n in notifications))
            entries = [entry for case_id in case_ids if (entry := self._entry(case_id)) is not None]
            position = notifications[-1].id
            self.index.record(entries, position)
            indexed += len(entries)

    def _entry(self, case_id: UUID) -> tuple[UUID, int, date | None] | None:
        try:
            case = self.app.get_case(case_id)
        except CaseNotFound:  # an institution of the directory: nothing of the clock's
            return None
        return case.id, case.version, clock.next_day_to_look(case, self.app.legal_settings)

    # ---- 2 what is due today --------------------------------------------------------------------------------
    def record_due(self) -> int:
        """Work through every case due today; returns how many facts were recorded."""
        today = self.now().date()
        recorded = 0
        while True:
            with self.index.claim(today) as claimed:
                if claimed is None:
                    return recorded
                conn, case_id = claimed
                tomorrow = date.fromordinal(today.toordinal() + 1)
                try:
                    recorded += self.bring_up_to_date(case_id, today)
                    case = self.app.get_case(case_id)
                except Exception as error:  # one case that cannot be worked on must not hold back the others
                    self.stats.failures += 1
                    log.error("clock.case_failed", case_id=str(case_id), error=type(error).__name__)
                    self.index.postpone(conn, case_id, tomorrow)
                    continue
                look_on = clock.next_day_to_look(case, self.app.legal_settings)
                if look_on is not None and look_on <= today:  # still due: a failure; look again tomorrow
                    look_on = tomorrow
                self.index.update_claimed(conn, case_id, case.version, look_on)

    def bring_up_to_date(self, case_id: UUID, today: date) -> int:
        """Record on one case what is due ``today``: majority (with what is due with it), else the deadline facts.
        Another writer having done it first is no error (the facts are the case's, each once)."""
        case = self.app.get_case(case_id)
        settings = self.app.legal_settings
        meta = CommandMeta(actor=SYSTEM_ACTOR, correlation_id=f"clock-{today.isoformat()}")
        try:
            if clock.majority_due(case, today, settings):
                result = self.app.record_majority(c.RecordMajority(case_id=case_id), meta)
                self.stats.majorities_recorded += 1
            elif clock.due(case, today, settings):
                result = self.app.record_due_deadlines(c.RecordDueDeadlines(case_id=case_id), meta)
            else:
                return 0
        except ConcurrencyConflict as conflict:
            self.stats.already_recorded += 1
            log.info("clock.already_up_to_date", case_id=str(case_id), cause=str(conflict.cause or ""))
            return 0
        except RuleViolation as violation:
            if violation.rule_id == "CLOCK-1":
                self.stats.already_recorded += 1
                return 0
            self.stats.failures += 1
            log.error("clock.refused", case_id=str(case_id), rule_id=violation.rule_id)
            return 0
        facts = self._count(result.case_id, case.version)
        self.stats.facts_recorded += facts
        log.info("clock.recorded", case_id=str(case_id), facts=facts, version=result.version)
        return facts

    def _count(self, case_id: UUID, before: int) -> int:
        counted = 0
        for event in self.app.events.get(case_id, gt=before):
            rule_id = getattr(event, "rule_id", None) or ("T6" if type(event).__name__ == "ChildReachedMajority"
                                                          else None)
            if rule_id is not None:
                self.stats.by_rule[rule_id] = self.stats.by_rule.get(rule_id, 0) + 1
                DEADLINE_FACTS.labels(rule=rule_id, kind=FACT_KINDS.get(type(event).__name__, "other")).inc()
                counted += 1
        return counted

    # ---- the loop ------------------------------------------------------------------------------------------
    def tick(self) -> int:
        """One pass: follow the store, then record what is due. Returns the facts recorded."""
        self.follow_store()
        recorded = self.record_due()
        self.follow_store()  # index the facts just recorded (their next day)
        self.stats.passes += 1
        self.stats.last_pass_at = datetime.now(UTC)
        return recorded

    def run(self, stop: threading.Event, interval_seconds: float) -> None:
        """Pass after pass until ``stop`` is set; a failing pass is logged and retried on the next."""
        self.index.create()
        log.info("clock.started", name=self.name, interval_seconds=interval_seconds)
        while not stop.is_set():
            try:
                self.tick()
            except Exception as error:  # a failing pass is retried; the process stays up
                self.stats.failures += 1
                log.error("clock.pass_failed", error=type(error).__name__, detail=str(error)[:200])
            stop.wait(interval_seconds)
        log.info("clock.stopped", name=self.name)
