"""The read side of the HTTP API over real PostgreSQL: a case, the directory, dashboards, audit, the access
model's relationships and scopes (domain.md §8.3), and the read-access log with granted and refused attempts.

Read models are built the way a rebuild builds them: every stored fact, read back as its published contract
(``published_events``), applied through ``ReadModelStore`` to the projection's serving generation.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from contracts import commands as c
from domain import access
from domain.access import ReadKind
from domain.case import natural_key_id
from domain.values import Actor, EligibilityCriteria, Jurisdiction, Role
from projections.audit.projection import AuditProjection
from projections.base import Projection
from projections.dashboard.projection import DashboardProjection
from services.api.app import create_app
from services.casework.application import Casework
from services.casework.read_log import Outcome
from services.consumers.replay import published_events
from services.consumers.store import ReadModelStore
from services.infra.postgres_env import PgTarget
from tests.integration.test_api_commands import (
    BK,
    CHILD,
    CM,
    COORD,
    DAD,
    ICELAND_TO_TEAM,
    LEAD,
    MUM,
    NO_CHILD,
    NO_MUM,
    SCHOOL,
    SETTINGS,
    STAFF,
    UNIT,
    Api,
    Clock,
    auth,
    open_iceland_case,
    run_steps,
)

SUPERVISOR = Actor("person:gev-1", Role.SUPERVISOR, "org:gev", jurisdiction=Jurisdiction.ICELAND)
NATIONAL = Actor("person:bofs-1", Role.NATIONAL_AGENCY, "org:bofs", jurisdiction=Jurisdiction.ICELAND)
NO_SUPERVISOR = Actor("person:sf-1", Role.SUPERVISOR, "org:statsforvalteren", jurisdiction=Jurisdiction.NORWAY)
TEACHER = Actor("person:teacher-1", Role.SERVICE_PROVIDER_REP, SCHOOL)
STRANGER = Actor("person:coord-is-9", Role.COORDINATOR, "org:school-rvk-9")
PURPOSE = {"X-Purpose": "casework"}


def purpose_of(actor: Actor) -> dict[str, str]:
    """The purpose each reader states (ACCESS-PURPOSE): the family about its own case, staff for casework."""
    return {"X-Purpose": "own_case" if actor.role in (Role.PARENT, Role.YOUNG_PERSON) else "casework"}


def is_vault_read(operation: dict[str, Any]) -> bool:
    """The vault's reads publish ``ACCESS-VAULT-n`` rules, not read kinds (tested in test_vault_api.py)."""
    return str(operation["x-prosperity-access"]["any"]["rule_id"]).startswith("ACCESS-VAULT")


def kind_of(operation: dict[str, Any]) -> ReadKind:
    """The access rule an operation publishes (``x-prosperity-access``) names its kind of read."""
    rule_id = operation["x-prosperity-access"]["any"]["rule_id"]
    (kind,) = [kind for kind, rule in access.MAY_READ.items() if rule.rule_id == rule_id]
    return kind


@pytest.fixture
def api(pg_schema: PgTarget) -> Iterator[Api]:
    clock = Clock()
    app = Casework(pg_schema.eventsourcing_env(), clock=clock)
    try:
        with TestClient(create_app(app, SETTINGS)) as client:
            yield Api(client, app, clock)
    finally:
        app.close()


def build_read_models(api: Api, pg_schema: PgTarget) -> None:
    """Both read models, fed every stored fact (a rebuild in miniature)."""
    projections: list[Projection] = [DashboardProjection(), AuditProjection()]
    for projection in projections:
        store = ReadModelStore(pg_schema.dsn, projection, base_schema=pg_schema.schema, pool_size=2)
        try:
            generation = store.setup()
            store.apply_many_to(generation.schema, list(published_events(api.app)))
        finally:
            store.close()


def get(api: Api, path: str, actor: Actor | None, headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None, **more: str) -> Any:
    return api.client.get(path, params={**(params or {}), **more},
                          headers={**(auth(actor) if actor else {}), **(headers or {})})


