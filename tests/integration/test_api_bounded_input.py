"""Every input the careless or hostile client of issue 11 sent, refused through the HTTP API with the field and the
rule, and nothing stored (real PostgreSQL).

Dates: a fact dated in year 1 (DATE-1), or before the case's latest fact (TIME-1: a service 400 days before the
case opened, an adult transition plan dated the child's birth); body dates that are not dates (a number, a
date-time), out of bounds (``0001-01-01``), or planned before the fact that plans them (DATE-2: review dates before
the plan's adoption, refused rather than dropped); birth dates in the future or a century back (DATE-3).
PRIV-1: a kennitala or fødselsnummer in every identifier and code field of every command, in the correlation id
and the idempotency key; name-shaped and ID-carrying references.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Annotated, Any, Union, get_args, get_origin
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql
from pydantic import BaseModel

with warnings.catch_warnings():  # starlette's TestClient still runs on httpx; the deprecation is not ours
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from contracts import commands as c
from contracts import refs
from domain.values import SupportPlanContent
from services.api.app import create_app
from services.api.idempotency import TABLE
from services.api.routes import ROUTES
from services.casework.application import Casework
from services.infra.postgres_env import PgTarget
from tests.integration.test_api_commands import (
    CHILD,
    CM,
    COORD,
    ICELAND_REST,
    ICELAND_TO_TEAM,
    LEAD,
    MUM,
    PLAN,
    SCHOOL,
    SETTINGS,
    START,
    Api,
    Clock,
    auth,
    open_iceland_case,
    run_steps,
)

NATIONAL_IDS = ["010203-1234", "0102031234", "01020312345"]
"""A kennitala with and without its hyphen, a fødselsnummer."""


@pytest.fixture
def api(pg_schema: PgTarget) -> Iterator[Api]:
    clock = Clock()
    app = Casework(pg_schema.eventsourcing_env(), clock=clock)
    try:
        with TestClient(create_app(app, SETTINGS)) as client:
            yield Api(client, app, clock)
    finally:
        app.close()


def refused(response: Any, field: str, rule: str) -> dict[str, Any]:
    """A 422 problem whose errors name ``field`` with a rule containing ``rule``."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = {e["field"]: e["rule"] for e in response.json()["errors"]}
    assert field in errors and rule in errors[field], errors
    return errors


@pytest.fixture
def team_case(api: Api) -> Iterator[UUID]:
    """An Icelandic case with its support team (the request for integration is active)."""
    case_id = open_iceland_case(api)
    run_steps(api, case_id, ICELAND_TO_TEAM, 1)
    yield case_id


def post_raw(api: Api, path: str, body: dict[str, Any], headers: dict[str, str], day: int) -> Any:
    api.clock.now = START + timedelta(days=day)
    return api.client.post(path, json=body, headers=headers)


def case_path(model: type[c.Command], case_id: UUID) -> str:
    return next(route.path for route in ROUTES if route.model is model).replace("{case_id}", str(case_id))


# ---- the case's clock ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("occurred_at", "rule"), [
    ("0001-01-01T00:00:00Z", "DATE-1"),                                      # overflowed v1's projections
    ((START - timedelta(days=400)).isoformat(), "TIME-1"),                    # before the case was opened
    ("2008-09-15T12:00:00Z", "TIME-1"),                                        # the child's date of birth
])
def test_a_fact_dated_outside_the_cases_history_is_refused(api: Api, team_case: UUID, occurred_at: str,
                                                           rule: str) -> None:
    stored = api.stored_events()
    for command, actor in ((c.RecordChildViews(case_id=team_case, method="conversation", summary_doc_ref="doc:v-1"),
                            CM),
                           (c.RecordService(case_id=team_case, service_id="svc-9", provider_org_ref=SCHOOL,
                                            service_level=1, service_type_code="study_support",
                                            start_date=date(2024, 1, 22)), COORD),
                           (c.AdoptAdultTransitionPlan(case_id=team_case, plan_id="transition-1",
                                                       adult_service_handovers=(), young_person_participated=True),
                            CM)):
        refused(api.post(command, actor, 40, headers={"Occurred-At": occurred_at}), "Occurred-At", rule)
    assert api.stored_events() == stored


