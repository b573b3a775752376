"""``GET /v1/me/caseload`` over real PostgreSQL: the caller's open cases with their next deadlines, from the
dashboard read model, the access rule (ACCESS-READ-CASELOAD: one's own cases), and one read-log entry per case
returned."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from contracts import commands as c
from domain import access
from domain.access import ReadKind, Relation
from domain.values import Actor, Jurisdiction, Role
from projections.dashboard.calendar import transition_window_birth_years
from services.infra.postgres_env import PgTarget
from tests.integration.test_api_commands import CM, COORD, ICELAND_REST, SCHOOL, Api, run_steps
from tests.integration.test_api_queries import PURPOSE, SUPERVISOR, api, build_read_models, get, team_case

__all__ = ["api", "team_case"]  # fixtures

PATH = "/v1/me/caseload"
PLAN_ADOPTED = 5  # ICELAND_REST[:5] ends with the support plan (first review due 2024-09-01)
REVIEW_DUE = date(2024, 9, 1)


def _with_plan(api: Api, case_id: UUID) -> None:
    version = api.app.get_case(case_id).version
    run_steps(api, case_id, ICELAND_REST[:PLAN_ADOPTED], version)


def test_case_manager_sees_their_open_cases_with_next_deadlines(api: Api, team_case: UUID,
                                                                pg_schema: PgTarget) -> None:
    _with_plan(api, team_case)
    build_read_models(api, pg_schema)
    before = get(api, PATH, CM, PURPOSE, as_of="2024-06-01")
    assert before.status_code == 200, before.text
    [row] = before.json()
    assert row["case_id"] == str(team_case) and row["jurisdiction"] == "IS"
    assert row["municipality_ref"] == "muni:reykjavik" and row["status"]
    assert row["roles"] == ["case_manager"]
    assert row["plan_kind"] == "support_plan" and row["plan_id"] == "plan-1"
    assert row["next_due_on"] == REVIEW_DUE.isoformat()
    assert row["overdue"] is False and row["days_overdue"] == 0
    first, last = transition_window_birth_years(date(2024, 6, 1))
    assert row["transition_watch"] is (first <= 2008 <= last)

    after = get(api, PATH, CM, PURPOSE, as_of="2024-10-01").json()
    assert [(r["case_id"], r["overdue"], r["days_overdue"]) for r in after] == [(str(team_case), True, 30)]

    # The coordinator has the same case, as coordinator.
    coordinated = get(api, PATH, COORD, PURPOSE, as_of="2024-06-01").json()
    assert [(r["case_id"], r["roles"]) for r in coordinated] == [(str(team_case), ["coordinator"])]


def test_cases_are_ordered_by_next_deadline(api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    """The coordinator's second case, just opened (no plan, no review due), comes after the one with a due date;
    the case manager has only the first."""
    _with_plan(api, team_case)
    opened = api.ok(c.RegisterContact(
        child_ref="person:child-is-2", parent_refs=("person:parent-is-9",), birth_date=date(2008, 3, 1),
        municipality_ref="muni:reykjavik", coordinator_ref=COORD.person_ref, coordinator_org_ref=SCHOOL,
        life_stage="secondary", conflict_of_interest_declared_none=True, initiated_by="provider_guidance"), COORD)
    second = UUID(opened["case_id"])
    build_read_models(api, pg_schema)
    rows = get(api, PATH, COORD, PURPOSE, as_of="2024-06-01").json()
    assert [(r["case_id"], r["next_due_on"]) for r in rows] == [(str(team_case), REVIEW_DUE.isoformat()),
                                                                (str(second), None)]
    assert [r["case_id"] for r in get(api, PATH, CM, PURPOSE, as_of="2024-06-01").json()] == [str(team_case)]


def test_another_person_sees_none(api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    for other in (Actor("person:cm-is-9", Role.CASE_MANAGER, "org:social-9"),
                  Actor("person:coord-is-9", Role.COORDINATOR, "org:school-rvk-9")):
        response = get(api, PATH, other, PURPOSE)
        assert response.status_code == 200 and response.json() == [], other
    assert get(api, "/v1/audit/read-log", SUPERVISOR, case_id=str(team_case)).json() == []


def test_other_roles_are_refused(api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    assert access.MAY_READ[ReadKind.CASELOAD].may == {Relation.OWN_CASES}
    for role in set(Role) - {Role.COORDINATOR, Role.CASE_MANAGER}:
        actor = Actor(CM.person_ref, role, "org:social-rvk", "muni:reykjavik", Jurisdiction.ICELAND)
        response = get(api, PATH, actor, PURPOSE)
        assert response.status_code == 403, (role, response.text)
        assert response.json()["rule_id"] == "ACCESS-READ-CASELOAD"
    assert get(api, PATH, None, PURPOSE).status_code == 401


def test_purpose_is_required_and_each_case_read_is_logged(api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    assert get(api, PATH, CM).status_code == 422
    assert get(api, PATH, CM, {"X-Purpose": "curiosity"}).status_code == 422
    assert get(api, "/v1/audit/read-log", SUPERVISOR, case_id=str(team_case)).json() == []
    assert len(get(api, PATH, CM, PURPOSE).json()) == 1
    entries = get(api, "/v1/audit/read-log", SUPERVISOR, case_id=str(team_case)).json()
    assert [(e["subject"], e["role"], e["resource"], e["purpose"], e["outcome"]) for e in entries] == [
        (CM.person_ref, "case_manager", "caseload", "casework", "granted")]


def test_not_built_is_503(api: Api) -> None:
    response = get(api, PATH, CM, PURPOSE)
    assert response.status_code == 503 and response.json()["type"].endswith("read-model-not-built")
