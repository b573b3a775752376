"""The law's clock on the dashboard: the deadline facts the clock recorded (domain.md §3), counted per rule.

Breaches are read from the facts themselves (``deadline_breached``, ``deadline_escalated``, …), not worked out at
query time, so a figure says what was late under the rules in force then: each row keeps the fact's
``rules_version``, and a count is per rule *and* rules version. One row per fact (``dash_deadline``), written only by
its own case, like every dashboard table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg

from contracts import events as ev
from projections.base import Statement

Cursor = psycopg.Cursor[Any]

TABLE = """CREATE TABLE IF NOT EXISTS dash_deadline (
    event_id text PRIMARY KEY,
    case_id uuid NOT NULL,
    kind text NOT NULL,
    rule_id text NOT NULL,
    deadline_id text NOT NULL,
    due_on date NOT NULL,
    recorded_on date NOT NULL,
    rules_version text
)"""
KINDS = {ev.DeadlineWarningRaisedV1: "warned", ev.DeadlineBreachedV1: "breached", ev.DeadlineReachedV1: "reached",
         ev.DeadlineEscalatedV1: "escalated"}


def statements(event: ev.EventEnvelopeV1, day: date) -> list[Statement]:
    """The row of one clock fact (none for any other fact)."""
    kind = KINDS.get(type(event))
    if kind is None:
        return []
    assert isinstance(event, ev.DeadlineWarningRaisedV1 | ev.DeadlineBreachedV1 | ev.DeadlineReachedV1
                      | ev.DeadlineEscalatedV1)
    return [Statement(
        "INSERT INTO dash_deadline (event_id, case_id, kind, rule_id, deadline_id, due_on, recorded_on, rules_version)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
        (event.event_id, event.case_id, kind, event.rule_id or "", event.deadline_id, event.due_on, day,
         event.rules_version))]


@dataclass(frozen=True)
class DeadlineCount:
    """Per municipality, rule and rules version: the clock's facts up to ``as_of``, and the deadlines breached and
    still open (the case not closed)."""

    jurisdiction: str | None
    municipality_ref: str
    rule_id: str
    rules_version: str | None
    warned: int
    breached: int
    escalated: int
    reached: int
    breached_open: int


def deadline_counts(cur: Cursor, *, as_of: date, municipality_ref: str | None = None) -> Sequence[DeadlineCount]:
    rows = cur.execute(
        "SELECT c.jurisdiction, c.municipality_ref, d.rule_id, d.rules_version,"
        " count(*) FILTER (WHERE d.kind = 'warned'), count(*) FILTER (WHERE d.kind = 'breached'),"
        " count(*) FILTER (WHERE d.kind = 'escalated'), count(*) FILTER (WHERE d.kind = 'reached'),"
        " count(*) FILTER (WHERE d.kind = 'breached' AND (c.closed_on IS NULL OR c.closed_on > %(as_of)s))"
        " FROM dash_deadline d JOIN dash_case c USING (case_id)"
        " WHERE d.recorded_on <= %(as_of)s AND (%(muni)s::text IS NULL OR c.municipality_ref = %(muni)s)"
        " GROUP BY 1, 2, 3, 4 ORDER BY 2, 3, 4",
        {"as_of": as_of, "muni": municipality_ref}).fetchall()
    return [DeadlineCount(*row) for row in rows]
