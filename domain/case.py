"""The case: one child, one jurisdiction, one integration episode (domain.md §2.1).

Every command method follows one pattern: it checks the law's rules against the current state, then
calls a method decorated with ``@event`` whose body only records the fact. The split is deliberate:
when a case is loaded, eventsourcing replays the decorated bodies, and a replay must never re-judge
history under today's rules or settings (a law or a municipality's settings may change; what was
lawfully decided stays decided). Facts are named in the law's words; guards cite the rule they enforce.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, CanMutateAggregate, event

from domain import bounds, clock
from domain.errors import RuleViolation
from domain.legal_settings import LegalSettings
from domain.rules import age_in_years, birthday
from domain.values import Context, Jurisdiction


def natural_key_id(jurisdiction: Jurisdiction, child_ref: str, episode: int) -> UUID:
    """The id of a case's natural key (jurisdiction, child, episode) in the store.

    v1 used this as the case id itself, so anyone with a child's ref could compute "is this child a case?".
    Case ids are now random (uuid4, eventsourcing's default); this id is the :class:`CaseKey` saved with the
    case in one transaction, so opening the same episode twice still collides in the store, and a case
    stored by v1 under this very id still blocks a second open of its episode."""
    return uuid5(NAMESPACE_URL, f"prosperity:/cases/{jurisdiction.value}/{child_ref}/{episode}")


class CaseKey(Aggregate):
    """The natural key of one case, held once: the eventsourcing way to keep a value unique (the library's
    wiki example saves a page and its slug index together). Never published, never a case."""

    class Registered(Aggregate.Created):
        jurisdiction: Jurisdiction
        child_ref: str
        episode: int
        case_id: UUID

    @event(Registered)
    def __init__(self, jurisdiction: Jurisdiction, child_ref: str, episode: int, case_id: UUID) -> None:
        self.jurisdiction, self.child_ref, self.episode, self.case_id = jurisdiction, child_ref, episode, case_id

    @staticmethod
    def create_id(jurisdiction: Jurisdiction, child_ref: str, episode: int) -> UUID:
        return natural_key_id(jurisdiction, child_ref, episode)

    @classmethod
    def of(cls, case: Case) -> CaseKey:
        return cls(jurisdiction=case.jurisdiction, child_ref=case.child_ref, episode=case.episode, case_id=case.id)


class Case(Aggregate):
    """What both laws share: the child, the family, the municipality, the episode and its end, and the case's clock.

    The clock (rules TIME-1 and TIME-2, :mod:`domain.bounds`): a fact is not dated before the latest fact already
    recorded for the case, nor before the child's birth. It is checked in :meth:`trigger_event`, which every
    command method's fact passes through when the command records it, and which a replay never calls
    (eventsourcing replays stored facts through ``mutate``), so history is never re-judged. What it is checked
    against, ``latest_occurred_at``, is kept by :class:`Case.Event` for every fact, on record and on replay alike.
    """

    class_version = 2
    """2: ``latest_occurred_at`` is part of the state (and of snapshots)."""

    jurisdiction: Jurisdiction
    child_ref: str
    parent_refs: tuple[str, ...]
    birth_date: date | None
    municipality_ref: str
    episode: int
    closed_on: date | None
    latest_occurred_at: datetime | None = None
    """The latest ``occurred_at`` of the case's facts: TIME-1's floor for the next one."""
    majority_on: date | None = None
    """The day majority was recorded (``ChildReachedMajority``); class defaults like this one let a snapshot
    taken before the state existed restore without an upcaster."""
    clock_marks: tuple[str, ...] = ()
    """The keys (:attr:`domain.clock.DueFact.key`) of the deadline facts the clock has recorded: each once."""

    class Event(Aggregate.Event):
        """Every fact of a case: once the fact's own body has run, the case remembers its latest time. Kept here,
        once, rather than repeated in each of the fact bodies: it is the same for every fact."""

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            ctx = getattr(self, "ctx", None)
            if isinstance(ctx, Context):
                latest = getattr(aggregate, "latest_occurred_at", None)
                if latest is None or ctx.occurred_at > latest:
                    aggregate.latest_occurred_at = ctx.occurred_at

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot taken before v2 holds no ``latest_occurred_at``: unknown, until the case's next fact."""
        state.setdefault("latest_occurred_at", None)

    def check_time(self, ctx: Context) -> None:
        """TIME-1 and TIME-2: the case's clock allows a fact at ``ctx.occurred_at``. The application asks before a
        command runs (so a refusal names the fact's time before any of its fields); every fact asks again below."""
        bounds.check_after_latest_fact(ctx.occurred_at, self.latest_occurred_at)
        bounds.check_after_birth(ctx.occurred_at, self.birth_date)

    def trigger_event(self, event_class: type[CanMutateAggregate[UUID]], **kwargs: Any) -> None:
        """Record a fact of a command, once the case's clock allows its time (TIME-1, TIME-2)."""
        ctx = kwargs.get("ctx")
        if isinstance(ctx, Context):
            self.check_time(ctx)
        super().trigger_event(event_class, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.closed_on is None

    def age_on(self, on: date) -> int | None:
        return None if self.birth_date is None else age_in_years(self.birth_date, on)

    def majority_date(self, settings: LegalSettings) -> date | None:
        return None if self.birth_date is None else birthday(self.birth_date, settings.age_of_majority_years)

    def record_majority(self, ctx: Context, *, settings: LegalSettings) -> None:
        """The child turns 18 (domain.md §3 T6); each law says what that does to its case."""
        raise NotImplementedError

    def close_case(self, ctx: Context, *, closure_reason: str) -> None:
        """The case ends (domain.md §2.3 row 29); each law says when that is allowed."""
        raise NotImplementedError

    @event("ChildReachedMajority")
    def _child_reached_majority(self, ctx: Context, on: date, transition_plan_existed: bool) -> None:
        self.majority_on = on
        self._on_majority(on)

    def _on_majority(self, on: date) -> None:
        """Each law says what majority does to its case."""
        raise NotImplementedError

    @event("CaseClosed")
    def _case_closed(self, ctx: Context, closure_reason: str) -> None:
        self.closed_on = ctx.day
        self._on_closed()

    def _on_closed(self) -> None:
        """Each law says which state a closed case is in."""
        raise NotImplementedError

    # ---- the law's clock (domain.md §3; domain.clock) ------------------------------------------------------
    def record_due_deadlines(self, ctx: Context, *, settings: LegalSettings) -> None:
        """The clock records every deadline fact the case's state makes due on ``ctx.day``, each citing its rule
        (the T-number) and, in its context, the rules version in force. CLOCK-1: nothing due, nothing recorded
        (a second clock replica finds the first one's facts and stops here)."""
        due = clock.due(self, ctx.day, settings)
        if not due:
            raise RuleViolation("CLOCK-1", "No deadline of this case is due on that day, or it is already recorded.",
                                remedy="Nothing to do; the clock looks again on the next day something falls due.")
        self._record_clock_facts(ctx, due)

    def _record_clock_facts(self, ctx: Context, due: list[clock.DueFact]) -> None:
        for fact in due:
            if fact.mark is clock.Mark.WARNED:
                self._deadline_warning_raised(ctx, fact.rule_id, fact.deadline_id, fact.due_on, fact.stage)
            elif fact.mark is clock.Mark.BREACHED:
                self._deadline_breached(ctx, fact.rule_id, fact.deadline_id, fact.due_on)
            elif fact.mark is clock.Mark.REACHED:
                self._deadline_reached(ctx, fact.rule_id, fact.deadline_id, fact.due_on, fact.stage)
            else:
                self._deadline_escalated(ctx, fact.rule_id, fact.deadline_id, fact.due_on, self.municipality_ref)

    def _clock_mark(self, mark: clock.Mark, deadline_id: str, stage: str = "") -> None:
        self.clock_marks = (*self.clock_marks, f"{mark.value}|{deadline_id}|{stage}")

    def deadline_breached(self, rule_id: str) -> bool:
        """Whether the clock has recorded a breach of rule ``rule_id`` on this case (e.g. ``T9-18``)."""
        return any(key.startswith(f"{clock.Mark.BREACHED.value}|{rule_id}:") or
                   key == f"{clock.Mark.BREACHED.value}|{rule_id}|" for key in self.clock_marks)

    @event("DeadlineWarningRaised")
    def _deadline_warning_raised(self, ctx: Context, rule_id: str, deadline_id: str, due_on: date,
                                 warning: str) -> None:
        self._clock_mark(clock.Mark.WARNED, deadline_id, warning)

    @event("DeadlineBreached")
    def _deadline_breached(self, ctx: Context, rule_id: str, deadline_id: str, due_on: date) -> None:
        self._clock_mark(clock.Mark.BREACHED, deadline_id)

    @event("DeadlineReached")
    def _deadline_reached(self, ctx: Context, rule_id: str, deadline_id: str, due_on: date, stage: str) -> None:
        self._clock_mark(clock.Mark.REACHED, deadline_id, stage)

    @event("DeadlineEscalated")
    def _deadline_escalated(self, ctx: Context, rule_id: str, deadline_id: str, due_on: date,
                            escalated_to_ref: str) -> None:
        self._clock_mark(clock.Mark.ESCALATED, deadline_id)
