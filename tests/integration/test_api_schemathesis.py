"""Property-based tests of the whole HTTP API against its own OpenAPI document (schemathesis), over real PostgreSQL.

Every operation of ``/openapi.json`` gets generated requests (path, query, headers, bodies) with a valid bearer
token of a role its published access rule names (``x-prosperity-access``), carrying every claim (so bodies reach
validation, the access model, the domain and the read models).
Each response must be documented: its status code, its content type and its body's schema; no 5xx, except a
503 "read model not built" where the operation documents it. The read models are built over a seeded case, so
dashboards and audit answers are checked with rows in them.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any, cast
from uuid import UUID

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from domain import access
from domain.access import Relation
from domain.values import Actor, Jurisdiction, Role
from services.api.app import create_app
from services.casework.application import Casework
from services.infra.postgres_env import PgTarget
from tests.integration.test_api_commands import (
    COORD,
    ICELAND_TO_TEAM,
    SETTINGS,
    Api,
    Clock,
    auth,
    open_iceland_case,
    run_steps,
)
from tests.integration.test_api_queries import SUPERVISOR, build_read_models

EXAMPLES_PER_OPERATION = 40
NEGATIVE_EXAMPLES_PER_OPERATION = 10
"""Malformed requests (wrong types, missing fields, bad headers): they must be refused as documented, never 5xx."""
MINIMUM_TOTAL = 2_000
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
def caller_for(operation: dict[str, Any]) -> Actor:
    """A caller in a role of the first relationship the operation's access rule names (stable order), with every
    claim (organisation, Reykjavík, Iceland), so requests get past identity to the access model and beyond."""
    relations = sorted(r for rule in operation.get("x-prosperity-access", {}).values() for r in rule["relationships"]
                       if r in set(Relation))
    role = sorted(access.ROLES_OF[Relation(relations[0])])[0] if relations else Role.PARENT
    return Actor(f"person:{role.value}-fuzz", role, "org:fuzz-1", "muni:reykjavik", Jurisdiction.ICELAND)


@pytest.fixture
def api(pg_schema: PgTarget) -> Iterator[Api]:
    clock = Clock()
    app = Casework(pg_schema.eventsourcing_env(), clock=clock)
    try:
        unlimited = SETTINGS.model_copy(update={"rate_limit": "1000000/minute"})  # thousands of requests a minute
        with TestClient(create_app(app, unlimited), raise_server_exceptions=False) as client:
            yield Api(client, app, clock)
    finally:
        app.close()


def exercise(api: Api, operation: Any, document: dict[str, Any], sent: dict[str, int],
             statuses: dict[int, int], mode: GenerationMode, examples: int, *, case_id: UUID | None = None,
             actor: Actor | None = None) -> None:
    """``examples`` generated requests to one operation (on the seeded case, if given), each response checked."""
    method, path = operation.method.upper(), operation.path
    published = document["paths"][path][operation.method.lower()]
    documented = set(published["responses"])
    strategy = operation.as_strategy(mode, headers=auth(actor or caller_for(published)),
                                     path_parameters=None if case_id is None else {"case_id": str(case_id)})

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def one(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        body: dict[str, Any] = {}
        if "json" in kwargs:
            body["json"] = kwargs["json"]
        elif kwargs.get("data") is not None:
            body["content"] = kwargs["data"]
        response = api.client.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                                      headers=kwargs.get("headers"), **body)
        sent[f"{method} {path}"] = sent.get(f"{method} {path}", 0) + 1
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500 or (response.status_code == 503 and "503" in documented), (
            method, path, response.status_code, response.text)
        case.validate_response(response, checks=CHECKS)

    try:
        one()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE  # nothing to break in an operation without parameters


def test_every_operation_conforms_to_the_published_schema(api: Api, pg_schema: PgTarget) -> None:
    case_id = open_iceland_case(api)
    run_steps(api, case_id, ICELAND_TO_TEAM, 1)
    build_read_models(api, pg_schema)
    document = api.client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [cast(Ok[Any], result).ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60
    sent: dict[str, int] = {}
    statuses: dict[int, int] = {}
    started = time.monotonic()

    for operation in operations:
        exercise(api, operation, document, sent, statuses, GenerationMode.POSITIVE, EXAMPLES_PER_OPERATION)
        exercise(api, operation, document, sent, statuses, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES_PER_OPERATION)
        if operation.method.upper() == "GET" and "{case_id}" in operation.path:
            # The seeded case, read by someone related to it (or a supervisor): full answers, checked too.
            reader = COORD if operation.path == "/v1/cases/{case_id}" else SUPERVISOR
            exercise(api, operation, document, sent, statuses, GenerationMode.POSITIVE, EXAMPLES_PER_OPERATION,
                     case_id=case_id, actor=reader)

    total = sum(sent.values())
    elapsed = time.monotonic() - started
    print(f"schemathesis: {total} requests over {len(sent)} operations in {elapsed:.1f}s; statuses {statuses}")
    assert len(sent) == len(operations)
    assert total >= MINIMUM_TOTAL, sent
    assert statuses.get(200, 0) > 0 and statuses.get(422, 0) > 0