def test_a_late_entry_back_to_the_latest_fact_is_still_accepted(api: Api, team_case: UUID) -> None:
    last: Any = list(api.app.events.get(team_case))[-1]
    latest = last.ctx.occurred_at
    response = api.post(c.RecordChildViews(case_id=team_case, method="conversation", summary_doc_ref="doc:v-1"),
                        CM, 40, headers={"Occurred-At": latest.isoformat()})
    assert response.status_code == 200, response.text


# ---- body dates ---------------------------------------------------------------------------------------------
@pytest.fixture
def planned_case(api: Api, team_case: UUID) -> UUID:
    """The case with its support plan adopted (day 50)."""
    run_steps(api, team_case, ICELAND_REST[:5], api.app.get_case(team_case).version)
    return team_case


@pytest.mark.parametrize(("next_review_date", "rule"), [
    ("0001-01-01", "DATE-1"), (0, "DATE-1"), ("2025-03-01T00:00:00Z", "DATE-1"), ("2025-02-30", "DATE-1"),
    ("2024-01-01", "DATE-2"), ("2031-01-01", "DATE-2"),
])
def test_a_next_review_date_that_is_no_date_or_out_of_bounds_is_refused(api: Api, planned_case: UUID,
                                                                        next_review_date: Any, rule: str) -> None:
    stored = api.stored_events()
    body = {"plan_id": "plan-1", "version": 1, "outcome": "continue", "progress_doc_ref": "doc:progress-1",
            "next_review_date": next_review_date}
    refused(post_raw(api, case_path(c.EvaluateSupportPlan, planned_case), body, auth(CM), 240),
            "next_review_date", rule)
    assert api.stored_events() == stored


def test_review_dates_before_the_plans_adoption_are_refused_not_dropped(api: Api, team_case: UUID) -> None:
    run_steps(api, team_case, ICELAND_REST[:4], api.app.get_case(team_case).version)
    stored = api.stored_events()
    early = SupportPlanContent(**{**PLAN.__dict__, "review_dates": (date(2024, 9, 1), date(2024, 2, 1))})
    response = api.post(c.AdoptSupportPlan(case_id=team_case, plan_id="plan-1", content=early), CM, 50)
    refused(response, "content.review_dates.1", "DATE-2")
    assert api.stored_events() == stored


@pytest.mark.parametrize(("birth_date", "rule"), [
    ("2030-01-01", "DATE-3"), ("1995-01-01", "DATE-3"), ("1890-01-01", "DATE-1"), (20080915, "DATE-1"),
])
def test_a_birth_date_in_the_future_or_out_of_reach_is_refused(api: Api, birth_date: Any, rule: str) -> None:
    open_iceland_case(api)
    stored = api.stored_events()
    body = {"child_ref": "person:child-x", "parent_refs": [MUM], "birth_date": birth_date,
            "municipality_ref": "muni:reykjavik", "coordinator_ref": COORD.person_ref,
            "coordinator_org_ref": SCHOOL, "life_stage": "secondary", "conflict_of_interest_declared_none": True}
    refused(post_raw(api, "/v1/cases/iceland/contacts", body, auth(COORD), 1), "birth_date", rule)
    assert api.stored_events() == stored


# ---- PRIV-1 -------------------------------------------------------------------------------------------------
def _checked_by(annotation: Any, check: object) -> bool:
    return get_origin(annotation) is Annotated and check in annotation.__metadata__


_OPAQUE = tuple(refs.Identifier.__metadata__) + tuple(refs.Code.__metadata__)  # type: ignore[attr-defined]


