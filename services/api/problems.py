"""Errors as RFC 9457 problem details (``application/problem+json``): never a stack trace to the caller.

Every problem has ``type`` (a stable URN naming the kind), ``title``, ``status``, ``detail``; the extensions
say what to act on: the field and rule of a malformed value (422), the rule id, reason and remedy of a refused
command (409), the current version on a concurrent change (409), the access rule and the relationships that are
missing (403).
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.access import AccessDenied
from domain.access.purposes import acting_purpose
from domain.errors import DomainError, InvalidValue, RuleViolation
from services.api.idempotency import IdempotencyKeyReused
from services.api.identity import Unauthenticated
from services.casework.errors import AlreadyExists, CaseNotFound, ConcurrencyConflict, InstitutionNotFound
from services.casework.read_log import Outcome, ReadAttempt
from services.observability.metrics import REFUSALS

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:prosperity:problem:"
BODY_NOT_PARSED = "There was an error parsing the body"
MALFORMED_INPUT = "INPUT"
"""The refusals metric's rule label for a malformed value (its field and rule are in the answer, not a label)."""
CONCURRENT_CHANGE = "CONCURRENCY"
log = structlog.get_logger()


class Problem(BaseModel):
    """RFC 9457 problem details; extensions (errors, rule_id, remedy, current_version, ...) vary by type."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str


def problem(status: int, kind: str, title: str, detail: str, headers: dict[str, str] | None = None,
            **extensions: Any) -> JSONResponse:
    body = {"type": TYPE_PREFIX + kind, "title": title, "status": status, "detail": detail, **extensions}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple[int | str, ...]) -> str:
    """``("body", "members", 0, "person_ref")`` → ``members.0.person_ref``; the whole body (or where JSON broke) →
    ``body``; a path parameter or header by its own name."""
    if loc and loc[0] in ("path", "header", "query"):
        return ".".join(str(p) for p in loc[1:])
    rest = loc[1:] if loc and loc[0] == "body" else loc
    if not rest or all(isinstance(p, int) for p in rest):
        return "body"
    return ".".join(str(p) for p in rest)


def validation_problem(errors: list[dict[str, Any]]) -> JSONResponse:
    REFUSALS.labels(rule=MALFORMED_INPUT).inc()
    fields = [{"field": _field(tuple(e.get("loc", ()))), "rule": e.get("msg", "invalid")} for e in errors]
    return problem(422, "invalid-request", "The request is malformed",
                   "; ".join(f"{f['field']}: {f['rule']}" for f in fields), errors=fields)


def invalid_value_problem(field: str, rule: str) -> JSONResponse:
    REFUSALS.labels(rule=MALFORMED_INPUT).inc()
    return problem(422, "invalid-value", "A value is malformed", f"{field}: {rule}",
                   errors=[{"field": field, "rule": rule}])


def rule_violation_problem(error: RuleViolation) -> JSONResponse:
    REFUSALS.labels(rule=error.rule_id).inc()
    return problem(409, "rule-violation", "The command is refused by a rule", error.reason,
                   rule_id=error.rule_id, reason=error.reason, remedy=error.remedy)


def concurrency_problem(error: ConcurrencyConflict) -> JSONResponse:
    extensions: dict[str, Any] = {"case_id": str(error.case_id), "current_version": error.actual_version,
                                  "expected_version": error.expected_version}
    REFUSALS.labels(rule=error.cause.rule_id if error.cause is not None else CONCURRENT_CHANGE).inc()
    if error.cause is not None:
        extensions.update(rule_id=error.cause.rule_id, reason=error.cause.reason, remedy=error.cause.remedy)
    return problem(409, "concurrency-conflict", "The case changed concurrently", str(error),
                   headers={"ETag": f'"{error.actual_version}"'}, **extensions)


def install_problem_handlers(api: FastAPI) -> None:
    async def request_validation(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError | ValidationError)
        return validation_problem([dict(e) for e in error.errors()])

    async def domain(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DomainError)
        if isinstance(error, AlreadyExists) and error.jurisdiction is not None:
            await run_in_threadpool(_log_taken_case_key, request, error.jurisdiction)  # a database write
        return domain_problem(error)

    async def unauthenticated(_: Request, error: Exception) -> JSONResponse:
        return problem(401, "unauthenticated", "Authentication required", str(error),
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    async def key_reused(_: Request, error: Exception) -> JSONResponse:
        return problem(422, "idempotency-key-reused", "Idempotency-Key reused for a different request", str(error))

    async def http_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 400 and error.detail == BODY_NOT_PARSED:
            # FastAPI's answer to a body it cannot even decode (not UTF-8): malformed, like broken JSON.
            return invalid_value_problem("body", "must be a JSON document (UTF-8)")
        return problem(error.status_code, f"http-{error.status_code}", str(error.detail), str(error.detail),
                       headers=dict(error.headers or {}))

    api.add_exception_handler(RequestValidationError, request_validation)
    api.add_exception_handler(ValidationError, request_validation)
    api.add_exception_handler(DomainError, domain)
    api.add_exception_handler(Unauthenticated, unauthenticated)
    api.add_exception_handler(IdempotencyKeyReused, key_reused)
    api.add_exception_handler(StarletteHTTPException, http_error)


def _log_taken_case_key(request: Request, jurisdiction: str) -> None:
    """Who learnt that a child's episode is taken, in the read-access log: whether a child has a case is case data,
    and anyone who may open a case can ask it (docs/access.md, "What an opening tells")."""
    actor, services = getattr(request.state, "actor", None), getattr(request.app.state, "services", None)
    if actor is None or services is None:
        return
    services.read_log.record([ReadAttempt(actor, "case_opening", acting_purpose(actor), Outcome.REFUSED,
                                          "CASE-KEY: the child's episode already has a case", None, jurisdiction,
                                          getattr(request.state, "correlation_id", None))])


def domain_problem(error: DomainError) -> JSONResponse:
    """The problem for a refusal of the domain, the access model or the application (also the pages' refusals)."""
    if isinstance(error, AccessDenied):
        return access_denied_problem(error)
    if isinstance(error, InvalidValue):
        return invalid_value_problem(error.field, error.rule)
    if isinstance(error, RuleViolation):
        return rule_violation_problem(error)
    if isinstance(error, ConcurrencyConflict):
        return concurrency_problem(error)
    if isinstance(error, CaseNotFound):
        return case_not_found_problem(error)
    if isinstance(error, InstitutionNotFound):
        return problem(404, "institution-not-found", "No such institution", str(error), org_ref=error.org_ref)
    if isinstance(error, AlreadyExists):
        return problem(409, "already-exists", "It already exists", str(error))
    return problem(409, "refused", "The command is refused", str(error))


def access_denied_problem(error: AccessDenied) -> JSONResponse:
    REFUSALS.labels(rule=error.rule_id).inc()
    field = getattr(error, "field", None)  # ACCESS-SELF and ACCESS-PURPOSE name the field or header
    named: dict[str, Any] = {"field": field} if isinstance(field, str) else {}
    return problem(403, "relationship-missing", "You lack the relationship this needs", error.reason,
                   rule_id=error.rule_id, reason=error.reason, remedy=error.remedy, operation=error.what,
                   required_relationships=error.required, held_relationships=error.held, **named)


def case_not_found_problem(error: CaseNotFound) -> JSONResponse:
    """The same answer for a case that does not exist and for one the caller may not see (no existence oracle)."""
    return problem(404, "case-not-found", "No such case", str(error), case_id=str(error.case_id))


def internal_error_problem() -> JSONResponse:
    return problem(500, "internal-error", "Internal error",
                   "The request failed on our side; nothing is shown here. Quote the X-Correlation-Id when reporting.")
