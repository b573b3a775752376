"""Reads: who may see what (domain.md §1, §8.3 items 3, 4 and 8), and the append-only read-access log.

Two layers, as for commands. The *role* layer (``READ_ROLES``) says which roles may ever ask a kind of read:
dashboards are for the municipality and supervisors, the suppressed national aggregate for the national agency
(and supervisors), audit questions for supervisors only, the coordinator directory for everyone signed in.
The *relationship* layer (:func:`relationships`) applies to a case's own data: a person sees a case only while
they are its coordinator (IS tengiliður / NO barnekoordinator), case manager, a member of its current support
team, or the target of an active information-sharing request on it; a parent sees their child's case and a
young person their own. Supervisors read any case's audit trail (not the case itself).

Every read of a case's data is recorded, with the purpose the caller states (``X-Purpose``), in
``api_read_log`` beside the event store: append-only (triggers refuse UPDATE, DELETE and TRUNCATE), and
readable by supervisors only.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.case import Case
from domain.values import Actor, Role
from services.api.authorization import Forbidden

R = Role


class ReadKind(enum.StrEnum):
    CASE = "case"
    DIRECTORY = "directory"
    DASHBOARD = "dashboard"
    NATIONAL = "national"
    AUDIT = "audit"
    CASELOAD = "caseload"


_EVERYONE = frozenset(Role)
READ_ROLES: Mapping[ReadKind, frozenset[Role]] = {
    # §8.3 item 3: only people with a relationship to the case; checked per case after this layer.
    ReadKind.CASE: frozenset({R.COORDINATOR, R.CASE_MANAGER, R.SERVICE_PROVIDER_REP, R.GENERAL_SERVICE_REP,
                              R.MUNICIPAL_STAFF, R.PARENT, R.YOUNG_PERSON}),
    ReadKind.DIRECTORY: _EVERYONE,  # "who is the coordinator for this child's institution" (§1.7)
    ReadKind.DASHBOARD: frozenset({R.MUNICIPALITY_LEAD, R.SUPERVISOR}),  # §6 consumers
    ReadKind.NATIONAL: frozenset({R.NATIONAL_AGENCY, R.SUPERVISOR}),  # §1.8, §8.3 item 8: suppressed only
    ReadKind.AUDIT: frozenset({R.SUPERVISOR}),  # §1.9, §5; §8.3 item 4: log access separately permissioned
    # §6 my_caseload: one's own open cases as coordinator, case manager or barnekoordinator (a coordinator role).
    ReadKind.CASELOAD: frozenset({R.COORDINATOR, R.CASE_MANAGER}),
}


class Purpose(enum.StrEnum):
    """Why a case's data is read (``X-Purpose``), recorded in the read-access log."""

    CASEWORK = "casework"
    SUPERVISION = "supervision"
    COMPLAINT = "complaint"
    OWN_CASE = "own_case"


class ReadForbidden(Forbidden):
    """The caller's role may not make this kind of read (403)."""

    def __init__(self, operation: str, role: Role, allowed: frozenset[Role]) -> None:
        self.command, self.role, self.allowed = operation, role, sorted(r.value for r in allowed)
        Exception.__init__(self, f"The role {role.value} may not read {operation}; it needs one of the roles "
                                 f"{', '.join(self.allowed)}.")


STAFF_RELATIONSHIPS = ("coordinator", "case_manager", "team_member", "information_sharing_target")


class RelationshipMissing(Exception):
    """The caller has no current relationship with the case (403)."""

    def __init__(self, actor: Actor, case_id: UUID, required: tuple[str, ...]) -> None:
        self.person_ref, self.role, self.case_id, self.required = actor.person_ref, actor.role, case_id, required
        super().__init__(f"{actor.person_ref} ({actor.role.value}) has no current relationship with case {case_id}; "
                         f"reading it needs one of: {', '.join(required)}.")


