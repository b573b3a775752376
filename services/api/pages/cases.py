"""The caseworker's pages and the case page: my caseload, a case, and the forms of the commands one may issue.

A case page reads through :meth:`CaseReads.case` (the access model; the attempt is in the read-access log, granted
or refused) and answers a case one may not see exactly as a missing one: the same 404 page. Forms are generated
from the command models (:mod:`services.api.pages.forms`) for the commands the access model lets this person issue
on this case; a submission goes through the JSON API's own command path (``run_command``: the same body model,
access check, law, ``If-Match`` with the version the page showed, ``Idempotency-Key`` per rendered form,
``Occurred-At``), and a refusal is the API's problem details, shown next to the form: the rule id, the reason and
the remedy.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError

from domain import access
from domain.access import AccessDenied, ReadKind
from domain.errors import DomainError
from domain.values import Actor, Role
from projections.dashboard import queries as dash_q
from services.api.deps import ReadModelNotBuilt
from services.api.pages import family
from services.api.pages.case_view import case_view
from services.api.pages.deps import PageServices, available, csrf_checked, render, signed_in
from services.api.pages.forms import MAX_ROWS, ROWS, Answer, body, model_inputs
from services.api.problems import domain_problem, validation_problem
from services.api.routers.commands import CommandHeaders, body_model, run_command
from services.api.routes import ROUTES, CommandRoute
from services.casework.errors import CaseNotFound
from services.casework.read_log import Purpose

router = APIRouter(include_in_schema=False)
BY_OPERATION = {route.method: route for route in ROUTES}
FAMILY = frozenset({Role.PARENT, Role.YOUNG_PERSON})


@cache
def _body(route: CommandRoute) -> type[BaseModel]:
    return body_model(route)


def purpose_of(actor: Actor) -> Purpose:
    return Purpose.OWN_CASE if actor.role in FAMILY else Purpose.CASEWORK


def not_found(request: Request) -> Response:
    """The one answer for a case that does not exist and for one the person may not see."""
    return render(request, "not_found.html", status_code=404, translated=True)


def problem_page(request: Request, problem: dict[str, Any]) -> Response:
    return render(request, "problem.html", {"problem": problem}, status_code=int(problem["status"]))


def refusal_page(request: Request, error: Exception) -> Response:
    """A read the access model refused (403 with the rule), a malformed value (422) or a read model not built."""
    if isinstance(error, ReadModelNotBuilt):
        return render(request, "problem.html", {"problem": {"status": 503, "title": "Not built yet",
                                                            "detail": str(error)}}, status_code=503)
    assert isinstance(error, DomainError)
    return problem_page(request, _problem(domain_problem(error)))


def _problem(response: Response) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(bytes(response.body))
    return found


@router.get("/caseload")
def caseload(request: Request, actor: Actor = Depends(signed_in),  # noqa: B008
             web: PageServices = Depends(available)) -> Response:  # noqa: B008
    """``GET /v1/me/caseload`` as a page: the same scope, query and one read-log row per case shown."""
    svc = web.api
    correlation = getattr(request.state, "correlation_id", None)
    try:
        svc.reads.scope(actor, ReadKind.CASELOAD, resource="caseload", purpose=Purpose.CASEWORK,
                        correlation_id=correlation)
        with svc.read_models.reading("dashboard") as cur:
            rows = dash_q.my_caseload(cur, person_ref=actor.person_ref, as_of=datetime.now(UTC).date())
    except (AccessDenied, ReadModelNotBuilt) as error:
        return refusal_page(request, error)
    svc.reads.rows_read(actor, ReadKind.CASELOAD, resource="caseload", purpose=Purpose.CASEWORK,
                        cases=[(UUID(row.case_id), row.jurisdiction) for row in rows], correlation_id=correlation)
    return render(request, "caseload.html", {"rows": rows})


def offered(actor: Actor, case: Any) -> list[CommandRoute]:
    """The commands of the case's law that this person's relationships to it allow (the access model's own
    table; whether the law allows one now is the domain's to say when it is submitted)."""
    held = access.relations_to_case(actor, case)
    table = access.MAY_ISSUE[case.jurisdiction]
    return [route for route in ROUTES if route.on_case and route.model.__name__ in table
            and table[route.model.__name__].allows(held)]


def _forms(routes: list[CommandRoute], rows: int) -> list[dict[str, Any]]:
    return [{"route": route, "inputs": model_inputs(_body(route), rows), "key": str(uuid.uuid4())} for route in routes]


def _case_page(request: Request, web: PageServices, actor: Actor, case_id: UUID, *, rows: int = ROWS,
               failed: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    svc = web.api
    try:
        case = svc.reads.case(actor, case_id, purpose=purpose_of(actor),
                              correlation_id=getattr(request.state, "correlation_id", None))
    except CaseNotFound:
        return not_found(request)
    view = case_view(case, list(svc.app.events.get(case_id)))
    if actor.role in FAMILY:
        return family.case_page(request, web, actor, case, view)
    context = {"view": view, "forms": _forms(offered(actor, case), rows), "failed": failed or {},
               "recorded": request.query_params.get("recorded"), "rows": rows}
    return render(request, "case.html", context, status_code=status_code)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: UUID, rows: int = Query(ROWS, ge=1, le=MAX_ROWS),
              actor: Actor = Depends(signed_in), web: PageServices = Depends(available)) -> Response:  # noqa: B008
    return _case_page(request, web, actor, case_id, rows=rows)


def _answer(form: Any) -> Answer:
    values: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            values.setdefault(key, []).append(value)
    return Answer(values)


def _submit(web: PageServices, route: CommandRoute, answer: Answer, case_id: UUID, actor: Actor,
            correlation: str | None) -> dict[str, Any] | None:
    """Run the command as the JSON API would; None when recorded, else the problem details it answered."""
    inputs = model_inputs(_body(route), MAX_ROWS)
    version = answer.first("expected_version")
    headers = CommandHeaders(if_match=f'"{version}"' if version else None,
                             idempotency_key=answer.first("idempotency_key") or None,
                             occurred_at=answer.first("occurred_at") or None)
    try:
        run_command(web.api, route, _body(route).model_validate(body(inputs, answer)), case_id, actor, headers,
                    correlation)
    except ValidationError as invalid:
        return _problem(validation_problem([dict(e) for e in invalid.errors()]))
    except DomainError as refused:
        return _problem(domain_problem(refused))
    return None


@router.post("/cases/{case_id}/commands/{operation}", dependencies=[Depends(csrf_checked)])
async def submit(request: Request, case_id: UUID, operation: str, actor: Actor = Depends(signed_in),  # noqa: B008
                 web: PageServices = Depends(available)) -> Response:  # noqa: B008
    route = BY_OPERATION.get(operation)
    if route is None or not route.on_case:
        return not_found(request)
    answer = _answer(await request.form())
    problem = _submit(web, route, answer, case_id, actor, getattr(request.state, "correlation_id", None))
    if problem is not None and problem.get("type", "").endswith(":case-not-found"):
        return not_found(request)
    htmx = request.headers.get("HX-Request") == "true"
    if problem is None:
        target = f"/cases/{case_id}?recorded={operation}"
        if htmx:
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    failed = {"operation": operation, "problem": problem, "values": answer.values,
              "errors": {e["field"]: e["rule"] for e in problem.get("errors", [])}}
    if htmx:
        form = {"route": route, "inputs": model_inputs(_body(route), ROWS), "key": str(uuid.uuid4())}
        version = problem.get("current_version") or answer.first("expected_version")
        return render(request, "_command.html", {"form": form, "failed": failed, "version": version,
                                                 "case_id": case_id, "open": True},
                      status_code=int(problem["status"]))
    return _case_page(request, web, actor, case_id, failed=failed, status_code=int(problem["status"]))
