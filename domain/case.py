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

from domain import bounds, clock, personal_data
from domain.access.relations import basis_withdrawn
from domain.errors import RuleViolation
from domain.legal_settings import LegalSettings
from domain.personal_data import ErasureBasis, ErasureOutcome, ExportFormat, RestrictionGround
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
    archived_on: date | None = None
    """The day the case was archived (PRIV-9); class-level defaults (never mutated in place) keep snapshots taken
    before the data subject's rights were facts readable as they are."""
    restricted_subjects: tuple[str, ...] = ()
    """Subjects whose processing is restricted (GDPR Art. 18, PRIV-5)."""
    protected_subjects: tuple[str, ...] = ()
    """Subjects whose identity is protected: read models and notices keep none of their data (PRIV-7)."""
    erasure_requests: tuple[tuple[str, str], ...] = ()
    """Undecided erasure requests: (request id, subject)."""
    decided_erasure_requests: tuple[str, ...] = ()
    superseded_doc_refs: tuple[str, ...] = ()
    """Documents a rectification replaced (PRIV-8)."""

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

    # ---- the data subject's rights (domain.personal_data, PRIV-2 … PRIV-9) ---------------------------------
    def check_processing_allowed(self, command: str) -> None:
        """PRIV-5: a restriction or an archived case holds back every command but the rights' own."""
        personal_data.require_processing_allowed(command, self.restricted_subjects, self.archived_on is not None)

    def pending_erasures(self) -> dict[str, str]:
        """Undecided erasure requests: request id → subject (a snapshot may hold the pairs as lists)."""
        return {str(r): str(s) for r, s in self.erasure_requests}

    def relation_of(self, subject_ref: str) -> str:
        """``child`` or ``parent``: what a data subject is to the case (read models forget accordingly)."""
        return "child" if subject_ref == self.child_ref else "parent"

    def _check_subject(self, subject_ref: str) -> None:
        personal_data.require_subject_of_case(subject_ref, self.child_ref, self.parent_refs)

    def receive_erasure_request(self, ctx: Context, *, request_id: str, subject_ref: str) -> None:
        self._check_subject(subject_ref)
        personal_data.require_new_erasure_request(
            request_id, (*(r for r, _ in self.erasure_requests), *self.decided_erasure_requests))
        self._erasure_request_received(ctx, request_id, subject_ref)

    @event("ErasureRequestReceived")
    def _erasure_request_received(self, ctx: Context, request_id: str, subject_ref: str) -> None:
        self.erasure_requests = (*self.erasure_requests, (request_id, subject_ref))

    def decide_erasure_request(self, ctx: Context, *, request_id: str, outcome: ErasureOutcome,
                               basis: ErasureBasis, settings: LegalSettings) -> None:
        subject_ref = personal_data.require_open_erasure_request(request_id, self.pending_erasures())
        personal_data.require_erasure_basis(outcome, basis, basis_withdrawn=basis_withdrawn(self), settings=settings)
        self._erasure_request_decided(ctx, request_id, subject_ref, outcome, basis)

    @event("ErasureRequestDecided")
    def _erasure_request_decided(self, ctx: Context, request_id: str, subject_ref: str, outcome: ErasureOutcome,
                                 basis: ErasureBasis) -> None:
        self.erasure_requests = tuple((r, s) for r, s in self.erasure_requests if r != request_id)
        self.decided_erasure_requests = (*self.decided_erasure_requests, request_id)

    def restrict_processing(self, ctx: Context, *, subject_ref: str, ground: RestrictionGround) -> None:
        self._check_subject(subject_ref)
        personal_data.require_restriction_change(subject_ref, self.restricted_subjects, restrict=True)
        self._processing_restricted(ctx, subject_ref, ground)

    @event("ProcessingRestricted")
    def _processing_restricted(self, ctx: Context, subject_ref: str, ground: RestrictionGround) -> None:
        self.restricted_subjects = (*self.restricted_subjects, subject_ref)

    def lift_processing_restriction(self, ctx: Context, *, subject_ref: str) -> None:
        personal_data.require_restriction_change(subject_ref, self.restricted_subjects, restrict=False)
        self._processing_restriction_lifted(ctx, subject_ref)

    @event("ProcessingRestrictionLifted")
    def _processing_restriction_lifted(self, ctx: Context, subject_ref: str) -> None:
        self.restricted_subjects = tuple(s for s in self.restricted_subjects if s != subject_ref)

    def rectify_data(self, ctx: Context, *, subject_ref: str, superseded_ref: str, replacement_ref: str) -> None:
        self._check_subject(subject_ref)
        personal_data.require_rectification(superseded_ref, replacement_ref, self.superseded_doc_refs)
        self._data_rectified(ctx, subject_ref, superseded_ref, replacement_ref)

    @event("DataRectified")
    def _data_rectified(self, ctx: Context, subject_ref: str, superseded_ref: str, replacement_ref: str) -> None:
        self.superseded_doc_refs = (*self.superseded_doc_refs, superseded_ref)

    def protect_identity(self, ctx: Context, *, subject_ref: str) -> None:
        self._check_subject(subject_ref)
        personal_data.require_protection_change(subject_ref, self.protected_subjects, protect=True)
        self._identity_protected(ctx, subject_ref, self.relation_of(subject_ref))

    @event("IdentityProtected")
    def _identity_protected(self, ctx: Context, subject_ref: str, relation: str) -> None:
        self.protected_subjects = (*self.protected_subjects, subject_ref)

    def lift_identity_protection(self, ctx: Context, *, subject_ref: str) -> None:
        personal_data.require_protection_change(subject_ref, self.protected_subjects, protect=False)
        self._identity_protection_lifted(ctx, subject_ref, self.relation_of(subject_ref))

    @event("IdentityProtectionLifted")
    def _identity_protection_lifted(self, ctx: Context, subject_ref: str, relation: str) -> None:
        self.protected_subjects = tuple(s for s in self.protected_subjects if s != subject_ref)

    def archive_case(self, ctx: Context, *, settings: LegalSettings) -> None:
        personal_data.require_archivable(self.closed_on, self.archived_on is not None, ctx.day, settings)
        self._case_archived(ctx, settings.active_retention_days_after_closure)

    @event("CaseArchived")
    def _case_archived(self, ctx: Context, retention_days: int) -> None:
        # the rules version in force is on the fact's context, as on every fact
        self.archived_on = ctx.day

    def record_subject_access_export(self, ctx: Context, *, request_id: str, subject_ref: str, recipient_ref: str,
                                     export_format: ExportFormat, content_sha256: str) -> None:
        """Art. 15: the export is a fact of the case (who asked, for whom, to whom, and a digest of what was
        handed over, so the very export can be shown later)."""
        self._check_subject(subject_ref)
        personal_data.require_lawful_recipient(recipient_ref, subject_ref, self.child_ref, self.parent_refs)
        self._subject_access_exported(ctx, request_id, subject_ref, recipient_ref, export_format, content_sha256)

    @event("SubjectAccessExported")
    def _subject_access_exported(self, ctx: Context, request_id: str, subject_ref: str, recipient_ref: str,
                                 export_format: ExportFormat, content_sha256: str) -> None:
        """The export changes nothing in the case; recording it is the point."""
