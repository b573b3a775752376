"""The read side of the HTTP API over real PostgreSQL: a case, the directory, dashboards, audit, the role table
and relationships of domain.md §8.3, and the read-access log.

Read models are built the way a rebuild builds them: every stored fact, read back as its published contract
(``published_events``), applied through ``ReadModelStore`` to the projection's serving generation.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from fastapi.routing import APIRoute

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from contracts import commands as c
from domain.values import Actor, EligibilityCriteria, Role
from projections.audit.projection import AuditProjection
from projections.base import Projection
from projections.dashboard.projection import DashboardProjection
from services.api.access import READ_ROLES, ReadKind, relationships
from services.api.app import create_app
from services.casework.application import Casework
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

SUPERVISOR = Actor("person:gev-1", Role.SUPERVISOR, "org:gev")
NATIONAL = Actor("person:bofs-1", Role.NATIONAL_AGENCY, "org:bofs")
TEACHER = Actor("person:teacher-1", Role.SERVICE_PROVIDER_REP, SCHOOL)
STRANGER = Actor("person:coord-is-9", Role.COORDINATOR, "org:school-rvk-9")
PURPOSE = {"X-Purpose": "casework"}

KIND_OF_PATH: dict[str, ReadKind] = {
    "/v1/cases/{case_id}": ReadKind.CASE,
    "/v1/institutions/{org_ref}": ReadKind.DIRECTORY,
    "/v1/dashboards/national": ReadKind.NATIONAL,
    "/v1/me/caseload": ReadKind.CASELOAD,
}
"""Every other GET under /v1/dashboards is a dashboard, under /v1/audit an audit read."""


def kind_of(path: str) -> ReadKind:
    if path in KIND_OF_PATH:
        return KIND_OF_PATH[path]
    return ReadKind.DASHBOARD if path.startswith("/v1/dashboards/") else ReadKind.AUDIT


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
@pytest.mark.parametrize(("actor", "relationship"), [
    (COORD, "coordinator"), (CM, "case_manager"), (TEACHER, "team_member"),
    (Actor(MUM, Role.PARENT), "parent"), (Actor(DAD, Role.PARENT), "parent"),
    (Actor(CHILD, Role.YOUNG_PERSON), "child"),
], ids=["coordinator", "case-manager", "team-member", "mother", "father", "young-person"])
def test_related_people_read_the_case(api: Api, team_case: UUID, actor: Actor, relationship: str) -> None:
    response = get(api, f"/v1/cases/{team_case}", actor, PURPOSE)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["case_id"] == str(team_case) and summary["jurisdiction"] == "IS"
    assert response.headers["ETag"] == f'"{summary["version"]}"'
    assert summary["version"] == api.app.get_case(team_case).version
    assert summary["coordinator_ref"] == COORD.person_ref and summary["case_manager_ref"] == CM.person_ref
    assert summary["status"] == "team_active_no_plan" and summary["basis_active"] is True
    assert {m["person_ref"] for m in summary["team_members"]} >= {TEACHER.person_ref, COORD.person_ref, CHILD}
    assert summary["parent_refs"] == [MUM, DAD]


@pytest.mark.parametrize(("actor", "required"), [
    (STRANGER, ["coordinator", "case_manager", "team_member", "information_sharing_target"]),
    (Actor("person:nurse-1", Role.SERVICE_PROVIDER_REP, "org:healthcentre-rvk-1"),
     ["coordinator", "case_manager", "team_member", "information_sharing_target"]),
    (Actor("person:parent-other", Role.PARENT), ["parent"]),
    (Actor(MUM, Role.YOUNG_PERSON), ["child"]),
], ids=["other-coordinator", "provider-not-on-team", "other-parent", "parent-as-young-person"])
def test_no_relationship_is_403_naming_it(api: Api, team_case: UUID, actor: Actor, required: list[str]) -> None:
    response = get(api, f"/v1/cases/{team_case}", actor, PURPOSE)
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["type"].endswith("relationship-missing")
    assert problem["required_relationships"] == required and problem["case_id"] == str(team_case)
    assert actor.person_ref in problem["detail"]


def test_case_read_problems(api: Api, team_case: UUID) -> None:
    path = f"/v1/cases/{team_case}"
    for actor in (SUPERVISOR, LEAD, NATIONAL):  # these roles never read a case itself
        response = get(api, path, actor, PURPOSE)
        assert response.status_code == 403 and response.json()["type"].endswith("role-not-allowed"), actor
    assert get(api, path, None, PURPOSE).status_code == 401
    missing = get(api, path, COORD)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "X-Purpose"
    assert get(api, path, COORD, {"X-Purpose": "curiosity"}).status_code == 422
    unknown = get(api, f"/v1/cases/{uuid4()}", COORD, PURPOSE)
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("case-not-found")
    assert get(api, "/v1/cases/not-a-uuid", COORD, PURPOSE).status_code == 422


def test_norway_case_for_its_barnekoordinator_and_family(api: Api) -> None:
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
    for actor in (BK, Actor(NO_MUM, Role.PARENT), Actor(NO_CHILD, Role.YOUNG_PERSON)):
        response = get(api, f"/v1/cases/{case_id}", actor, {"X-Purpose": "own_case"})
        assert response.status_code == 200, response.text
        summary = response.json()
        assert (summary["jurisdiction"], summary["status"], summary["coordinator_ref"]) == ("NO", "active",
                                                                                          BK.person_ref)
        assert summary["basis_active"] is True and summary["case_manager_ref"] is None
        assert [d["decision"] for d in summary["decisions"]] == ["granted"]
        assert summary["decisions"][0]["appeal_deadline"]
    # The unit's staff decide on the case but are not among the people who see it (§8.3 item 3).
    assert get(api, f"/v1/cases/{case_id}", STAFF, PURPOSE).status_code == 403


def test_relationships_include_active_information_sharing_targets() -> None:
    case: Any = SimpleNamespace(parent_refs=(MUM,), child_ref=CHILD, coordinator_ref="person:coord-new",
                           case_manager_ref=None, team_id=None, conclusion=None, team_members={},
                           sharing_requests={"share-1": ("org:health-1", "person:coord-old")})
    assert relationships(Actor("person:coord-old", Role.COORDINATOR), case) == ["information_sharing_target"]
    case.sharing_requests.clear()  # withdrawn: the basis is gone
    assert relationships(Actor("person:coord-old", Role.COORDINATOR), case) == []
    # A concluded team no longer gives its members access.
    case.team_id, case.team_members, case.conclusion = "team-1", {"person:t-1": "service_provider_rep"}, "goals_met"
    assert relationships(Actor("person:t-1", Role.SERVICE_PROVIDER_REP), case) == []


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
    # Malformed parameters are 422, not a server error.
    assert get(api, "/v1/dashboards/plans-due", LEAD, as_of="0001-01-01").status_code == 422
    assert get(api, "/v1/dashboards/caseload", LEAD, municipality_ref="Reykjavík").status_code == 422
    backwards = {"from": "2024-02-01", "to": "2024-01-01"}
    assert get(api, "/v1/dashboards/timeliness", LEAD, params=backwards).status_code == 422


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

    # The coordinator reads the case too; every read above of this case's data is in the log, in order.
    assert get(api, f"/v1/cases/{team_case}", COORD, PURPOSE).status_code == 200
    log = get(api, "/v1/audit/read-log", SUPERVISOR, case_id=str(team_case))
    assert log.status_code == 200
    rows = log.json()
    assert [(r["subject"], r["role"], r["resource"], r["purpose"]) for r in rows] == [
        (SUPERVISOR.person_ref, "supervisor", "audit_trail", "supervision"),
        (SUPERVISOR.person_ref, "supervisor", "audit_trail", "supervision"),
        (SUPERVISOR.person_ref, "supervisor", "as_of", "supervision"),
        (SUPERVISOR.person_ref, "supervisor", "as_of", "supervision"),
        (COORD.person_ref, "coordinator", "case", "casework"),
    ]
    assert rows[-1]["org_ref"] == SCHOOL and rows[-1]["correlation_id"]
    # Refused reads (403, 422) are not reads: nothing was shown, nothing is logged.
    get(api, f"/v1/cases/{team_case}", STRANGER, PURPOSE)
    get(api, f"/v1/cases/{team_case}", COORD)
    assert len(get(api, "/v1/audit/read-log", SUPERVISOR, case_id=str(team_case)).json()) == len(rows)
    # Only supervisors see the log, and it is append-only.
    for actor in (COORD, CM, LEAD, NATIONAL, Actor(MUM, Role.PARENT)):
        assert get(api, "/v1/audit/read-log", actor).status_code == 403, actor
    with psycopg.connect(pg_schema.dsn) as conn:
        for statement in ("UPDATE {}.api_read_log SET purpose = 'casework'", "DELETE FROM {}.api_read_log",
                          "TRUNCATE {}.api_read_log"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement.format(pg_schema.schema).encode())
            conn.rollback()


# ---- the role table, every read endpoint by every role --------------------------------------------------------
def _example_path(path: str, case_id: UUID) -> str:
    return path.replace("{case_id}", str(case_id)).replace("{org_ref}", SCHOOL)


def test_read_authorization_matrix(api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    """Allowed roles get past the role layer (a relationship 403 at most, for a case); others get a 403 naming
    their role; the national aggregate and audit never reach municipal staff or families."""
    build_read_models(api, pg_schema)
    routes = [r for r in api.client.app.routes  # type: ignore[attr-defined]
              if isinstance(r, APIRoute) and "GET" in (r.methods or ()) and r.path.startswith("/v1/")]
    assert len(routes) == 19
    for route in routes:
        kind = kind_of(route.path)
        params = {"at": "2024-02-01T00:00:00Z", "by": "occurred"} if route.path.endswith("/as-of") else {}
        for role in Role:
            actor = Actor(f"person:{role.value}-1", role)
            response = get(api, _example_path(route.path, team_case), actor,
                           {"X-Purpose": "supervision"}, params)
            allowed = role in READ_ROLES[kind]
            if allowed and kind is ReadKind.CASE:
                assert response.status_code == 403, (route.path, role)
                assert response.json()["type"].endswith("relationship-missing")
            elif allowed:
                assert response.status_code == 200, (route.path, role, response.text)
            else:
                assert response.status_code == 403, (route.path, role, response.text)
                assert response.json()["type"].endswith("role-not-allowed") and response.json()["role"] == role
    assert READ_ROLES[ReadKind.AUDIT] == {Role.SUPERVISOR}
    assert Role.MUNICIPALITY_LEAD not in READ_ROLES[ReadKind.NATIONAL]
    assert not READ_ROLES[ReadKind.CASE] & {Role.SUPERVISOR, Role.NATIONAL_AGENCY, Role.MUNICIPALITY_LEAD}


def test_openapi_documents_the_read_endpoints(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        if "get" not in item or not path.startswith("/v1/"):
            continue
        operation = item["get"]
        assert {"200", "401", "403", "422"} <= set(operation["responses"]), path
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok.get("$ref") or ok.get("items"), path
        if path.startswith(("/v1/dashboards/", "/v1/audit/")) and path != "/v1/audit/read-log" \
                and not path.endswith("/as-of"):
            assert "503" in operation["responses"], path
    case_params = {p["name"]: p for p in spec["paths"]["/v1/cases/{case_id}"]["get"]["parameters"]}
    assert case_params["X-Purpose"]["required"] is True
