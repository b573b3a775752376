"""``create_app``: the HTTP API over ``Casework``, one POST endpoint per command (``services.api.routes``).

A request goes: correlation id and request log (middleware) → bearer token → role allowed (403 before the
body is even read) → body validated against the command's published schema (422) → ``Casework`` (the domain
checks the law: 409 with the rule id) → ``CommandResponse`` {case_id, version, event_ids} with an ``ETag`` of
the case version. ``If-Match`` sets the expected version; ``Idempotency-Key`` makes retries safe.

``Occurred-At`` (optional, on every command): when the fact happened, an RFC 3339 date-time with a time zone
(``2025-03-04T10:15:00Z``). Facts may be recorded after they happened (a meeting entered the next day), never
before: a time more than a few minutes in the future (TIME-3), before the case's latest fact (TIME-1) or the
child's birth (TIME-2), before 1990, without a time zone or unparsable (DATE-1) is a 422 naming ``Occurred-At``.
Without it the fact is recorded at the server's clock.

``X-Correlation-Id`` and ``Idempotency-Key`` are a UUID or a short opaque token (PRIV-1, ``contracts.refs``):
anything else is a 422 naming the header.
"""

from __future__ import annotations

import inspect
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import structlog
from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, ConfigDict, Field, create_model

from contracts import refs
from contracts.bounds import occurred_at_header
from domain.errors import InvalidValue
from domain.values import Actor
from services.api.authorization import authorize
from services.api.idempotency import (
    MAX_KEY_LENGTH,
    IdempotencyStore,
    StoredResponse,
    connection_kwargs,
    fingerprint,
)
from services.api.identity import TokenVerifier, Unauthenticated
from services.api.problems import (
    PROBLEM_JSON,
    Problem,
    install_problem_handlers,
    internal_error_problem,
    invalid_value_problem,
    problem,
)
from services.api.queries import ReadModels, install_queries
from services.api.routes import ROUTES, CommandRoute
from services.api.settings import ApiSettings
from services.casework.application import Casework, CommandMeta, CommandResult

log = structlog.get_logger()
CORRELATION_HEADER = "X-Correlation-Id"
_IF_MATCH = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')
OCCURRED_AT_HEADER = "Occurred-At"
_OCCURRED_AT_DOC = ("When the fact happened, if not now: an RFC 3339 date-time with a time zone, e.g. "
                    "2025-03-04T10:15:00Z. Facts may be recorded after they happened, never in the future (422).")


class CommandResponse(BaseModel):
    """What a recorded command returns: the case (or institution), its new version, the facts recorded."""

    case_id: UUID
    version: int = Field(description="The aggregate's version after the command; send it as If-Match next time.")
    event_ids: list[str] = Field(description="`<aggregate id>:<version>` of each fact recorded.")


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text, "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}}
    for status, text in ((401, "No or invalid bearer token"), (403, "The caller's role may not issue this command"),
                         (404, "No such case or institution"),
                         (409, "Refused by a rule of the law, a concurrent change, or it already exists"),
                         (422, "Malformed request: each field and the rule it breaks"))
}


def _body_model(route: CommandRoute) -> type[BaseModel]:
    """The published request body: the command itself, less ``case_id`` when the path carries it."""
    if not route.on_case:
        return route.model
    fields: dict[str, Any] = {name: (info.annotation, info)
                              for name, info in route.model.model_fields.items() if name != "case_id"}
    model: type[BaseModel] = create_model(route.model.__name__, __config__=ConfigDict(extra="forbid", frozen=True),
                                          __doc__=route.model.__doc__, **fields)
    return model


def _expected_version(if_match: str | None, supported: bool) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    if not supported:
        raise InvalidValue("If-Match", "not supported by this command (it opens a case or changes the directory)")
    found = _IF_MATCH.match(if_match.strip())
    if found is None:
        raise InvalidValue("If-Match", 'must be the case version from the last ETag, e.g. "7"')
    return int(found.group(1))


