"""Issue 12's pages over real PostgreSQL: the public "who is my coordinator" page (no sign-in), the family page's
link to it, the caseload's tasks column, and the lead's dashboard with coverage per type and the status report."""

from __future__ import annotations

from uuid import UUID

from domain.values import Actor, Role
from services.infra.postgres_env import PgTarget
from tests.integration.pages_support import browser, csrf_of, sign_in
from tests.integration.test_api_commands import (
    COORD,
    ICELAND_TO_TEAM,
    LEAD,
    MUM,
    SCHOOL,
    Api,
    open_iceland_case,
    run_steps,
)
from tests.integration.test_api_queries import api, build_read_models, team_case

__all__ = ["api", "team_case"]  # fixtures


def test_the_public_page_answers_without_signing_in_and_names_no_one(api: Api, team_case: UUID,
                                                                    pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    anyone = browser(api.client)
    empty = anyone.get("/coordinators")
    assert empty.status_code == 200 and 'name="municipality_ref"' in empty.text
    page = anyone.get("/coordinators", params={"municipality_ref": "muni:reykjavik", "age": "16"},
                      headers={"Accept-Language": "is"})
    assert page.status_code == 200, page.text
    assert 'lang="is"' in page.text and "Hver er tengiliður barnsins míns?" in page.text
    assert f'data-org="{SCHOOL}"' in page.text and "hefur tilnefndan tengilið" in page.text
    assert "person:" not in page.text  # no coordinator's name or reference
    refused = anyone.get("/coordinators", params={"municipality_ref": "Reykjavík", "age": "40"})
    assert refused.status_code == 422
    assert 'id="municipality_ref-error"' in refused.text and 'id="age-error"' in refused.text
    implausible = anyone.get("/coordinators", params={"municipality_ref": "muni:reykjavik", "age": "3",
                                                     "school_status": "secondary"})
    assert implausible.status_code == 422 and "LIFE-2" in implausible.text


def test_the_family_page_links_to_the_lookup_for_its_municipality(api: Api, team_case: UUID,
                                                                  pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    page = sign_in(api.client, Actor(MUM, Role.PARENT)).get(f"/cases/{team_case}")
    assert page.status_code == 200
    assert 'href="/coordinators?municipality_ref=muni%3Areykjavik"' in page.text


def test_the_caseload_page_shows_the_tasks(api: Api, pg_schema: PgTarget) -> None:
    case_id = open_iceland_case(api)
    run_steps(api, case_id, ICELAND_TO_TEAM[:2], 1)  # information shared; the family not contacted yet
    build_read_models(api, pg_schema)
    page = sign_in(api.client, COORD).get("/caseload")
    assert page.status_code == 200 and 'data-task="contact_family"' in page.text


def test_the_leads_dashboard_shows_coverage_and_the_status_report(api: Api, team_case: UUID,
                                                                  pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    lead = sign_in(api.client, LEAD)
    page = lead.get("/dashboard")
    assert page.status_code == 200, page.text
    assert 'id="coverage-table"' in page.text and "secondary school" in page.text and "100.0" in page.text
    assert 'id="status-report-now"' in page.text and "Status report on" in page.text
    sheet = lead.post("/dashboard/status-report.csv", data={"csrf_token": csrf_of(page.text), "year": "2024",
                                                           "half": "1", "recipient_ref": "org:council-rvk"})
    assert sheet.status_code == 200 and "coverage,social_services case_manager,covered,1" in sheet.text
