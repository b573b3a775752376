"""Who appears in the audit trail: the cases of a family member, and (development sign-in only) the people who
acted, from the facts' own pseudonymous references (``actor_*`` and the opening facts' ``parent_refs``).

Same conventions as :mod:`projections.audit.queries`: a cursor on the audit generation, typed results. These
are indexes, not answers: every case found is read through the access model (and logged) before it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from projections.audit.queries import Cursor

OPENING_FACTS = ("contact_registered", "barnekoordinator_requested")
_NOT_ARCHIVED = ("NOT EXISTS (SELECT 1 FROM audit_forgotten f WHERE f.case_id = audit_trail.case_id"
                 " AND f.reason = 'archived')")
"""Read models forget (docs/privacy.md): an archived case is in no people index."""


def _not_protected(ref: str) -> str:
    return (f"NOT EXISTS (SELECT 1 FROM audit_forgotten f WHERE f.case_id = audit_trail.case_id"
            f" AND f.reason = 'protected' AND f.subject_ref = {ref})")


def cases_of_family(cur: Cursor, person_ref: str, *, limit: int = 20) -> list[UUID]:
    """Cases whose opening fact names ``person_ref`` as the child or a parent, newest first (the person's own
    sign-in: a protected identity finds its own cases; an archived case is found by no one)."""
    rows = cur.execute(
        "SELECT case_id FROM audit_trail WHERE case_version = 1 AND event_type = ANY(%(types)s) AND " + _NOT_ARCHIVED +

        " AND (payload->>'child_ref' = %(me)s OR EXISTS (SELECT 1 FROM"
        "      json_array_elements_text(payload->'parent_refs') AS p(ref) WHERE p.ref = %(me)s))"
        " ORDER BY occurred_at DESC LIMIT %(limit)s",
        {"types": list(OPENING_FACTS), "me": person_ref, "limit": limit}).fetchall()
    return [row[0] for row in rows]


@dataclass(frozen=True)
class SeenActor:
    role: str
    person_ref: str
    org_ref: str | None
    municipality_ref: str | None
    jurisdiction: str | None


def actors_seen(cur: Cursor, *, per_role: int = 6) -> list[SeenActor]:
    """Up to ``per_role`` people per role who recorded facts, with the organisation and the case's municipality
    and jurisdiction of one fact each (the development sign-in offers them)."""
    rows = cur.execute(
        "SELECT role, person, org, muni, jurisdiction FROM ("
        "  SELECT actor_role AS role, actor_person_ref AS person, payload->>'actor_org_ref' AS org,"
        "         payload->>'municipality_ref' AS muni, payload->>'jurisdiction' AS jurisdiction,"
        "         row_number() OVER (PARTITION BY actor_role ORDER BY actor_person_ref) AS n"
        "  FROM (SELECT DISTINCT ON (actor_role, actor_person_ref) * FROM audit_trail"
        "        WHERE actor_role <> 'system' AND " + _NOT_ARCHIVED + " AND " + _not_protected("actor_person_ref") +
        "        ORDER BY actor_role, actor_person_ref, notification_id) first"
        ") ranked WHERE n <= %(per_role)s ORDER BY role, person", {"per_role": per_role}).fetchall()
    return [SeenActor(*row) for row in rows]


def parents_seen(cur: Cursor, *, limit: int = 8) -> list[tuple[str, str]]:
    """``(parent ref, jurisdiction)`` of parents named by opening facts, for the development sign-in."""
    rows = cur.execute(
        "SELECT DISTINCT p.ref, payload->>'jurisdiction' FROM audit_trail,"
        " json_array_elements_text(payload->'parent_refs') AS p(ref)"
        " WHERE case_version = 1 AND event_type = ANY(%(types)s) AND " + _NOT_ARCHIVED + " AND "
        + _not_protected("p.ref") + " ORDER BY 1 LIMIT %(limit)s",
        {"types": list(OPENING_FACTS), "limit": limit}).fetchall()
    return [(ref, jurisdiction) for ref, jurisdiction in rows]
