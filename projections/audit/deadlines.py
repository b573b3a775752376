"""The supervisor's question about deadlines (domain.md §5 question 3, timeliness): which duties were late, under
which rule and which rules version, and whether the lead was told. Answered from the clock's own facts on the
audit trail (``deadline_breached``, ``deadline_escalated``), so "late under the rules in force then" is what the
fact recorded then, never recomputed under today's settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import psycopg

from projections.audit.queries import COLUMNS, AuditEntry

Cursor = psycopg.Cursor[Any]


@dataclass(frozen=True)
class DeadlineBreach:
    case_id: UUID
    rule_id: str
    deadline_id: str
    due_on: date
    breached_at: datetime
    rules_version: str | None
    """The rules version in force when the breach was recorded."""
    escalated_at: datetime | None
    """When the municipality's lead was told (``deadline_escalated``), if it came to that."""
    escalated_to_ref: str | None


def breaches_from(entries: list[AuditEntry]) -> list[DeadlineBreach]:
    escalations = {(e.case_id, str(e.get("deadline_id"))): e for e in entries if e.event_type == "deadline_escalated"}
    found = []
    for entry in entries:
        if entry.event_type != "deadline_breached":
            continue
        escalated = escalations.get((entry.case_id, str(entry.get("deadline_id"))))
        found.append(DeadlineBreach(
            entry.case_id, entry.rule_id or "", str(entry.get("deadline_id")),
            date.fromisoformat(str(entry.get("due_on"))),
            entry.occurred_at, entry.get("rules_version"), None if escalated is None else escalated.occurred_at,
            None if escalated is None else str(escalated.get("escalated_to_ref"))))
    return found


def deadline_breaches(cursor: Cursor, *, rule_id: str | None = None,
                      case_id: UUID | None = None) -> list[DeadlineBreach]:
    """Every breach the clock recorded (of one rule, or of one case), with its escalation."""
    rows = cursor.execute(
        f"SELECT {COLUMNS} FROM audit_trail WHERE event_type IN ('deadline_breached', 'deadline_escalated')"
        " AND (%(rule)s::text IS NULL OR rule_id = %(rule)s) AND (%(case)s::uuid IS NULL OR case_id = %(case)s)"
        " ORDER BY case_id, case_version", {"rule": rule_id, "case": case_id}).fetchall()
    return breaches_from([AuditEntry(*row) for row in rows])