def opaque_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every identifier and code field of a command, as (its field name in a problem, a body that puts a value in
    it): top-level, in lists, and inside the records a command carries."""
    for name, info in model.model_fields.items():
        annotation = info.annotation if not info.metadata else Annotated[(info.annotation, *info.metadata)]
        yield from _opaque(annotation, f"{prefix}{name}", lambda value, name=name: {name: value})


def _opaque(annotation: Any, path: str, body: Any) -> Iterator[tuple[str, Any]]:
    origin = get_origin(annotation)
    if origin is Annotated and any(item in _OPAQUE for item in annotation.__metadata__):
        yield path, body
    elif origin is Annotated:
        yield from _opaque(get_args(annotation)[0], path, body)
    elif origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _opaque(arg, path, body)
    elif origin is tuple:
        yield from _opaque(get_args(annotation)[0], f"{path}.0", lambda value: body([value]))
    elif origin is dict:
        yield from _opaque(get_args(annotation)[1], f"{path}.any", lambda value: body({"any": value}))
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for inner_path, inner in opaque_fields(annotation):
            yield from [(f"{path}.{inner_path}", lambda value, inner=inner: body(inner(value)))]


OPAQUE_FIELDS = sorted({(route.path, field, route.model) for route in ROUTES
                        for field, _ in opaque_fields(route.model) if field != "case_id"}, key=lambda f: f[:2])


def test_every_command_has_its_identifier_and_code_fields_checked() -> None:
    fields = {field for _, field, _ in OPAQUE_FIELDS}
    assert {"service_id", "complaint_id", "request_id", "decision_id", "plan_id", "external_ref", "closure_reason",
            "decision_codes.0", "content.evaluation_method", "adult_service_handovers.0.contact_role"} <= fields


@pytest.mark.parametrize(("path", "field"), [(path, field) for path, field, _ in OPAQUE_FIELDS])
def test_a_national_id_in_any_identifier_or_code_field_is_refused(api: Api, path: str, field: str) -> None:
    model = next(route.model for route in ROUTES if route.path == path)
    body_of = dict(opaque_fields(model))[field]
    target = path.replace("{case_id}", str(uuid4()))
    caller = auth(COORD)  # any verified caller: the body is refused before the access model is asked
    for national_id in NATIONAL_IDS:
        refused(post_raw(api, target, body_of(national_id), caller, 0), field, "PRIV-1")
    assert api.stored_events() == 0


@pytest.mark.parametrize("ref", ["person:jon.jonsson", "person:kt-010203-1234", "person:ola.nordmann-01020312345",
                                 "person:Jon", "person:-x", "person:x--y", "person:jon@example.is"])
def test_a_name_or_national_id_shaped_reference_is_refused(api: Api, team_case: UUID, ref: str) -> None:
    stored = api.stored_events()
    body = {"person_ref": ref, "org_ref": "org:sportsclub-1", "necessity_justification_ref": "doc:why-1"}
    refused(post_raw(api, case_path(c.InviteGeneralServiceProvider, team_case), body, auth(CM), 36),
            "person_ref", "PRIV-1")
    body = {"method": "conversation", "summary_doc_ref": "doc:.."}
    refused(post_raw(api, case_path(c.RecordChildViews, team_case), body, auth(CM), 36), "summary_doc_ref", "PRIV-1")
    assert api.stored_events() == stored


def test_a_national_id_as_correlation_id_or_idempotency_key_is_refused_and_nothing_stored(
        api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    stored = api.stored_events()
    command = c.RecordChildViews(case_id=team_case, method="conversation", summary_doc_ref="doc:v-1")
    for national_id in NATIONAL_IDS:
        refused(api.post(command, CM, 40, headers={"X-Correlation-Id": national_id}), "X-Correlation-Id", "PRIV-1")
        response = api.post(command, CM, 40, headers={"Idempotency-Key": national_id})
        refused(response, "Idempotency-Key", "PRIV-1")
        assert national_id not in response.headers["X-Correlation-Id"]
    assert api.stored_events() == stored
    with psycopg.connect(pg_schema.dsn) as conn:
        keys = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(pg_schema.schema, TABLE)))
        assert keys.fetchone() == (0,)
    accepted = api.post(command, CM, 40, headers={"X-Correlation-Id": str(uuid4()), "Idempotency-Key": "retry-1"})
    assert accepted.status_code == 200, accepted.text
    last: Any = list(api.app.events.get(team_case))[-1]
    assert last.ctx.correlation_id == accepted.headers["X-Correlation-Id"]


def test_strings_numbers_and_booleans_are_not_coerced(api: Api, team_case: UUID) -> None:
    stored = api.stored_events()
    body: dict[str, Any] = {"service_id": "svc-9", "provider_org_ref": SCHOOL, "service_level": "3",
            "service_type_code": "study_support", "start_date": "2024-01-22"}
    refused(post_raw(api, case_path(c.RecordService, team_case), body, auth(COORD), 40), "service_level", "integer")
    body = {"request_id": "request-2", "requested_by_refs": [MUM, CHILD],
                            "requester_roles": ["parent"], "written": "yes", "form_doc_ref": "doc:request-form-2"}
    refused(post_raw(api, case_path(c.RecordIntegrationRequest, team_case), body, auth(COORD), 40), "written",
            "boolean")
    assert api.stored_events() == stored


# ---- dates in read queries ---------------------------------------------------------------------------------
def _date_queries(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every (path, query parameter, format) of a GET whose parameter is a date or a date-time."""
    found = []
    for path, item in spec["paths"].items():
        for parameter in item.get("get", {}).get("parameters", []):
            schemas = parameter["schema"].get("anyOf", [parameter["schema"]])
            formats = {s.get("format") for s in schemas} & {"date", "date-time"}
            if parameter["in"] == "query" and formats:
                found.append((path, parameter["name"], formats.pop()))
    return found


