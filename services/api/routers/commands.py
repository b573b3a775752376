"""One POST per command (``services.api.routes``): body → command → ``Casework`` → ``CommandResponse``.

A request goes: correlation id and edge limits (middleware) → bearer token (401) → body validated against the
command's published schema (422) → ``Casework``, where the access model checks the caller's relationship to the
case (403, or 404 for a case the caller may not see) and the domain checks the law (409 with the rule id) →
``CommandResponse`` {case_id, version, event_ids} with an ``ETag`` of the case version. ``If-Match`` sets the
expected version; ``Idempotency-Key`` makes retries safe; ``Occurred-At`` dates a fact recorded late.

This module does not use ``from __future__ import annotations``: each endpoint's body type is a class made at
start-up, and FastAPI reads the annotations as objects.
"""

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from contracts import refs
from domain import access
from domain.errors import InvalidValue
from domain.values import Actor
from services.api.deps import (
    OCCURRED_AT_DOC,
    OCCURRED_AT_HEADER,
    Services,
    caller,
    correlation,
    describe_access,
    expected_version,
    occurred_at,
    responses,
    services,
)
from services.api.idempotency import MAX_KEY_LENGTH, StoredResponse, fingerprint
from services.api.routes import ROUTES, CommandRoute
from services.casework.application import Casework, CommandMeta, CommandResult


class CommandResponse(BaseModel):
    """What a recorded command returns: the case (or institution), its new version, the facts recorded."""

    case_id: UUID
    version: int = Field(description="The aggregate's version after the command; send it as If-Match next time.")
    event_ids: list[str] = Field(description="`<aggregate id>:<version>` of each fact recorded.")


@dataclass(frozen=True)
class CommandHeaders:
    if_match: str | None
    idempotency_key: str | None
    occurred_at: str | None


async def command_headers(
    if_match: str | None = Header(None, alias="If-Match",
                                  description="The case version (ETag) the command was decided on."),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", min_length=1,
                                         max_length=MAX_KEY_LENGTH,
                                         description="Retrying with the same key returns the first result."),
    occurred: str | None = Header(None, alias=OCCURRED_AT_HEADER, description=OCCURRED_AT_DOC),
) -> CommandHeaders:
    return CommandHeaders(if_match, idempotency_key, occurred)


def body_model(route: CommandRoute) -> type[BaseModel]:
    """The published request body: the command itself, less ``case_id`` when the path carries it."""
    if not route.on_case:
        return route.model
    fields: dict[str, Any] = {name: (info.annotation, info)
                              for name, info in route.model.model_fields.items() if name != "case_id"}
    model: type[BaseModel] = create_model(route.model.__name__, __config__=ConfigDict(extra="forbid", frozen=True),
                                          __doc__=route.model.__doc__, **fields)
    return model


@functools.cache
def _takes_version(method_name: str) -> bool:
    return "expected_version" in inspect.signature(getattr(Casework, method_name)).parameters


def run_command(svc: Services, route: CommandRoute, body: BaseModel, case_id: UUID | None, actor: Actor,
                headers: CommandHeaders, correlation_id: str | None,
                logged: dict[str, Any] | None = None) -> Response:
    """Run one command; ``logged`` (the request's log line, ``services.api.request_log``) learns what it recorded."""
    method: Callable[..., CommandResult] = getattr(svc.app, route.method)
    takes_version = _takes_version(route.method)
    fields = {name: getattr(body, name) for name in type(body).model_fields}
    if case_id is not None:
        fields["case_id"] = case_id
    command = route.model.model_validate(fields)
    expected = expected_version(headers.if_match, takes_version)
    when = occurred_at(headers.occurred_at)
    if headers.idempotency_key is not None:
        refs.idempotency_key(headers.idempotency_key)  # PRIV-1: a UUID or a short opaque token, never an ID number
    meta = CommandMeta(actor, occurred_at=when, correlation_id=correlation_id or "")
    status_code = 200 if route.on_case else 201

    def run() -> StoredResponse:
        try:
            result = method(command, meta, expected_version=expected) if takes_version else method(command, meta)
        except InvalidValue as error:
            if error.field == "occurred_at":  # the application's name for what the caller sent as a header
                raise InvalidValue(OCCURRED_AT_HEADER, error.rule) from None
            raise
        if logged is not None:
            logged.update(command=route.model.__name__, case_id=str(result.case_id), version=result.version)
        return StoredResponse(status_code, {"case_id": str(result.case_id), "version": result.version,
                                            "event_ids": list(result.event_ids)})

    if headers.idempotency_key is None:
        stored, replayed = run(), False
    else:
        request_fingerprint = fingerprint(route.path, str(case_id), expected, body.model_dump(mode="json"),
                                          *((when.isoformat(),) if when is not None else ()))
        stored, replayed = svc.keys.run_once(actor.person_ref, headers.idempotency_key, request_fingerprint, run)
    response_headers = {"ETag": f'"{stored.body["version"]}"'}
    if replayed:
        response_headers["Idempotent-Replayed"] = "true"
    return JSONResponse(stored.body, status_code=stored.status_code, headers=response_headers)


def _log_line(request: Request) -> dict[str, Any]:
    """What the request's log line (``services.api.request_log``) adds about the command."""
    logged: dict[str, Any] = {}
    request.state.logged = logged
    return logged


def _endpoint(route: CommandRoute) -> Callable[..., Response]:
    body_type = body_model(route)

    if route.on_case:
        def on_case(request: Request, case_id: UUID, body: body_type = Body(),  # type: ignore[valid-type] # noqa: B008
                    actor: Actor = Depends(caller), headers: CommandHeaders = Depends(command_headers),  # noqa: B008
                    svc: Services = Depends(services)) -> Response:  # noqa: B008
            return run_command(svc, route, body, case_id, actor, headers, correlation(request), _log_line(request))
        endpoint: Callable[..., Response] = on_case
    else:
        def opening(request: Request, body: body_type = Body(),  # type: ignore[valid-type] # noqa: B008
                    actor: Actor = Depends(caller), headers: CommandHeaders = Depends(command_headers),  # noqa: B008
                    svc: Services = Depends(services)) -> Response:  # noqa: B008
            return run_command(svc, route, body, None, actor, headers, correlation(request), _log_line(request))
        endpoint = opening
    endpoint.__name__ = route.method
    endpoint.__doc__ = route.model.__doc__
    return endpoint


def router() -> APIRouter:
    commands = APIRouter()
    for route in ROUTES:
        name = route.model.__name__
        who, extension = describe_access(access.rules_for_command(name))
        description = f"{route.model.__doc__ or ''}\n\n{who}".strip()
        commands.add_api_route(route.path, _endpoint(route), methods=["POST"], response_model=CommandResponse,
                               status_code=200 if route.on_case else 201, summary=route.summary, tags=[route.tag],
                               operation_id=route.method, description=description,
                               openapi_extra={"x-prosperity-access": extension},
                               responses=responses(401, 403, 404, 409, 413, 422, 429))
    return commands
