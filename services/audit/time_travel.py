"""Time travel: what a case looked like at a past instant, rebuilt from the event store.

Two clocks, because supervisors ask both questions (domain.md §5):

* ``by="recorded"`` (**knowledge time**, the default): what the system *knew* at ``as_of``: the facts the
  event store had recorded by then (``recorded_at``, the store's own timestamp). This is what staff saw on
  screen, and what a decision taken at that instant could rely on. It is exact: versions are recorded in order.
* ``by="occurred"`` (**world time**): the case as it stood in the world at ``as_of``, by the ``occurred_at``
  the actors entered (a meeting entered the next day occurred the day before).

A case's state exists only as a prefix of its versions (each fact was judged against the one before it), so
both take the longest *prefix* of facts whose time is at or before ``as_of``: version *v* = the number of
leading facts at or before ``as_of``. With ``occurred`` a fact can have been entered late, *after* a fact that
occurred later than ``as_of`` (a backdated entry): it is outside the prefix although it had occurred by
``as_of``; the snapshot lists such facts in ``backdated_after`` so nothing is silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from services.casework.application import Casework

Clock = Literal["occurred", "recorded"]


@dataclass(frozen=True)
class FactRef:
    case_version: int
    fact: str
    """The domain fact's class name (``SupportPlanAdopted``)."""
    occurred_at: datetime
    recorded_at: datetime


@dataclass(frozen=True)
class CaseSnapshot:
    """A case as of an instant, on one clock."""

    case_id: UUID
    as_of: datetime
    by: Clock
    version: int
    latest_version: int
    """The case's version now: ``latest_version - version`` facts came later."""
    status: str
    jurisdiction: str
    municipality_ref: str
    child_ref: str
    episode: int
    closed_on: date | None
    coordinator_ref: str | None
    case_manager_ref: str | None
    """Iceland only."""
    team_id: str | None
    plan_id: str | None
    plan_version: int | None
    highest_level: int | None
    """Iceland: the highest level among active services."""
    consent_active: bool | None
    """Norway: the family's consent is in force; Iceland: the integration request is."""
    last_fact: FactRef
    backdated_after: tuple[FactRef, ...] = ()
    """``by="occurred"`` only: facts after the prefix that had nevertheless occurred by ``as_of``."""


def _value(value: Any) -> str:
    return str(getattr(value, "value", value))


def case_as_of(app: Casework, case_id: UUID, as_of: datetime, *, by: Clock = "recorded") -> CaseSnapshot | None:
    """The case as of ``as_of`` (timezone-aware) on the ``by`` clock; None if it had no fact by then.
    Raises ``AggregateNotFoundError`` for an unknown case."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if by not in ("occurred", "recorded"):
        raise ValueError(f"by must be 'occurred' or 'recorded', not {by!r}")
    stored: list[Any] = list(app.events.get(case_id))
    facts = [FactRef(e.originator_version, type(e).__name__, e.ctx.occurred_at, e.timestamp) for e in stored]
    if not facts:
        raise AggregateNotFoundError(case_id)

    def at(fact: FactRef) -> datetime:
        return fact.occurred_at if by == "occurred" else fact.recorded_at

    version = 0
    for fact in facts:
        if at(fact) > as_of:
            break
        version = fact.case_version
    if version == 0:
        return None
    backdated = tuple(f for f in facts[version:] if at(f) <= as_of)
    case: Any = app.repository.get(case_id, version=version)
    consent = getattr(case, "consent_active", None)
    if consent is None:
        consent = getattr(case, "request_active", None)
    plan_version = getattr(case, "plan_version", None)
    return CaseSnapshot(
        case_id=case_id, as_of=as_of, by=by, version=version, latest_version=facts[-1].case_version,
        status=_value(case.status), jurisdiction=_value(case.jurisdiction), municipality_ref=case.municipality_ref,
        child_ref=case.child_ref, episode=case.episode, closed_on=case.closed_on,
        coordinator_ref=getattr(case, "coordinator_ref", None),
        case_manager_ref=getattr(case, "case_manager_ref", None),
        team_id=getattr(case, "team_id", None), plan_id=getattr(case, "plan_id", None),
        plan_version=plan_version, highest_level=getattr(case, "highest_level", None),
        consent_active=None if consent is None else bool(consent), last_fact=facts[version - 1],
        backdated_after=backdated)
