"""The pages over real PostgreSQL without a browser (FastAPI's TestClient, so no JavaScript runs): a page shows
only what the JSON API would, a refused or missing case answers the same and is logged, forms refuse with the
API's own problem details and store nothing, CSRF, the session's idle and absolute timeouts and sign-out, the
language, the status report export's log row, and the JSON API's documents served from local files."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from contracts import commands as c
from domain.values import Actor, Role
from services.api.pages.deps import PageServices
from services.infra.postgres_env import PgTarget
from tests.integration.pages_support import browser, csrf_of, read_log, sign_in
from tests.integration.test_api_commands import CHILD, CM, COORD, LEAD, MUM, SCHOOL, Api
from tests.integration.test_api_queries import STRANGER, TEACHER, api, build_read_models, get, team_case

__all__ = ["api", "team_case"]  # fixtures
OTHER_PARENT = Actor("person:parent-other", Role.PARENT)


def _pages(api: Api) -> PageServices:
    found: PageServices = api.client.app.state.pages  # type: ignore[attr-defined]
    return found


def _same(page: Any, asked: UUID) -> str:
    return str(page.text).replace(str(asked), "ID")


@pytest.mark.parametrize("actor", [COORD, CM, TEACHER, Actor(MUM, Role.PARENT), Actor(CHILD, Role.YOUNG_PERSON),
                                   LEAD, STRANGER, OTHER_PARENT],
                         ids=["coordinator", "case-manager", "teacher", "mother", "young-person", "lead", "stranger",
                              "other-parent"])
def test_a_case_page_answers_as_the_json_api_does(api: Api, team_case: UUID, actor: Actor) -> None:
    person = sign_in(api.client, actor)
    page = person.get(f"/cases/{team_case}")
    json_api = get(api, f"/v1/cases/{team_case}", actor, {"X-Purpose": "own_case" if actor.role in (
        Role.PARENT, Role.YOUNG_PERSON) else "casework"})
    assert page.status_code == json_api.status_code, (page.status_code, json_api.text)
    if page.status_code == 200:
        assert str(team_case) in page.text and COORD.person_ref in page.text
        return
    missing = uuid4()
    assert _same(page, team_case) == _same(person.get(f"/cases/{missing}"), missing)
    refused = [r for r in read_log(api.client.app, team_case) if r["subject"] == actor.person_ref]
    # the page's attempt and the JSON API's, both refused and logged alike
    assert [r["outcome"] for r in refused] == ["refused", "refused"]
    assert all(r["reason"].startswith("ACCESS-READ-CASE") for r in refused)


def test_the_forms_offered_are_those_the_access_model_allows(api: Api, team_case: UUID) -> None:
    coordinator = sign_in(api.client, COORD).get(f"/cases/{team_case}").text
    assert 'id="cmd-record_service"' in coordinator and 'id="cmd-appoint_case_manager"' not in coordinator
    lead = sign_in(api.client, LEAD).get(f"/cases/{team_case}").text
    assert 'id="cmd-appoint_case_manager"' in lead and 'id="cmd-record_service"' not in lead
    manager = sign_in(api.client, CM).get(f"/cases/{team_case}").text
    assert 'id="cmd-adopt_support_plan"' in manager
    assert 'name="content.not_applicable.duration"' in manager and 'name="content.review_dates"' in manager
    assert 'name="content.provider_roles.0.org_ref"' in manager  # tuples of records: repeated fieldsets
    family = sign_in(api.client, Actor(MUM, Role.PARENT)).get(f"/cases/{team_case}").text
    assert "cmd-" not in family and "<form" in family  # only sign-out and the language selector


def _post(person: Any, case_id: UUID, operation: str, data: dict[str, str]) -> Any:
    page = person.get(f"/cases/{case_id}")
    version = re.search(r'name="expected_version" value="(\d+)"', page.text)
    return person.post(f"/cases/{case_id}/commands/{operation}", data={
        "csrf_token": csrf_of(page.text), "expected_version": version.group(1) if version else "", **data})


SERVICE = {"service_id": "svc-9", "provider_org_ref": SCHOOL, "service_level": "2", "service_type_code": "tutoring",
           "start_date": "2024-03-01"}


def test_a_recorded_command_redirects_to_the_case_and_a_refusal_shows_the_problem(api: Api, team_case: UUID) -> None:
    coordinator = sign_in(api.client, COORD)
    before = api.stored_events()
    recorded = _post(coordinator, team_case, "record_service", SERVICE)
    assert recorded.status_code == 303 and recorded.headers["location"] == \
        f"/cases/{team_case}?recorded=record_service"
    assert api.stored_events() == before + 1
    again = _post(coordinator, team_case, "record_service", SERVICE)  # the same service id: the law refuses
    assert again.status_code == 409 and "[IS-R10]" in again.text and "svc-9 is already recorded" in again.text
    malformed = _post(coordinator, team_case, "record_service", {**SERVICE, "service_id": "svc-10",
                                                                  "service_level": "4"})
    assert malformed.status_code == 422 and 'aria-invalid="true"' in malformed.text
    assert re.search(r'id="record_service-f-service_level-error">[^<]*less than or equal to 3', malformed.text)
    not_allowed = _post(coordinator, team_case, "appoint_case_manager", {
        "case_manager_ref": "person:cm-9", "municipality_ref": "muni:reykjavik", "org_unit_ref": "org:social-rvk"})
    assert not_allowed.status_code == 403 and "[ACCESS-IS-R13]" in not_allowed.text
    assert "domicile_lead" in not_allowed.text and "Remedy:" in not_allowed.text
    stale = coordinator.post(f"/cases/{team_case}/commands/record_service", data={
        **SERVICE, "service_id": "svc-11", "expected_version": "2",
        "csrf_token": csrf_of(coordinator.get(f"/cases/{team_case}").text)})
    assert stale.status_code == 409 and "now at version" in stale.text
    assert api.stored_events() == before + 1  # refusals store nothing
    stranger = sign_in(api.client, STRANGER)
    hidden = _post(stranger, team_case, "record_service", {**SERVICE, "service_id": "svc-12"})
    assert hidden.status_code == 404 and "No such case" in hidden.text


def test_a_double_submitted_form_records_once(api: Api, team_case: UUID) -> None:
    coordinator = sign_in(api.client, COORD)
    page = coordinator.get(f"/cases/{team_case}").text
    key = re.search(r'id="cmd-record_service".*?name="idempotency_key" value="([0-9a-f-]+)"', page, re.S)
    assert key
    data = {**SERVICE, "csrf_token": csrf_of(page), "idempotency_key": key.group(1)}
    before = api.stored_events()
    first = coordinator.post(f"/cases/{team_case}/commands/record_service", data=data)
    second = coordinator.post(f"/cases/{team_case}/commands/record_service", data=data)
    assert first.status_code == second.status_code == 303 and api.stored_events() == before + 1


def test_every_page_post_needs_the_sessions_csrf_token(api: Api, team_case: UUID) -> None:
    coordinator = sign_in(api.client, COORD)
    other = sign_in(api.client, COORD)
    before = api.stored_events()
    for token in (None, "forged", csrf_of(other.get("/caseload").text)):
        data = {**SERVICE, **({} if token is None else {"csrf_token": token})}
        answer = coordinator.post(f"/cases/{team_case}/commands/record_service", data=data)
        assert answer.status_code == 403 and "[CSRF]" in answer.text
    assert browser(api.client).post("/sign-in", data={"role": "parent", "person_ref": MUM}).status_code == 403
    assert coordinator.post("/sign-out").status_code == 403
    assert api.stored_events() == before


def test_sessions_end_when_idle_or_too_old_and_on_sign_out(api: Api, team_case: UUID) -> None:
    page = f"/cases/{team_case}"
    web = _pages(api)
    start = web.clock()
    now = [start]
    web.clock = lambda: now[0]
    person = sign_in(api.client, COORD)
    cookie = person.cookies.get("prosperity_session")
    assert person.get(page).status_code == 200
    now[0] = start + timedelta(minutes=59)
    assert person.get(page).status_code == 200  # used: the idle clock starts again
    now[0] = start + timedelta(minutes=59 + 61)
    assert person.get(page).headers.get("location") == "/sign-in"
    busy = sign_in(api.client, COORD)
    for minutes in range(30, 8 * 60 + 1, 30):
        now[0] = start + timedelta(minutes=59 + 61 + minutes)
        assert busy.get(page).status_code == 200, minutes
    now[0] += timedelta(minutes=31)
    assert busy.get(page).headers.get("location") == "/sign-in"  # eight hours after sign-in
    web.clock = lambda: start
    copy, person = browser(api.client), sign_in(api.client, COORD)
    copy.cookies.set("prosperity_session", person.cookies["prosperity_session"])
    assert copy.get(page).status_code == 200
    assert person.post("/sign-out", data={"csrf_token": csrf_of(person.get(page).text)}).status_code == 303
    assert copy.get(page).headers.get("location") == "/sign-in"  # every copy of the cookie is signed out
    assert cookie and cookie != person.cookies.get("prosperity_session")


def test_the_session_cookie_is_http_only_and_same_site_lax(api: Api) -> None:
    person = browser(api.client)
    page = person.get("/sign-in")
    answer = person.post("/sign-in", data={"csrf_token": csrf_of(page.text), "role": "parent", "person_ref": MUM})
    cookie = answer.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "secure" not in cookie.lower()
    assert MUM not in cookie  # the cookie holds an opaque session id, nothing about the person
    refused = person.post("/sign-in", data={"csrf_token": csrf_of(person.get("/sign-in").text), "role": "supervisor",
                                            "person_ref": "person:sup-1"})
    assert refused.status_code == 422 and "ACCESS-TOKEN" in refused.text  # a supervisor needs org, jurisdiction


def test_the_family_reads_in_its_language(api: Api, team_case: UUID) -> None:
    mother = sign_in(api.client, Actor(MUM, Role.PARENT))
    icelandic = mother.get(f"/cases/{team_case}", headers={"Accept-Language": "is-IS,is;q=0.9,en;q=0.5"})
    assert '<html lang="is">' in icelandic.text and "Hver tengiliðurinn þinn er" in icelandic.text
    assert "Gæða- og eftirlitsstofnunar velferðarmála" in icelandic.text  # how to complain, in Icelandic
    chosen = mother.post("/language", data={"csrf_token": csrf_of(icelandic.text), "lang": "nb",
                                            "back": f"/cases/{team_case}"})
    assert chosen.status_code == 303 and chosen.headers["location"] == f"/cases/{team_case}"
    norwegian = mother.get(f"/cases/{team_case}", headers={"Accept-Language": "is"})
    assert '<html lang="nb">' in norwegian.text and "Planen" in norwegian.text
    away = mother.post("/language", data={"csrf_token": csrf_of(norwegian.text), "lang": "en",
                                          "back": "https://elsewhere.example/"})
    assert away.headers["location"] == "/"  # never redirected off the site


def test_the_status_report_export_is_logged_with_its_recipient(api: Api, team_case: UUID,
                                                                pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    lead = sign_in(api.client, LEAD)
    page = lead.get("/dashboard")
    assert page.status_code == 200 and "<svg" in page.text and 'role="img"' in page.text
    token = csrf_of(page.text)
    bad = lead.post("/dashboard/status-report.csv", data={"csrf_token": token, "year": "2024", "half": "1",
                                                         "recipient_ref": "anna@example.com"})
    assert bad.status_code == 422 and "PRIV-1" in bad.text
    csv = lead.post("/dashboard/status-report.csv", data={"csrf_token": token, "year": "2024", "half": "1",
                                                         "recipient_ref": "org:council-rvk"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "iceland,muni:reykjavik,contacts,1" in csv.text and "coverage,secondary_school coordinator," in csv.text
    exports = [r for r in api.client.app.state.services.read_log.entries()  # type: ignore[attr-defined]
               if r["resource"].startswith("status_report_export")]
    assert [(r["subject"], r["reason"]) for r in exports] == [
        (LEAD.person_ref, "ACCESS-READ-STATUS-REPORT: exported to org:council-rvk")]
    assert sign_in(api.client, COORD).get("/dashboard").status_code == 403


def test_swagger_ui_and_redoc_come_from_local_files(api: Api) -> None:
    for path in ("/docs", "/redoc"):
        page = api.client.get(path)
        assert page.status_code == 200 and "cdn." not in page.text and "/static-offline-docs/" in page.text
        for asset in re.findall(r'"(/static-offline-docs/[^"]+)"', page.text):
            assert api.client.get(asset).status_code == 200, asset


def test_a_support_plans_not_applicable_keys_are_published_and_checked(api: Api, team_case: UUID) -> None:
    schema = api.client.get("/openapi.json").json()["components"]["schemas"]
    content = schema["SupportPlanContentIn"]["properties"]["not_applicable"]
    names = content["propertyNames"]
    names = schema[names["$ref"].rsplit("/", 1)[-1]] if "$ref" in names else names
    assert names["enum"] == ["needs_assessment", "objectives", "provider_roles", "evaluation_method", "duration"]
    with pytest.raises(ValueError, match=r"not_applicable\.valid_to"):
        c.AdoptSupportPlan.model_validate({"case_id": team_case, "plan_id": "plan-1", "content": {
            "needs_assessment_ref": None, "objectives": [], "provider_roles": [], "evaluation_method": None,
            "valid_from": None, "valid_to": None, "not_applicable": {"valid_to": "open_ended"}}})
