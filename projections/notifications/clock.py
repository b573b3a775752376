"""The notices the law's clock's facts give (domain.md §3, §4): warnings to the case's lead, breaches to the lead,
escalations to the municipality's lead (a ``muni:`` recipient, as the case-manager request is), the handover at
a life-stage change to the coordinator and the municipality, GEV's improvement deadline to the municipality and the
case manager, and the after-18 breach to the family (it gives them a complaint ground, seed 002).

The notices quote what the fact records: the rule, the deadline, its due date and the rules version in force.
"""

from __future__ import annotations

from typing import Any

from contracts import events as e
from projections.notifications import clock_texts as t

PRIORITY_TASK = 1

NOTICE_OF = {
    e.DeadlineWarningRaisedV1: t.DEADLINE_WARNING,
    e.DeadlineBreachedV1: t.DEADLINE_BREACHED,
    e.DeadlineReachedV1: t.DEADLINE_REACHED,
    e.DeadlineEscalatedV1: t.DEADLINE_ESCALATED,
}


def is_clock_fact(event: e.EventEnvelopeV1) -> bool:
    return type(event) in NOTICE_OF


def recipients(event: e.EventEnvelopeV1, parties: Any) -> list[str | None]:
    """Who hears of a clock fact (``parties`` is the projection's ``Parties`` of the case)."""
    rule = event.rule_id or ""
    if isinstance(event, e.DeadlineEscalatedV1):
        return [event.escalated_to_ref]
    if rule == "T2":  # nobody leads yet: the municipality appoints
        return [event.municipality_ref, parties.coordinator_ref]
    if rule == "T13":
        return [parties.coordinator_ref, event.municipality_ref]
    if rule == "T14":
        return [event.municipality_ref, parties.case_manager_ref]
    if rule == "T9-18" and isinstance(event, e.DeadlineBreachedV1):
        return [*parties.family_refs, event.municipality_ref]
    if rule == "T9-18":
        return [event.municipality_ref]
    if rule == "T5":
        return [parties.lead(), *parties.professionals()]
    return [parties.lead()]


def notify(event: e.EventEnvelopeV1, parties: Any, out: Any) -> None:
    """Add the clock fact's notice to ``out`` (the projection's statement builder)."""
    assert isinstance(event, e.DeadlineWarningRaisedV1 | e.DeadlineBreachedV1 | e.DeadlineReachedV1
                      | e.DeadlineEscalatedV1)
    params = {"rule_id": event.rule_id or "", "deadline_id": event.deadline_id, "due_on": event.due_on.isoformat(),
              "rules_version": event.rules_version or ""}
    if isinstance(event, e.DeadlineWarningRaisedV1):
        params["warning"] = event.warning
    if isinstance(event, e.DeadlineReachedV1):
        params["stage"] = event.stage
    out.notice(NOTICE_OF[type(event)], recipients(event, parties), PRIORITY_TASK, **params)