def authorize_read(actor: Actor, kind: ReadKind, operation: str) -> None:
    allowed = READ_ROLES[kind]
    if actor.role not in allowed:
        raise ReadForbidden(operation, actor.role, allowed)


def relationships(actor: Actor, case: Case) -> list[str]:
    """The caller's current relationships with ``case`` (empty: none)."""
    sub, found = actor.person_ref, []
    if actor.role is Role.PARENT:
        return ["parent"] if sub in case.parent_refs else []
    if actor.role is Role.YOUNG_PERSON:
        return ["child"] if sub == case.child_ref else []
    if getattr(case, "coordinator_ref", None) == sub:
        found.append("coordinator")
    if getattr(case, "case_manager_ref", None) == sub:
        found.append("case_manager")
    team: Mapping[str, Any] = getattr(case, "team_members", {}) or {}
    if getattr(case, "team_id", None) is not None and getattr(case, "conclusion", None) is None and sub in team:
        found.append("team_member")
    sharing: Mapping[str, tuple[str, str]] = getattr(case, "sharing_requests", {}) or {}
    if any(target == sub for _, target in sharing.values()):
        found.append("information_sharing_target")
    return found


def require_relationship(actor: Actor, case: Case) -> list[str]:
    found = relationships(actor, case)
    if not found:
        required: tuple[str, ...] = {Role.PARENT: ("parent",), Role.YOUNG_PERSON: ("child",)}.get(
            actor.role, STAFF_RELATIONSHIPS)
        raise RelationshipMissing(actor, case.id, required)
    return found


# ---- the read-access log ---------------------------------------------------------------------------------
TABLE = "api_read_log"


class ReadLog:
    """``api_read_log``: one row per read of a case's data; rows are only ever inserted."""

    def __init__(self, pool: ConnectionPool[psycopg.Connection[Any]], schema: str | None) -> None:
        self.pool = pool
        self.schema = schema
        self.table = sql.Identifier(schema, TABLE) if schema else sql.Identifier(TABLE)
        self.guard = (sql.Identifier(schema, f"{TABLE}_append_only") if schema
                      else sql.Identifier(f"{TABLE}_append_only"))

    def create_table(self) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('api_read_log_ddl'))")
            conn.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, read_at timestamptz NOT NULL DEFAULT now(),"
                " subject text NOT NULL, role text NOT NULL, org_ref text, case_id uuid NOT NULL,"
                " resource text NOT NULL, purpose text NOT NULL, correlation_id text)").format(self.table))
            conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (case_id, id)").format(
                sql.Identifier(f"{TABLE}_by_case"), self.table))
            conn.execute(sql.SQL(
                "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'api_read_log is append-only'; END $$").format(self.guard))
            conn.execute(sql.SQL("CREATE OR REPLACE TRIGGER api_read_log_no_change BEFORE UPDATE OR DELETE ON {}"
                                 " FOR EACH ROW EXECUTE FUNCTION {}()").format(self.table, self.guard))
            conn.execute(sql.SQL("CREATE OR REPLACE TRIGGER api_read_log_no_truncate BEFORE TRUNCATE ON {}"
                                 " FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(self.table, self.guard))

    def record(self, actor: Actor, case_id: UUID, resource: str, purpose: Purpose, correlation_id: str | None) -> None:
        with self.pool.connection() as conn:
            conn.execute(sql.SQL("INSERT INTO {} (subject, role, org_ref, case_id, resource, purpose, correlation_id)"
                                 " VALUES (%s, %s, %s, %s, %s, %s, %s)").format(self.table),
                         (actor.person_ref, actor.role.value, actor.org_ref, case_id, resource, purpose.value,
                          correlation_id))

    def entries(self, case_id: UUID | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql.SQL("SELECT id, read_at, subject, role, org_ref, case_id, resource, purpose, correlation_id"
                                " FROM {} WHERE (%(case)s::uuid IS NULL OR case_id = %(case)s) ORDER BY id"
                                " LIMIT %(limit)s").format(self.table), {"case": case_id, "limit": limit})
            return cur.fetchall()
