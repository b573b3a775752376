"""What every router of the HTTP API shares: the services (one per process, built in ``create_app``), the
caller (bearer token → :class:`Actor`), the problem responses each operation documents, and the parsing of the
request headers (``If-Match``, ``Occurred-At``, ``X-Correlation-Id``, ``Idempotency-Key``, ``X-Purpose``).

The header helpers are v1's, moved here unchanged so their grammar lives in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from contracts.bounds import occurred_at_header
from domain import access
from domain.access import AccessRule
from domain.errors import InvalidValue
from domain.values import Actor
from projections.audit.projection import AuditProjection
from projections.dashboard.projection import DashboardProjection
from projections.notifications.projection import NotificationsProjection
from services.api.idempotency import IdempotencyStore, connection_kwargs
from services.api.identity import TokenVerifier, Unauthenticated
from services.api.problems import PROBLEM_JSON, Problem
from services.api.settings import ApiSettings
from services.casework.application import Casework
from services.casework.export_log import ExportLog
from services.casework.read_log import ReadLog
from services.casework.reads import CaseReads
from services.casework.subject_access import SubjectAccess
from services.consumers.store import ReadModelStore
from services.vault import VaultAccess

CORRELATION_HEADER = "X-Correlation-Id"
_IF_MATCH = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')
OCCURRED_AT_HEADER = "Occurred-At"
OCCURRED_AT_DOC = ("When the fact happened, if not now: an RFC 3339 date-time with a time zone, e.g. "
                   "2025-03-04T10:15:00Z. Facts may be recorded after they happened, never in the future (TIME-3), "
                   "before the case's latest fact (TIME-1), before the child's birth (TIME-2) or before 1990 "
                   "(DATE-1): each is a 422 naming Occurred-At.")
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_STATUS_TEXT = {401: "No or invalid bearer token, or one lacking the claims its role needs",
                403: "The caller lacks the relationship to the case (or scope) this needs: the rule id and the "
                     "relationships are named",
                404: "No such case or institution (also: a case the caller may not see)",
                409: "Refused by a rule of the law, a concurrent change, or it already exists",
                413: "The request body is larger than the API accepts",
                422: "Malformed request: each field and the rule it breaks",
                429: "Too many requests from this caller; retry after the Retry-After seconds",
                503: "The read model has not been built yet (run its consumer or a rebuild); retry later"}


def expected_version(if_match: str | None, supported: bool) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    if not supported:
        raise InvalidValue("If-Match", "not supported by this command (it opens a case or changes the directory)")
    found = _IF_MATCH.match(if_match.strip())
    if found is None:
        raise InvalidValue("If-Match", 'must be the case version from the last ETag, e.g. "7"')
    return int(found.group(1))


def occurred_at(value: str | None) -> datetime | None:
    """The ``Occurred-At`` header: an RFC 3339 date-time with a time zone within DATE-1's bounds
    (``contracts.bounds``); TIME-1 to TIME-3 are judged against the case and the clock by the domain."""
    return occurred_at_header(value)


PURPOSE_RULE = (" It must be one the caller's relationship may state and that suits the read (ACCESS-PURPOSE, "
                "docs/access.md): casework, own_case (the family), supervision (the supervisor), complaint; oversight "
                "for dashboards only.")
"""The ``X-Purpose`` header's rule, the same in every read's OpenAPI description."""


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem, "description": _STATUS_TEXT[status],
                     "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}} for status in statuses}


def describe_access(rules: dict[str, AccessRule]) -> tuple[str, dict[str, Any]]:
    """An operation's access, generated from the access model: a sentence for its description and the
    ``x-prosperity-access`` extension (so the OpenAPI document cannot drift from the rules enforced)."""
    lines, extension = [], {}
    for where, rule in rules.items():
        relations = sorted(r.value for r in rule.may) or [
            "anyone, without signing in" if rule.public else "anyone signed in"]
        roles = sorted({role.value for r in rule.may for role in access.ROLES_OF[r]}) or ["any"]
        lines.append(f"{where}: roles {', '.join(roles)}, holding the relationship {' or '.join(relations)} "
                     f"({rule.rule_id})")
        extension[where] = {"rule_id": rule.rule_id, "roles": roles, "relationships": relations,
                            "basis": rule.basis}
    return "Who may call it (from the token, checked against the case): " + "; ".join(lines) + ".", extension


def read_access(kind: access.ReadKind) -> tuple[str, dict[str, Any]]:
    return describe_access({"any": access.MAY_READ[kind]})


class ReadModelNotBuilt(Exception):
    """The projection has no serving generation yet (503)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"The {name} read model has not been built yet; start its consumer or rebuild it.")