@pytest.fixture
def team_case(api: Api) -> UUID:
    """An Icelandic case with a case manager and a support team (teacher, coordinator, child)."""
    case_id = open_iceland_case(api)
    run_steps(api, case_id, ICELAND_TO_TEAM, 1)
    return case_id


# ---- a case: relationships ---------------------------------------------------------------------------------
READING_LEAD = LEAD
READING_STAFF = Actor("person:staff-rvk-1", Role.MUNICIPAL_STAFF, "org:social-rvk", "muni:reykjavik")


@pytest.mark.parametrize(("actor", "relationship"), [
    (COORD, "coordinator"), (CM, "case_manager"), (TEACHER, "team_member"),
    (Actor(MUM, Role.PARENT), "parent"), (Actor(DAD, Role.PARENT), "parent"),
    (Actor(CHILD, Role.YOUNG_PERSON), "child"), (READING_LEAD, "domicile_lead"), (READING_STAFF, "domicile_staff"),
    (Actor("person:nurse-1", Role.SERVICE_PROVIDER_REP, "org:healthcentre-rvk-1"), "sharing_provider"),
], ids=["coordinator", "case-manager", "team-member", "mother", "father", "young-person", "lead", "staff",
        "provider-named-in-sharing-request"])
def test_related_people_read_the_case(api: Api, team_case: UUID, actor: Actor, relationship: str) -> None:
    response = get(api, f"/v1/cases/{team_case}", actor, purpose_of(actor))
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["case_id"] == str(team_case) and summary["jurisdiction"] == "IS"
    assert response.headers["ETag"] == f'"{summary["version"]}"'
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Content-Type-Options"] == "nosniff"
    assert summary["version"] == api.app.get_case(team_case).version
    assert summary["coordinator_ref"] == COORD.person_ref and summary["case_manager_ref"] == CM.person_ref
    assert summary["status"] == "team_active_no_plan" and summary["basis_active"] is True
    assert {m["person_ref"] for m in summary["team_members"]} >= {TEACHER.person_ref, COORD.person_ref, CHILD}
    assert summary["parent_refs"] == [MUM, DAD]
    (row,) = api_read_log(api, team_case)[-1:]
    assert (row["subject"], row["outcome"], row["resource"]) == (actor.person_ref, "granted", "case")
    assert relationship in row["reason"] and row["reason"].startswith("ACCESS-READ-CASE")


@pytest.mark.parametrize("actor", [
    STRANGER, Actor("person:nurse-9", Role.SERVICE_PROVIDER_REP, "org:healthcentre-rvk-9"),
    Actor("person:parent-other", Role.PARENT), Actor(MUM, Role.YOUNG_PERSON),
    Actor("person:lead-akureyri", Role.MUNICIPALITY_LEAD, "org:town-hall-akureyri", "muni:akureyri"),
    SUPERVISOR, NATIONAL,
], ids=["other-coordinator", "provider-not-on-team", "other-parent", "parent-as-young-person", "other-lead",
        "supervisor", "national-agency"])
def test_no_relationship_answers_like_a_missing_case_and_is_logged(api: Api, team_case: UUID, actor: Actor) -> None:
    hidden = get(api, f"/v1/cases/{team_case}", actor, PURPOSE)
    missing = get(api, f"/v1/cases/{uuid4()}", actor, PURPOSE)
    assert hidden.status_code == missing.status_code == 404, hidden.text
    assert set(hidden.json()) == set(missing.json()) and hidden.json()["type"] == missing.json()["type"]
    assert str(team_case) in hidden.json()["detail"]
    (row,) = api_read_log(api, team_case)[-1:]
    assert (row["subject"], row["role"], row["outcome"]) == (actor.person_ref, actor.role.value, "refused")
    assert row["reason"].startswith("ACCESS-READ-CASE") and row["purpose"] == "casework"