@pytest.mark.parametrize(("bad", "what"), [("86400", "a number"), ("1989-12-31", "before DATE-1"),
                                           ("0001-01-01", "year 1"), ("2100-01-01", "after DATE-1"),
                                           ("2024-02-30", "no such day"), ("2024-01-01T00:00:00", "a date-time")])
def test_every_date_in_a_read_query_is_bounded_as_in_commands(api: Api, team_case: UUID, bad: str,
                                                              what: str) -> None:
    """A read's dates follow DATE-1 as a command's do (they were 1900-2199 and took a number as seconds since
    1970): a 422 naming the parameter and DATE-1, whoever asks, before anything is read."""
    spec = api.client.get("/openapi.json").json()
    queries = _date_queries(spec)
    assert len(queries) >= 15, queries  # as_of on each dashboard, periods, the digests' days, the as-of instant
    for path, name, form in queries:
        value = bad if form == "date" else {"a number": "86400", "a date-time": "2024-01-01T00:00:00"}.get(
            what, f"{bad}T00:00:00Z")  # an instant: the same days as instants, a number, and no zone
        url = path.replace("{case_id}", str(team_case))
        params = {"at": "2024-02-01T00:00:00Z", name: value}  # the as-of read needs its instant
        answer = api.client.get(url, params=params, headers={**auth(LEAD), "X-Purpose": "oversight"})
        refused(answer, name, "DATE-1")


# ---- lists of references ------------------------------------------------------------------------------------
CONTACT = {"child_ref": "person:child-list-1", "birth_date": "2012-03-04", "municipality_ref": "muni:reykjavik",
           "coordinator_ref": COORD.person_ref, "coordinator_org_ref": SCHOOL, "life_stage": "primary",
           "conflict_of_interest_declared_none": True}


@pytest.mark.parametrize(("parents", "rule"), [(["person:mum-l", "person:mum-l"], "LIST-1"),
                                               (["person:mum-l", "person:child-list-1"], "LIST-2")])
def test_a_parent_named_twice_or_the_child_among_its_parents_is_refused(api: Api, team_case: UUID,
                                                                         parents: list[str], rule: str) -> None:
    """Found by a black-box probe: both were stored for good, and the child-as-parent read the case as both."""
    stored = api.stored_events()
    answer = post_raw(api, "/v1/cases/iceland/contacts", {**CONTACT, "parent_refs": parents}, auth(COORD), 40)
    refused(answer, "parent_refs", rule)
    assert api.stored_events() == stored


def test_a_signatory_named_twice_is_refused(api: Api, team_case: UUID) -> None:
    stored = api.stored_events()
    body = {"request_id": "share-9", "signatory_refs": [MUM, MUM], "source_provider_org_refs": [SCHOOL],
            "target_refs": [COORD.person_ref], "form_doc_ref": "doc:share-form-9"}
    refused(post_raw(api, case_path(c.SignInformationSharingRequest, team_case), body, auth(COORD), 40),
            "signatory_refs", "LIST-1")
    assert api.stored_events() == stored