class ReadModels:
    """The dashboard, audit and notifications (the family's notices) read models, beside the event store (same
    database, base schema)."""

    def __init__(self, env: dict[str, str] | Any, pool: ConnectionPool[Any] | None = None) -> None:
        self.dsn = make_conninfo(**{k: v for k, v in connection_kwargs(env).items() if v})
        self.base_schema = env.get("POSTGRES_SCHEMA") or "public"
        self.pool = pool
        """The API's one pool (beside the event store's), shared by the three stores; None: a pool each."""
        self.stores: dict[str, ReadModelStore] = {}

    def open(self) -> None:
        self.stores = {name: ReadModelStore(self.dsn, projection, base_schema=self.base_schema, pool=self.pool)
                       for name, projection in (("dashboard", DashboardProjection()), ("audit", AuditProjection()),
                                                ("notifications", NotificationsProjection()))}

    def close(self) -> None:
        for store in self.stores.values():
            store.close()
        self.stores = {}

    @contextmanager
    def reading(self, name: str) -> Iterator[psycopg.Cursor[Any]]:
        store = self.stores[name]
        try:
            generation = store.serving()
        except (LookupError, psycopg.errors.UndefinedTable) as error:
            raise ReadModelNotBuilt(name) from error
        with store.reading(generation) as cursor:
            yield cursor


@dataclass
class Services:
    """One of each per API process (cosmicpython's bootstrap): built in ``create_app``, passed down by FastAPI."""

    app: Casework
    settings: ApiSettings
    verifier: TokenVerifier
    keys: IdempotencyStore
    read_log: ReadLog
    reads: CaseReads
    read_models: ReadModels
    vault: VaultAccess | None = None
    """The personal-data vault through the access model (``services.vault``)."""
    exports: ExportLog | None = None
    """The export log (``services.casework.export_log``): every exporter calls ``record_export`` with it."""
    subject_access: SubjectAccess | None = None
    """Subject access exports (GDPR Art. 15, ``services.casework.subject_access``)."""


async def services(request: Request) -> Services:
    """``async``: FastAPI runs a plain ``def`` dependency in its thread pool; this one does no I/O."""
    found: Services = request.app.state.services
    return found


bearer = HTTPBearer(auto_error=False, description="JWT: sub = person ref, role = domain role, org = org ref, "
                                                  "muni = municipality (leads, staff), jurisdiction (supervisors)")


async def caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
           svc: Services = Depends(services)) -> Actor:  # noqa: B008
    """The verified caller (401 before anything else is looked at). ``async``: verifying a signature is CPU work
    of microseconds, cheaper on the event loop than a hop to the thread pool (a JWKS key set is fetched once and
    cached by PyJWKClient; with a JWKS URL the check runs in the thread pool, as a fetch may block)."""
    if credentials is None:
        raise Unauthenticated("A bearer token is required (Authorization: Bearer <jwt>).")
    if svc.settings.jwks_url:  # the key set may have to be fetched (blocking I/O): off the event loop
        actor = await run_in_threadpool(svc.verifier.actor, credentials.credentials)
    else:
        actor = svc.verifier.actor(credentials.credentials)
    request.state.actor = actor
    return actor


def correlation(request: Request) -> str | None:
    found: str | None = getattr(request.state, "correlation_id", None)
    return found
