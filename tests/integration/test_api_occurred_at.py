"""The ``Occurred-At`` header over real PostgreSQL: a fact recorded after it happened carries the time it happened;
a time in the future, without a time zone or unparsable is a 422 problem naming ``Occurred-At``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette's TestClient still runs on httpx; the deprecation is not ours
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from contracts import commands as c
from services.api.app import create_app
from services.casework.application import Casework
from services.infra.postgres_env import PgTarget
from tests.integration.test_api_commands import COORD, HEALTH, MUM, SETTINGS, START, Api, Clock, open_iceland_case


@pytest.fixture
def api(pg_schema: PgTarget) -> Iterator[Api]:
    clock = Clock()
    app = Casework(pg_schema.eventsourcing_env(), clock=clock)
    try:
        with TestClient(create_app(app, SETTINGS)) as client:
            yield Api(client, app, clock)
    finally:
        app.close()


def _occurred_at(api: Api, case_id: Any, position: int) -> Any:
    """When the stored fact at ``position`` (0 first, -1 last) of the case happened, as recorded."""
    facts: list[Any] = list(api.app.events.get(case_id))
    return facts[position].ctx.occurred_at


def _sign(api: Api, occurred_at: str) -> tuple[Any, Any]:
    case_id = open_iceland_case(api)
    command = c.SignInformationSharingRequest(
        case_id=case_id, request_id="share-1", signatory_refs=(MUM,), source_provider_org_refs=(HEALTH,),
        target_refs=(COORD.person_ref,), form_doc_ref="doc:share-form-1")
    return case_id, api.post(command, COORD, day=3, headers={"Occurred-At": occurred_at})


def test_a_backdated_fact_is_stored_with_the_time_it_happened(api: Api) -> None:
    happened = START + timedelta(days=2, hours=5)  # entered the next day (the request is on day 3)
    case_id, response = _sign(api, happened.isoformat().replace("+00:00", "Z"))
    assert response.status_code == 200, response.text
    assert _occurred_at(api, case_id, -1) == happened
    assert _occurred_at(api, case_id, 0) == START  # no header: the server's clock


def test_an_offset_other_than_utc_is_kept_as_the_same_instant(api: Api) -> None:
    happened = START + timedelta(days=1)
    case_id, response = _sign(api, happened.astimezone().isoformat())
    assert response.status_code == 200, response.text
    assert _occurred_at(api, case_id, -1) == happened


@pytest.mark.parametrize(("value", "rule"), [
    ((START + timedelta(days=30)).isoformat(), "future"),
    ("2024-01-09T10:00:00", "timezone"),
    ("yesterday", "RFC 3339"),
    ("2024-13-40T10:00:00Z", "RFC 3339"),
    ("2024-01-09", "RFC 3339"),
])
def test_a_future_naive_or_unparsable_time_is_422_naming_the_header(api: Api, value: str, rule: str) -> None:
    case_id, response = _sign(api, value)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert [e["field"] for e in body["errors"]] == ["Occurred-At"]
    assert rule in body["errors"][0]["rule"]
    assert len(list(api.app.events.get(case_id))) == 1  # nothing but the opening fact was stored


def test_openapi_documents_the_header_on_every_command(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        if "post" not in operations:
            continue
        headers = {p["name"]: p for p in operations["post"].get("parameters", []) if p["in"] == "header"}
        assert "Occurred-At" in headers, path
        assert "RFC 3339" in headers["Occurred-At"]["description"]
