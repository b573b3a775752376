"""Issue 12 (items 5, 6, 8) over real PostgreSQL: the public "who is my coordinator" lookup, life stages checked
on contact (LIFE-1), coverage per institution type with case managers at the centres, the half-yearly status
report (JSON, CSV, text; logged with its recipient), the audit questions and the caseload's tasks."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest

from contracts import commands as c
from domain.values import Actor, EligibilityCriteria, Role
from services import reports_cli
from services.cli import build_parser
from services.infra.postgres_env import PgTarget
from tests.integration.test_api_commands import (
    CHILD,
    COORD,
    HEALTH,
    ICELAND_TO_TEAM,
    LEAD,
    MUM,
    NO_CHILD,
    NO_MUM,
    SCHOOL,
    STAFF,
    Api,
    auth,
    run_steps,
)
from tests.integration.test_api_queries import (
    NO_SUPERVISOR,
    READING_STAFF,
    SUPERVISOR,
    api,
    build_read_models,
    get,
    team_case,
)

__all__ = ["api", "team_case"]  # fixtures
LOOKUP = "/v1/public/coordinators"
REPORT = "/v1/reports/status"


def read_log(api: Api) -> list[dict[str, Any]]:
    return list(api.client.app.state.services.read_log.entries())  # type: ignore[attr-defined]


# ---- the public lookup (seed 003) ----------------------------------------------------------------------------
def test_anyone_finds_the_coordinator_for_an_age_without_signing_in(api: Api, team_case: UUID,
                                                                    pg_schema: PgTarget) -> None:
    api.ok(c.RegisterInstitution(org_ref="org:social-rvk", institution_type="social_services",
                                 municipality_ref="muni:reykjavik", jurisdiction="IS"), LEAD)
    build_read_models(api, pg_schema)
    logged = len(read_log(api))
    answer = api.client.get(LOOKUP, params={"municipality_ref": "muni:reykjavik", "age": "16"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "infant" not in body["life_stages"] and "secondary" in body["life_stages"]
    by_type = {a["institution_type"]: a for a in body["answers"]}
    assert by_type["secondary_school"]["institutions"] == [
        {"org_ref": SCHOOL, "institution_type": "secondary_school", "has_designated_coordinator": True}]
    assert by_type["social_services"]["fallback"] is True
    assert by_type["social_services"]["institutions"][0]["has_designated_coordinator"] is False
    assert body["names_published"] is False and "person:" not in answer.text
    assert len(read_log(api)) == logged, "nothing personal is read, so nothing is logged"
    # An infant is served by the health centre; none is registered in Reykjavík yet.
    infant = api.client.get(LOOKUP, params={"municipality_ref": "muni:reykjavik", "age": "0"}).json()
    assert [a["institution_type"] for a in infant["answers"]] == ["health_centre", "preschool", "social_services"]
    assert infant["answers"][0]["institutions"] == []
    # A child outside school: the municipality's social services only.
    outside = api.client.get(LOOKUP, params={"municipality_ref": "muni:reykjavik", "age": "16",
                                             "school_status": "none"}).json()
    assert [a["institution_type"] for a in outside["answers"]] == ["social_services"]


def test_the_lookup_does_not_tell_whether_a_child_has_a_case(api: Api, pg_schema: PgTarget) -> None:
    api.ok(c.RegisterInstitution(org_ref=SCHOOL, institution_type="secondary_school",
                                 municipality_ref="muni:reykjavik", jurisdiction="IS"), LEAD)
    api.ok(c.DesignateCoordinator(org_ref=SCHOOL, person_ref=COORD.person_ref), LEAD)
    build_read_models(api, pg_schema)
    question = {"municipality_ref": "muni:reykjavik", "age": "16", "org_ref": SCHOOL}
    before = api.client.get(LOOKUP, params=question).json()
    api.ok(c.RegisterContact(
        child_ref=CHILD, parent_refs=(MUM,), birth_date=date(2008, 9, 15), municipality_ref="muni:reykjavik",
        coordinator_ref=COORD.person_ref, coordinator_org_ref=SCHOOL, life_stage="secondary",
        conflict_of_interest_declared_none=True), COORD)
    build_read_models(api, pg_schema)
    assert api.client.get(LOOKUP, params=question).json() == before


def test_the_lookup_refuses_unbounded_questions_naming_the_field(api: Api, pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    for params, field in (({"municipality_ref": "Reykjavík", "age": "3"}, "municipality_ref"),
                          ({"municipality_ref": "muni:reykjavik", "age": "18"}, "age"),
                          ({"municipality_ref": "muni:reykjavik", "age": "3", "school_status": "university"},
                           "school_status"),
                          ({"municipality_ref": "muni:reykjavik", "age": "3", "org_ref": "anna@example.com"},
                           "org_ref"),
                          ({"age": "3"}, "municipality_ref")):
        refused = api.client.get(LOOKUP, params=params)
        assert refused.status_code == 422, (params, refused.text)
        assert field in refused.text, params
    implausible = api.client.get(LOOKUP, params={"municipality_ref": "muni:reykjavik", "age": "3",
                                                 "school_status": "secondary"})
    assert implausible.status_code == 422 and "LIFE-2" in implausible.text


def test_a_sixteen_year_old_with_an_infant_health_centre_coordinator_is_refused(api: Api) -> None:
    api.ok(c.RegisterInstitution(org_ref=HEALTH, institution_type="health_centre",
                                 municipality_ref="muni:reykjavik", jurisdiction="IS"), LEAD)
    nurse = Actor("person:nurse-coord-1", Role.COORDINATOR, HEALTH)
    api.ok(c.DesignateCoordinator(org_ref=HEALTH, person_ref=nurse.person_ref), LEAD)
    before = api.stored_events()
    refused = api.post(c.RegisterContact(
        child_ref=CHILD, parent_refs=(MUM,), birth_date=date(2007, 10, 1), municipality_ref="muni:reykjavik",
        coordinator_ref=nurse.person_ref, coordinator_org_ref=HEALTH, life_stage="infant",
        conflict_of_interest_declared_none=True), nurse)
    assert refused.status_code == 409 and refused.json()["rule_id"] == "LIFE-1", refused.text
    assert api.stored_events() == before


# ---- coverage and the status report (seed 004) -----------------------------------------------------------------
def test_coverage_per_type_counts_case_managers_at_the_centres(api: Api, team_case: UUID,
                                                               pg_schema: PgTarget) -> None:
    api.ok(c.RegisterInstitution(org_ref="org:preschool-rvk-1", institution_type="preschool",
                                 municipality_ref="muni:reykjavik", jurisdiction="IS"), LEAD)
    build_read_models(api, pg_schema)
    rows = get(api, "/v1/dashboards/coverage-by-type", LEAD, as_of="2024-06-30")
    assert rows.status_code == 200, rows.text
    shown = {(r["institution_type"], r["role"]): (r["covered"], r["institutions"], r["percentage"], r["unregistered"])
             for r in rows.json()}
    assert shown == {("preschool", "coordinator"): (0, 1, 0.0, 0),
                     ("secondary_school", "coordinator"): (1, 1, 100.0, 0),
                     ("social_services", "case_manager"): (1, 1, 100.0, 1)}  # org:social-rvk: not registered
    other = Actor("person:lead-kop", Role.MUNICIPALITY_LEAD, "org:town-hall-kop", "muni:kopavogur")
    refused = get(api, "/v1/dashboards/coverage-by-type", other, municipality_ref="muni:reykjavik")
    assert refused.status_code == 403 and refused.json()["rule_id"] == "ACCESS-SCOPE"


def test_the_status_report_is_the_leads_and_logged_with_its_recipient(api: Api, team_case: UUID,
                                                                       pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    report = get(api, REPORT, LEAD, {"X-Recipient": "org:council-rvk"}, year="2024", half="1")
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["report"]["municipality_ref"] == "muni:reykjavik" and body["report"]["iceland"]["contacts"] == 1
    assert {(c["institution_type"], c["role"]) for c in body["coverage_by_type"]} >= {
        ("secondary_school", "coordinator"), ("social_services", "case_manager")}
    sheet = get(api, REPORT, LEAD, year="2024", half="1", format="csv")
    assert sheet.headers["content-type"].startswith("text/csv")
    figures = {(r["section"], r["group"], r["measure"]): r["value"] for r in csv.DictReader(io.StringIO(sheet.text))}
    assert figures[("iceland", "muni:reykjavik", "contacts")] == "1"
    assert figures[("coverage", "secondary_school coordinator", "percentage")] == "100.0"
    text = get(api, REPORT, LEAD, year="2024", half="1", format="text")
    assert "Status report on July 1, 2024" in text.text and "Coverage, secondary school: 1 of 1" in text.text
    exports = [r for r in read_log(api) if r["resource"].startswith("status_report ")]
    assert [(r["subject"], r["resource"], r["outcome"]) for r in exports] == [
        (LEAD.person_ref, "status_report muni:reykjavik 2024-H1 json to org:council-rvk", "granted"),
        (LEAD.person_ref, "status_report muni:reykjavik 2024-H1 csv to org:town-hall-rvk", "granted"),
        (LEAD.person_ref, "status_report muni:reykjavik 2024-H1 text to org:town-hall-rvk", "granted")]
    # and in the export log (issue 13: every export with its recipient and a digest of what was handed over)
    exports = api.client.app.state.services.exports  # type: ignore[attr-defined]
    logged = [e for e in exports.entries() if e["kind"] == "status_report"]
    assert sorted((e["export_format"], e["recipient_ref"]) for e in logged) == [
        ("csv", "org:town-hall-rvk"), ("json", "org:council-rvk"), ("text", "org:town-hall-rvk")]
    assert hashlib.sha256(sheet.content).hexdigest() in {e["content_sha256"] for e in logged}


def test_the_status_report_refuses_staff_other_municipalities_and_other_jurisdictions(
        api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    staff = get(api, REPORT, READING_STAFF, year="2024", half="1")
    assert staff.status_code == 403 and staff.json()["rule_id"] == "ACCESS-READ-STATUS-REPORT"
    other = get(api, REPORT, LEAD, year="2024", half="1", municipality_ref="muni:kopavogur")
    assert other.status_code == 403 and other.json()["rule_id"] == "ACCESS-SCOPE"
    unnamed = get(api, REPORT, SUPERVISOR, year="2024", half="1")
    assert unnamed.status_code == 403 and unnamed.json()["rule_id"] == "ACCESS-SCOPE"
    assert get(api, REPORT, SUPERVISOR, year="2024", half="1", municipality_ref="muni:reykjavik").status_code == 200
    foreign = get(api, REPORT, NO_SUPERVISOR, year="2024", half="1", municipality_ref="muni:reykjavik")
    assert foreign.status_code == 403 and foreign.json()["rule_id"] == "ACCESS-SCOPE"
    for params in ({"year": "1999", "half": "1"}, {"year": "2024", "half": "3"}, {"year": "2024", "half": "1",
                                                                                  "format": "pdf"}):
        assert get(api, REPORT, LEAD, params=params).status_code == 422, params
    bad_recipient = get(api, REPORT, LEAD, {"X-Recipient": "anna@example.com"}, year="2024", half="1")
    assert bad_recipient.status_code == 422
    refusals = [r for r in read_log(api) if r["outcome"] == "refused" and r["resource"] == "status_report"]
    assert {r["subject"] for r in refusals} == {READING_STAFF.person_ref, LEAD.person_ref}


# ---- the audit questions ------------------------------------------------------------------------------------------
def test_the_audit_questions_are_the_supervisors_and_each_case_named_is_logged(
        api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    opened = api.ok(c.RequestBarnekoordinator(
        child_ref=NO_CHILD, parent_refs=(NO_MUM,), birth_date=date(2016, 5, 2), municipality_ref="muni:bodo",
        request_id="no-request-1", channel="oral", requested_by_ref=NO_MUM, family_status="child_under_18"), STAFF)
    norway = UUID(opened["case_id"])
    run_steps(api, norway, [
        (10, STAFF, lambda case: c.AssessEligibility(
            case_id=case, criteria=EligibilityCriteria(True, True, True), family_views_doc_ref="doc:views-1",
            child_views_doc_ref="doc:child-views-1")),
        (14, STAFF, lambda case: c.IssueDecision(
            case_id=case, decision_id="decision-1", decision="granted", written=True,
            justification_doc_ref="doc:decision-1", appeal_info_included=True,
            delivered_at=datetime(2024, 1, 23, tzinfo=UTC)))], 1)
    build_read_models(api, pg_schema)
    assert get(api, "/v1/audit/processing-without-basis", SUPERVISOR).json() == []
    is_decisions = get(api, "/v1/audit/no-decision-lead-times", SUPERVISOR)
    assert is_decisions.status_code == 200 and is_decisions.json() == []  # Iceland's supervisor sees no NO case
    decisions = get(api, "/v1/audit/no-decision-lead-times", NO_SUPERVISOR).json()
    assert [(d["case_id"], d["decision"], d["lead_time"]) for d in decisions] == [
        (str(norway), "granted", "P14D")]
    digests = get(api, "/v1/audit/daily-digests", SUPERVISOR, since="2020-01-01").json()
    assert digests and all(d["events"] > 0 and len(d["digest"]) == 64 for d in digests)
    assert get(api, "/v1/audit/daily-digests", SUPERVISOR, since="2025-01-02", until="2025-01-01").status_code == 422
    for path in ("/v1/audit/processing-without-basis", "/v1/audit/no-decision-lead-times", "/v1/audit/daily-digests"):
        refused = get(api, path, LEAD)
        assert refused.status_code == 403 and refused.json()["rule_id"] == "ACCESS-READ-AUDIT", path
    named = [r for r in read_log(api) if r["resource"] == "audit_no_decision_lead_times" and r["outcome"] == "granted"]
    assert [(r["subject"], r["case_id"]) for r in named] == [(NO_SUPERVISOR.person_ref, norway)]


# ---- the caseload's tasks -------------------------------------------------------------------------------------------
def test_the_caseload_shows_contacting_the_family_and_the_awaited_appointment(api: Api, pg_schema: PgTarget) -> None:
    from tests.integration.test_api_commands import open_iceland_case

    case_id = open_iceland_case(api)
    run_steps(api, case_id, ICELAND_TO_TEAM[:2], 1)  # information shared on day 5; the family not yet contacted
    build_read_models(api, pg_schema)
    rows = get(api, "/v1/me/caseload", COORD, {"X-Purpose": "casework"}, as_of="2024-01-20").json()
    assert [(t["task"], t["timer"], t["since"], t["days_waiting"]) for t in rows[0]["tasks"]] == [
        ("contact_family", "T1", "2024-01-13", 7)]
    run_steps(api, case_id, ICELAND_TO_TEAM[2:7], 3)  # contacted, request, services, case manager asked for
    build_read_models(api, pg_schema)
    rows = get(api, "/v1/me/caseload", COORD, {"X-Purpose": "casework"}, as_of="2024-02-05").json()
    assert [(t["task"], t["since"]) for t in rows[0]["tasks"]] == [("appoint_case_manager", "2024-02-02")]
    page_rows = get(api, "/v1/me/caseload", COORD, {"X-Purpose": "casework"}, as_of="2024-01-10").json()
    assert page_rows[0]["tasks"] == []  # before the information was shared, nothing waited


def test_the_lookup_answers_the_same_with_or_without_a_token(api: Api, pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    anonymous = api.client.get(LOOKUP, params={"municipality_ref": "muni:akureyri", "age": "7"})
    with_token = get(api, LOOKUP, SUPERVISOR, municipality_ref="muni:akureyri", age="7")
    assert anonymous.status_code == with_token.status_code == 200
    assert anonymous.json() == with_token.json()


# ---- the CLI, as a client of this API ---------------------------------------------------------------------------
def test_the_cli_exports_the_status_report_as_csv_and_asks_the_audit_questions(
        api: Api, team_case: UUID, pg_schema: PgTarget, capsys: pytest.CaptureFixture[str]) -> None:
    build_read_models(api, pg_schema)
    lead_token = auth(LEAD)["Authorization"].removeprefix("Bearer ")
    args = build_parser().parse_args(["report", "status", "--year", "2024", "--half", "1", "--csv", "--recipient",
                                      "org:council-rvk", "--api", "http://testserver", "--token", lead_token])
    assert reports_cli.status_command(args, api.client) == 0
    sheet = capsys.readouterr().out
    assert "section,group,measure,value\n" in sheet and "iceland,muni:reykjavik,contacts,1" in sheet
    assert [r["resource"] for r in read_log(api) if r["resource"].startswith("status_report ")] == [
        "status_report muni:reykjavik 2024-H1 csv to org:council-rvk"]
    # A lead may not ask the supervisor's audit questions: the API's refusal, and exit status 1.
    question = build_parser().parse_args(["audit", "daily-digests", "--api", "http://testserver", "--token",
                                          lead_token])
    assert reports_cli.audit_command(question, api.client) == 1
    assert "ACCESS-READ-AUDIT" in capsys.readouterr().err
    supervisor = auth(SUPERVISOR)["Authorization"].removeprefix("Bearer ")
    question = build_parser().parse_args(["audit", "daily-digests", "--since", "2020-01-01", "--api",
                                          "http://testserver", "--token", supervisor])
    assert reports_cli.audit_command(question, api.client) == 0
    assert '"digest"' in capsys.readouterr().out


def test_the_public_lookup_is_rate_limited_per_client_address(pg_schema: PgTarget) -> None:
    """No token, so the edge keys the caller by its address: the 21st question in a minute is 429."""
    from fastapi.testclient import TestClient

    from services.api.app import create_app
    from services.casework.application import Casework
    from tests.integration.test_api_commands import SETTINGS, Clock

    app = Casework(pg_schema.eventsourcing_env(), clock=Clock())
    try:
        with TestClient(create_app(app, SETTINGS.model_copy(update={"rate_limit": "20/minute"}))) as client:
            question = {"municipality_ref": "muni:reykjavik", "age": "7"}
            statuses = [client.get(LOOKUP, params=question).status_code for _ in range(21)]
            assert statuses[20] == 429 and set(statuses[:20]) <= {200, 503}
            assert int(client.get(LOOKUP, params=question).headers["Retry-After"]) >= 1
    finally:
        app.close()