def api_read_log(api: Api, case_id: UUID | None = None, **filters: str) -> list[dict[str, Any]]:
    params = {**({"case_id": str(case_id)} if case_id else {}), **filters}
    response = get(api, "/v1/audit/read-log", SUPERVISOR, params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_case_read_problems(api: Api, team_case: UUID) -> None:
    path = f"/v1/cases/{team_case}"
    assert get(api, path, None, PURPOSE).status_code == 401
    missing = get(api, path, COORD)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "X-Purpose"
    assert get(api, path, COORD, {"X-Purpose": "curiosity"}).status_code == 422
    probed = uuid4()
    unknown = get(api, f"/v1/cases/{probed}", COORD, PURPOSE)
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("case-not-found")
    # the probe has no country: a supervisor sees it when asking about that id, not in the whole list
    assert [(r["subject"], r["reason"]) for r in api_read_log(api, probed)] == [(COORD.person_ref, "not_found")]
    assert not [r for r in api_read_log(api) if r["case_id"] == str(probed)]
    assert get(api, "/v1/cases/not-a-uuid", COORD, PURPOSE).status_code == 422
    # An institution's id (or a natural key's) is no case: 404, never 500.
    institution = api.app.get_institution(SCHOOL).id
    for other in (institution, natural_key_id(Jurisdiction.ICELAND, CHILD, 1)):
        assert get(api, f"/v1/cases/{other}", COORD, PURPOSE).status_code == 404
        assert get(api, f"/v1/audit/cases/{other}/as-of", SUPERVISOR, {"X-Purpose": "supervision"},
                   at="2024-02-01T00:00:00Z").status_code == 404


def test_norway_case_for_its_barnekoordinator_family_and_unit(api: Api) -> None:
    opened = api.ok(c.RequestBarnekoordinator(
        child_ref=NO_CHILD, parent_refs=(NO_MUM,), birth_date=date(2016, 5, 2), municipality_ref="muni:bodo",
        request_id="no-request-1", channel="oral", requested_by_ref=NO_MUM, family_status="child_under_18"), STAFF)
    case_id = UUID(opened["case_id"])
    run_steps(api, case_id, [
        (10, STAFF, lambda case: c.AssessEligibility(
            case_id=case, criteria=EligibilityCriteria(True, True, True), family_views_doc_ref="doc:family-views-1",
            child_views_doc_ref="doc:child-views-no-1")),
        (14, STAFF, lambda case: c.IssueDecision(
            case_id=case, decision_id="decision-1", decision="granted", written=True,
            justification_doc_ref="doc:decision-1", appeal_info_included=True,
            delivered_at=datetime(2024, 1, 23, tzinfo=UTC))),
        (16, STAFF, lambda case: c.RecordConsent(
            case_id=case, consent_id="consent-1", given_by_refs=(NO_MUM,),
            scope_service_org_refs=("org:school-bodo-1",), form_doc_ref="doc:consent-1")),
        (18, STAFF, lambda case: c.AppointBarnekoordinator(
            case_id=case, coordinator_ref=BK.person_ref, unit_ref=UNIT, family_wishes_considered=True)),
    ], 1)
    for actor in (BK, Actor(NO_MUM, Role.PARENT), Actor(NO_CHILD, Role.YOUNG_PERSON), STAFF):
        response = get(api, f"/v1/cases/{case_id}", actor, purpose_of(actor))
        assert response.status_code == 200, response.text
        summary = response.json()
        assert (summary["jurisdiction"], summary["status"], summary["coordinator_ref"]) == ("NO", "active",
                                                                                          BK.person_ref)
        assert summary["basis_active"] is True and summary["case_manager_ref"] is None
        assert [d["decision"] for d in summary["decisions"]] == ["granted"]
        assert summary["decisions"][0]["appeal_deadline"]
    # Staff of another kommune do not see it.
    tromso = Actor("person:staff-tromso-1", Role.MUNICIPAL_STAFF, "org:koordinerende-enhet-tromso", "muni:tromso")
    assert get(api, f"/v1/cases/{case_id}", tromso, PURPOSE).status_code == 404


# ---- the coordinator directory -------------------------------------------------------------------------------
def test_directory_names_the_coordinators(api: Api, team_case: UUID) -> None:
    for actor in (Actor(MUM, Role.PARENT), NATIONAL, SUPERVISOR, COORD):
        response = get(api, f"/v1/institutions/{SCHOOL}", actor)
        assert response.status_code == 200, response.text
        assert response.json() == {"org_ref": SCHOOL, "institution_type": "secondary_school",
                                   "municipality_ref": "muni:reykjavik", "jurisdiction": "IS",
                                   "coordinators": [COORD.person_ref], "version": 2}
    assert get(api, "/v1/institutions/org:nowhere", COORD).status_code == 404
    assert get(api, "/v1/institutions/nowhere", COORD).status_code == 422
    assert get(api, f"/v1/institutions/{SCHOOL}", None).status_code == 401


# ---- dashboards and audit over built read models ------------------------------------------------------------
def test_read_models_not_built_is_503(api: Api, team_case: UUID) -> None:
    for path, actor in (("/v1/dashboards/caseload", LEAD), ("/v1/dashboards/national", NATIONAL),
                        ("/v1/audit/age-outs", SUPERVISOR)):
        response = get(api, path, actor)
        assert response.status_code == 503, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("read-model-not-built")
    trail = get(api, f"/v1/audit/cases/{team_case}/trail", SUPERVISOR, {"X-Purpose": "supervision"})
    assert trail.status_code == 503


def test_dashboards_after_build(api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    as_of = "2024-02-20"
    for actor in (LEAD, SUPERVISOR):
        levels = get(api, "/v1/dashboards/services-by-level", actor, as_of=as_of)
        assert levels.status_code == 200, levels.text
        assert {(row["level"], row["children"], row["services"]) for row in levels.json()} == {(1, 1, 1), (3, 1, 1)}
    # Another jurisdiction's supervisor, another municipality's lead: nothing of Reykjavík.
    assert get(api, "/v1/dashboards/services-by-level", NO_SUPERVISOR, as_of=as_of).json() == []
    akureyri = Actor("person:lead-akureyri", Role.MUNICIPALITY_LEAD, "org:town-hall-akureyri", "muni:akureyri")
    assert get(api, "/v1/dashboards/services-by-level", akureyri, as_of=as_of).json() == []
    foreign = get(api, "/v1/dashboards/caseload", akureyri, municipality_ref="muni:reykjavik")
    assert foreign.status_code == 403 and foreign.json()["rule_id"] == "ACCESS-SCOPE"
    caseload = get(api, "/v1/dashboards/caseload", LEAD).json()
    assert caseload == [{"jurisdiction": "IS", "municipality_ref": "muni:reykjavik", "person_ref": CM.person_ref,
                         "role": "case_manager", "open_cases": 1, "children": 1}]
    coverage = get(api, "/v1/dashboards/coordinator-coverage", LEAD, as_of=as_of).json()
    assert coverage[0]["org_ref"] == SCHOOL and coverage[0]["designated"] is True
    year = {"from": "2024-01-01", "to": "2024-12-31"}
    timeliness = get(api, "/v1/dashboards/timeliness", LEAD, params=year, as_of=as_of)
    assert timeliness.status_code == 200 and {row["timer"] for row in timeliness.json()} >= {"T2"}
    for path in ("plans-due", "transition-watch", "closures-without-plan", "complaints"):
        assert get(api, f"/v1/dashboards/{path}", SUPERVISOR, as_of=as_of).status_code == 200, path
    national = get(api, "/v1/dashboards/national", NATIONAL, as_of=as_of)
    assert national.status_code == 200
    cells = {(c["level"], c["age_band"]): c for c in national.json()}
    assert {c["children"] for c in cells.values()} <= {"0", "<5"}
    assert any(c["children"] == "<5" for c in cells.values())  # one child: suppressed, never "1"
    # The national agency reads the suppressed aggregate only, never a municipality's dashboard.
    assert get(api, "/v1/dashboards/caseload", NATIONAL).status_code == 403
    # Malformed parameters are 422, not a server error.
    assert get(api, "/v1/dashboards/plans-due", LEAD, as_of="0001-01-01").status_code == 422
    assert get(api, "/v1/dashboards/caseload", LEAD, municipality_ref="Reykjavík").status_code == 422
    backwards = {"from": "2024-02-01", "to": "2024-01-01"}
    assert get(api, "/v1/dashboards/timeliness", LEAD, params=backwards).status_code == 422


def test_row_level_dashboard_rows_are_logged_like_case_reads(api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    before = len(api_read_log(api))
    assert len(get(api, "/v1/dashboards/caseload", LEAD).json()) == 1
    (row,) = api_read_log(api)[before:]
    assert (row["subject"], row["resource"], row["outcome"], row["purpose"]) == (
        LEAD.person_ref, f"caseload_per_case_manager {CM.person_ref}", "granted", "oversight")
    assert row["municipality_ref"] == "muni:reykjavik" and row["reason"] == "ACCESS-READ-DASHBOARD-ROWS"
    # Plans due name cases: one row per case shown, with the stated purpose.
    plans = get(api, "/v1/dashboards/plans-due", LEAD, {"X-Purpose": "casework"}, as_of="2024-08-20").json()
    logged = [r for r in api_read_log(api)[before + 1:] if r["resource"] == "plans_due"]
    assert [r["case_id"] for r in logged] == [p["case_id"] for p in plans]
    assert all(r["purpose"] == "casework" for r in logged)


def test_audit_reads_and_the_read_log(api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    version = api.app.get_case(team_case).version
    supervision = {"X-Purpose": "supervision"}
    trail = get(api, f"/v1/audit/cases/{team_case}/trail", SUPERVISOR, supervision)
    assert trail.status_code == 200, trail.text
    entries = trail.json()
    assert [e["case_version"] for e in entries] == list(range(1, version + 1))
    assert entries[0]["event_type"] == "contact_registered" and entries[1]["prev_hash"] == entries[0]["hash"]
    assert len(get(api, f"/v1/audit/cases/{team_case}/trail", SUPERVISOR, supervision, up_to_version="3").json()) == 3
    # Time travel in world time (the facts occurred on the walkthrough's days; they were recorded today):
    # on day 8 the case stood at its contact with the family.
    at = (datetime(2024, 1, 8, 9, 0, tzinfo=UTC) + timedelta(days=8)).isoformat()
    snapshot = get(api, f"/v1/audit/cases/{team_case}/as-of", SUPERVISOR, supervision, at=at, by="occurred")
    assert snapshot.status_code == 200, snapshot.text
    assert snapshot.json()["version"] == 4 and snapshot.json()["latest_version"] == version
    early = get(api, f"/v1/audit/cases/{team_case}/as-of", SUPERVISOR, supervision, at="2020-01-01T00:00:00Z")
    assert early.status_code == 404 and early.json()["type"].endswith("no-facts-yet")
    assert get(api, f"/v1/audit/cases/{team_case}/as-of", SUPERVISOR, supervision,
               at="2024-01-09T00:00:00").status_code == 422  # no timezone
    for path in ("closures-without-plan", "age-outs", "no-decisions", "complaints"):
        assert get(api, f"/v1/audit/{path}", SUPERVISOR).status_code == 200, path
    assert get(api, f"/v1/audit/cases/{uuid4()}/trail", SUPERVISOR, supervision).status_code == 404
    # Norway's supervisor does not see an Icelandic case's trail: as if it did not exist.
    assert get(api, f"/v1/audit/cases/{team_case}/trail", NO_SUPERVISOR, supervision).status_code == 404

    # The coordinator reads the case too; a stranger tries to. Every attempt on this case is in the log.
    assert get(api, f"/v1/cases/{team_case}", COORD, PURPOSE).status_code == 200
    assert get(api, f"/v1/cases/{team_case}", STRANGER, PURPOSE).status_code == 404
    get(api, f"/v1/cases/{team_case}", COORD)  # 422 (no purpose): nothing was asked of the model, nothing logged
    rows = api_read_log(api, team_case)
    assert [(r["subject"], r["role"], r["resource"], r["purpose"], r["outcome"]) for r in rows] == [
        (SUPERVISOR.person_ref, "supervisor", "audit_trail", "supervision", "granted"),
        (SUPERVISOR.person_ref, "supervisor", "audit_trail", "supervision", "granted"),
        (SUPERVISOR.person_ref, "supervisor", "as_of", "supervision", "granted"),
        (SUPERVISOR.person_ref, "supervisor", "as_of", "supervision", "granted"),
        (NO_SUPERVISOR.person_ref, "supervisor", "audit_trail", "supervision", "refused"),
        (COORD.person_ref, "coordinator", "case", "casework", "granted"),
        (STRANGER.person_ref, "coordinator", "case", "casework", "refused"),
    ]
    assert rows[-2]["org_ref"] == SCHOOL and rows[-2]["correlation_id"]
    assert {r["jurisdiction"] for r in rows} == {"IS"}
    # Supervisors filter by outcome.
    refused = api_read_log(api, team_case, outcome="refused")
    assert [r["subject"] for r in refused] == [NO_SUPERVISOR.person_ref, STRANGER.person_ref]
    # Only supervisors see the log (a refusal, logged too), and it is append-only.
    for actor in (COORD, CM, LEAD, NATIONAL, Actor(MUM, Role.PARENT)):
        response = get(api, "/v1/audit/read-log", actor)
        assert response.status_code == 403 and response.json()["rule_id"] == "ACCESS-READ-LOG", actor
    # Those refusals name no case, so no country: they are in the table, in no supervisor's answer (a supervisor
    # of the other country must not read who tried what here, and these could be either's).
    with psycopg.connect(pg_schema.dsn) as conn:
        logged = set(conn.execute(f"SELECT subject, resource FROM {pg_schema.schema}.api_read_log"
                                  " WHERE outcome = 'refused' AND jurisdiction IS NULL").fetchall())
    assert logged >= {(COORD.person_ref, "read_log"), (Actor(MUM, Role.PARENT).person_ref, "read_log")}
    assert not {(r["subject"], r["resource"]) for r in api_read_log(api, outcome="refused")} & logged
    with psycopg.connect(pg_schema.dsn) as conn:
        for statement in ("UPDATE {}.api_read_log SET purpose = 'casework'", "DELETE FROM {}.api_read_log",
                          "TRUNCATE {}.api_read_log"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement.format(pg_schema.schema).encode())
            conn.rollback()


# ---- every read endpoint: an allowed and a refused caller, as the access model says ------------------------
def _example_path(path: str, case_id: UUID) -> str:
    return path.replace("{case_id}", str(case_id)).replace("{org_ref}", SCHOOL)


ALLOWED_READER: dict[ReadKind, Actor | None] = {
    ReadKind.CASE: COORD, ReadKind.AUDIT_CASE: SUPERVISOR, ReadKind.CASELOAD: CM, ReadKind.DASHBOARD: LEAD,
    ReadKind.DASHBOARD_ROWS: LEAD, ReadKind.NATIONAL: NATIONAL, ReadKind.AUDIT: SUPERVISOR,
    ReadKind.READ_LOG: SUPERVISOR, ReadKind.DIRECTORY: Actor(MUM, Role.PARENT), ReadKind.PUBLIC_DIRECTORY: None,
    ReadKind.STATUS_REPORT: LEAD,
    ReadKind.READ_LOG: SUPERVISOR, ReadKind.DIRECTORY: Actor(MUM, Role.PARENT), ReadKind.EXPORT_LOG: SUPERVISOR,
}
EXAMPLE_PARAMS = {"/v1/public/coordinators": {"municipality_ref": "muni:reykjavik", "age": "16"},
                  "/v1/reports/status": {"year": "2024", "half": "1"}}
"""The required query parameters of the reads that have some."""
READ_PURPOSE = {ReadKind.CASE: "casework", ReadKind.CASELOAD: "casework", ReadKind.DASHBOARD: "oversight",
                ReadKind.DASHBOARD_ROWS: "oversight", ReadKind.STATUS_REPORT: "oversight"}
"""What the allowed reader of each kind states (ACCESS-PURPOSE); the supervisor's reads: supervision."""
REFUSED_READER: dict[ReadKind, Actor] = {
    ReadKind.CASE: STRANGER, ReadKind.AUDIT_CASE: NO_SUPERVISOR, ReadKind.CASELOAD: LEAD,
    ReadKind.DASHBOARD: NATIONAL, ReadKind.DASHBOARD_ROWS: Actor(MUM, Role.PARENT), ReadKind.NATIONAL: LEAD,
    ReadKind.AUDIT: LEAD, ReadKind.READ_LOG: COORD, ReadKind.STATUS_REPORT: READING_STAFF,
    ReadKind.AUDIT: LEAD, ReadKind.READ_LOG: COORD, ReadKind.EXPORT_LOG: COORD,
}


def test_every_read_endpoint_allows_and_refuses_as_the_access_model_says(
        api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    """Each GET's published rule (x-prosperity-access) decides: an allowed caller gets 200, a refused one 404 for
    a case (as if it did not exist) or 403 naming the rule; each refusal of personal data is in the log."""
    build_read_models(api, pg_schema)
    spec = api.client.get("/openapi.json").json()
    routes = [path for path, item in spec["paths"].items() if "get" in item and path.startswith("/v1/")
              and not is_vault_read(item["get"])]  # the vault's reads: tests/integration/test_vault_api.py
    assert len(routes) == 28  # 19, the clock's 2, issue 12's 6, the export log
    for route in routes:
        kind = kind_of(spec["paths"][route]["get"])
        params = {"at": "2024-02-01T00:00:00Z", "by": "occurred"} if route.endswith("/as-of") else \
            EXAMPLE_PARAMS.get(route, {})
        path = _example_path(route, team_case)
        reader = ALLOWED_READER[kind]
        allowed = get(api, path, reader, {"X-Purpose": READ_PURPOSE.get(kind, "supervision")}, params)
        assert allowed.status_code == 200, (route, allowed.text)
        if kind not in REFUSED_READER:
            continue
        refuser = REFUSED_READER[kind]
        svc = api.client.app.state.services  # type: ignore[attr-defined]
        before = len(svc.read_log.entries(outcome=Outcome.REFUSED, limit=100_000))  # every country's, and none
        refused = get(api, path, refuser, {"X-Purpose": "supervision"}, params)
        if kind in (ReadKind.CASE, ReadKind.AUDIT_CASE):
            assert refused.status_code == 404, (route, refused.text)
        else:
            assert refused.status_code == 403, (route, refused.text)
            assert refused.json()["rule_id"] == access.MAY_READ[kind].rule_id
        (row,) = svc.read_log.entries(outcome=Outcome.REFUSED, limit=100_000)[before:]
        assert (row["subject"], row["role"]) == (refuser.person_ref, refuser.role.value), route


def test_openapi_documents_the_read_endpoints(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        if "get" not in item or not path.startswith("/v1/") or is_vault_read(item["get"]):
            continue
        operation = item["get"]
        rule = access.MAY_READ[kind_of(operation)]
        assert {"200", "422", "429"} | (set() if rule.public else {"401"}) <= set(operation["responses"]), path
        assert rule.rule_id in operation["description"], path
        assert operation["x-prosperity-access"]["any"]["relationships"] == (
            sorted(r.value for r in rule.may) or ["anyone, without signing in" if rule.public else "anyone signed in"])
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok.get("$ref") or ok.get("items"), path
        logs = ("/v1/audit/read-log", "/v1/audit/export-log")  # the logs are tables, not read models
        if path.startswith(("/v1/dashboards/", "/v1/audit/")) and path not in logs and not path.endswith("/as-of"):
            assert "503" in operation["responses"], path
    case_params = {p["name"]: p for p in spec["paths"]["/v1/cases/{case_id}"]["get"]["parameters"]}
    assert case_params["X-Purpose"]["required"] is True