def create_app(app: Casework, settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    verifier = TokenVerifier(settings)
    pool: ConnectionPool[Any] = ConnectionPool(kwargs=connection_kwargs(app.env), min_size=1, max_size=8,
                                               open=False, name="api", check=ConnectionPool.check_connection)
    keys = IdempotencyStore(pool, app.env.get("POSTGRES_SCHEMA"))
    read_models = ReadModels(app.env)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=True, timeout=30)
        keys.create_table()
        read_log.create_table()
        read_models.open()
        try:
            yield
        finally:
            read_models.close()
            pool.close()

    api = FastAPI(title="prosperity", version="v1", lifespan=lifespan,
                  description="Commands of Iceland's Act 86/2021 and Norway's barnekoordinator right. "
                              "Errors are RFC 9457 problem details.")
    install_problem_handlers(api)
    bearer = HTTPBearer(auto_error=False, description="JWT: sub = person ref, role = domain role, org = org ref")

    @api.middleware("http")
    async def correlate_and_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        given = request.headers.get(CORRELATION_HEADER)
        correlation_id = str(uuid.uuid4())
        if given is not None:
            try:
                correlation_id = refs.correlation_id(given)
            except InvalidValue as refused:
                log.info("api.request.refused", method=request.method, path=request.url.path, field=refused.field)
                refusal = invalid_value_problem(refused.field, refused.rule)
                refusal.headers[CORRELATION_HEADER] = correlation_id
                return refusal
        request.state.correlation_id = correlation_id
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
            try:
                response = await call_next(request)
            except Exception:
                log.exception("api.request.failed", method=request.method, path=request.url.path)
                response = internal_error_problem()
            response.headers[CORRELATION_HEADER] = correlation_id
            actor: Actor | None = getattr(request.state, "actor", None)
            log.info("api.request", method=request.method, path=request.url.path, status=response.status_code,
                     duration_ms=round((time.perf_counter() - started) * 1000, 1),
                     role=actor.role.value if actor else None)
        return response

    @api.get("/health", tags=["operations"], summary="Liveness: the process answers")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/ready", tags=["operations"], summary="Readiness: PostgreSQL answers",
             responses={503: {"model": Problem, "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}}})
    def ready() -> Response:
        try:
            keys.ping()
        except Exception as error:
            log.warning("api.not_ready", error=type(error).__name__)
            return problem(503, "not-ready", "Not ready", "PostgreSQL does not answer.")
        return JSONResponse({"status": "ready"})

    for route in ROUTES:
        api.add_api_route(route.path, _endpoint(app, route, verifier, bearer, keys), methods=["POST"],
                          response_model=CommandResponse, status_code=200 if route.on_case else 201,
                          summary=route.summary, tags=[route.tag], operation_id=route.method,
                          responses=_PROBLEMS)
    read_log = install_queries(api, app, verifier, bearer, pool, read_models)
    return api


def _endpoint(app: Casework, route: CommandRoute, verifier: TokenVerifier, bearer: HTTPBearer,
              keys: IdempotencyStore) -> Callable[..., Response]:
    body_model = _body_model(route)
    method: Callable[..., CommandResult] = getattr(app, route.method)
    takes_version = "expected_version" in inspect.signature(method).parameters
    status_code = 200 if route.on_case else 201

    def caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
               ) -> Actor:
        """Authenticate and authorize before the body is looked at: 401/403 come before 422."""
        if credentials is None:
            raise Unauthenticated("A bearer token is required (Authorization: Bearer <jwt>).")
        actor = verifier.actor(credentials.credentials)
        request.state.actor = actor
        authorize(actor, route.model)
        return actor

    def endpoint(request: Request, actor: Actor, body: BaseModel, case_id: UUID | None = None,
                 if_match: str | None = None, idempotency_key: str | None = None,
                 occurred_at: str | None = None) -> Response:
        fields = {name: getattr(body, name) for name in type(body).model_fields}
        if case_id is not None:
            fields["case_id"] = case_id
        command = route.model.model_validate(fields)
        expected = _expected_version(if_match, takes_version)
        when = occurred_at_header(occurred_at)
        if idempotency_key is not None:
            refs.idempotency_key(idempotency_key)
        meta = CommandMeta(actor, occurred_at=when, correlation_id=request.state.correlation_id)

        def run() -> StoredResponse:
            try:
                result = method(command, meta, expected_version=expected) if takes_version else method(command, meta)
            except InvalidValue as error:
                if error.field == "occurred_at":  # the application's name for what the caller sent as a header
                    raise InvalidValue(OCCURRED_AT_HEADER, error.rule) from None
                raise
            response = CommandResponse(case_id=result.case_id, version=result.version,
                                       event_ids=list(result.event_ids))
            log.info("api.command.recorded", command=route.model.__name__, case_id=str(result.case_id),
                     version=result.version)
            return StoredResponse(status_code, response.model_dump(mode="json"))

        if idempotency_key is None:
            stored, replayed = run(), False
        else:
            request_fingerprint = fingerprint(route.path, str(case_id), expected, body.model_dump(mode="json"),
                                              *((when.isoformat(),) if when is not None else ()))
            stored, replayed = keys.run_once(actor.person_ref, idempotency_key, request_fingerprint, run)
        headers = {"ETag": f'"{stored.body["version"]}"'}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)

    parameters = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=body_model),
    ]
    if route.on_case:
        parameters.append(inspect.Parameter("case_id", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=UUID))
    parameters += [
        inspect.Parameter("actor", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Actor,
                          default=Depends(caller)),
        inspect.Parameter("if_match", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str | None,
                          default=Header(None, alias="If-Match",
                                         description="The case version (ETag) the command was decided on.")),
        inspect.Parameter("idempotency_key", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str | None,
                          default=Header(None, alias="Idempotency-Key", min_length=1, max_length=MAX_KEY_LENGTH,
                                         description="Retrying with the same key returns the first result.")),
        inspect.Parameter("occurred_at", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str | None,
                          default=Header(None, alias=OCCURRED_AT_HEADER, description=_OCCURRED_AT_DOC)),
    ]
    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=Response)  # type: ignore[attr-defined]
    endpoint.__name__ = route.method
    endpoint.__doc__ = route.model.__doc__
    return endpoint
