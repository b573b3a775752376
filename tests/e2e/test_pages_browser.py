"""Each persona in a real headless Chromium (Debian's, driven by Playwright) against a real ``prosperity api``
(uvicorn) on real PostgreSQL: signs in and does its main task; a screenshot of every page visited is written to
``test-artifacts/screens/``. A parent's browser cannot reach another family's case: the same page as a missing
case, and the attempt is in the read-access log."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.pages_server import ARTIFACTS, World, chromium_path, serve
from tests.integration.test_api_commands import COORD, LEAD, NO_MUM, SCHOOL


@pytest.fixture(scope="module")
def world(pg_dsn: str, scratch_dir: Path) -> Iterator[World]:
    yield from serve(pg_dsn, scratch_dir)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, world: World) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-US", base_url=world.base_url)
    external: list[str] = []
    context.on("request", lambda r: None if r.url.startswith((world.base_url, "data:")) else external.append(r.url))
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()
    assert external == [], f"the pages loaded something from elsewhere: {external}"


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def sign_in(page: Page, role: str, person: str, org: str = "", muni: str = "", jurisdiction: str = "") -> None:
    """The development sign-in, by keyboard and labels as a person would fill it."""
    page.goto("/cases/" + str(uuid.uuid4()))
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    shot(page, f"sign-in-{role}")
    page.get_by_label("Role").select_option(role)
    page.get_by_label("Person").fill(person)
    page.get_by_label("Organisation").fill(org)
    page.get_by_label("Municipality").fill(muni)
    page.get_by_label("Jurisdiction").select_option(jurisdiction)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_caseworker_records_a_service_and_sees_a_refusals_remedy(page: Page, world: World) -> None:
    sign_in(page, "coordinator", COORD.person_ref, SCHOOL)
    expect(page.get_by_role("heading", name="My caseload")).to_be_visible()
    expect(page.get_by_role("link", name=str(world.team_case)[:8])).to_be_visible()
    shot(page, "caseworker-1-caseload")

    page.get_by_role("link", name=str(world.team_case)[:8]).click()
    expect(page.get_by_role("heading", name="Services by level")).to_be_visible()
    page.locator("#cmd-record_service summary").click()
    form = page.locator("#cmd-record_service form")
    form.get_by_label("Service id").fill("svc-3")
    form.get_by_label("Provider org").fill(SCHOOL)
    form.get_by_label("Service level").fill("2")
    form.get_by_label("Service type code").fill("tutoring")
    form.get_by_label("Start date").fill("2024-03-01")
    shot(page, "caseworker-2-service-form")
    form.get_by_role("button", name="Record a service").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded: record service")
    expect(page.locator("table.list td", has_text="svc-3")).to_be_visible()
    shot(page, "caseworker-3-service-recorded")

    page.goto(f"/cases/{world.contact_case}")
    page.locator("#cmd-record_service summary").click()
    form = page.locator("#cmd-record_service form")
    form.get_by_label("Service id").fill("svc-1")
    form.get_by_label("Provider org").fill(SCHOOL)
    form.get_by_label("Service level").fill("1")
    form.get_by_label("Service type code").fill("study_support")
    form.get_by_label("Start date").fill("2024-03-01")
    with page.expect_response(re.compile(r"/commands/record_service$")) as answer:
        form.get_by_role("button", name="Record a service").click()
    assert answer.value.status == 409 and answer.value.request.headers.get("hx-request") == "true"
    refusal = page.locator("#cmd-record_service .problem")
    expect(refusal).to_contain_text("[IS-G0]")
    expect(refusal).to_contain_text("needs an active request for integration")
    expect(refusal.locator(".remedy")).to_contain_text("Record the parents' and/or child's written request")
    assert page.url.endswith(f"/cases/{world.contact_case}")  # htmx swapped the form; no navigation
    shot(page, "caseworker-4-refusal-remedy")


def test_parent_reads_the_plan_and_the_complaint_deadline(page: Page, world: World) -> None:
    sign_in(page, "parent", NO_MUM)
    expect(page.get_by_role("heading", name="My case")).to_be_visible()
    shot(page, "parent-1-my-cases")
    page.get_by_role("link", name=re.compile("The case of")).click()
    expect(page.get_by_role("heading", name="The plan")).to_be_visible()
    plan = page.locator("table.plan")
    expect(plan).to_contain_text("Goals, resources and needs")
    expect(plan).to_contain_text("doc:ip-goals")
    expect(plan.locator("tbody tr")).to_have_count(9)
    deadline = page.locator("td.deadline").first
    expect(deadline).to_contain_text("Statsforvalteren")
    expect(deadline).to_contain_text("2024")
    shot(page, "parent-2-plan-and-deadline")
    page.get_by_label("Language").select_option("nb")
    page.get_by_role("button", name="Choose").click()
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    expect(page.get_by_role("heading", name="Planen")).to_be_visible()
    expect(page.locator("table.plan")).to_contain_text("Mål, ressurser og behov")
    expect(page.locator("td.deadline").first).to_contain_text("(2024-")
    shot(page, "parent-3-norsk")


def test_a_parent_cannot_reach_another_familys_case_and_the_attempt_is_logged(page: Page, world: World) -> None:
    sign_in(page, "parent", NO_MUM)
    other = page.goto(f"/cases/{world.team_case}")
    assert other is not None and other.status == 404
    other_body = page.content().replace(str(world.team_case), "ID")  # the page echoes only the path asked for
    shot(page, "parent-4-other-family")
    random_id = uuid.uuid4()
    missing = page.goto(f"/cases/{random_id}")
    assert missing is not None and missing.status == 404
    assert page.content().replace(str(random_id), "ID") == other_body  # nothing tells that the case exists
    with psycopg.connect(world.target.dsn) as conn:
        rows = conn.execute(f'SELECT subject, role, outcome, reason FROM "{world.target.schema}".api_read_log'
                            " WHERE case_id = %s AND subject = %s", (world.team_case, NO_MUM)).fetchall()
    assert rows and all(outcome == "refused" for _, _, outcome, _ in rows), rows
    assert rows[-1][3].startswith("ACCESS-READ-CASE")


def test_supervisor_verifies_a_trail(page: Page, world: World) -> None:
    sign_in(page, "supervisor", "person:sf-1", "org:statsforvalteren", jurisdiction="NO")
    expect(page.get_by_role("heading", name="Oversight")).to_be_visible()
    shot(page, "supervisor-1-oversight")
    page.get_by_role("link", name=str(world.pending_case)[:8]).click()  # drill-down from a §5 question
    expect(page.get_by_role("status")).to_contain_text("Verified")
    expect(page.get_by_role("status")).to_contain_text("1 facts match the event store")
    page.goto(f"/oversight/cases/{world.norway_case}")
    expect(page.get_by_role("status")).to_contain_text("Verified")
    page.get_by_label("Day", exact=True).fill("2024-01-20")
    page.get_by_label("what had happened (occurred)").check()
    page.get_by_role("button", name="Show").click()
    expect(page.locator("dl.facts")).to_contain_text("BarnekoordinatorEligibilityAssessed")
    shot(page, "supervisor-2-trail-verified")


def test_lead_reads_a_dashboard(page: Page, world: World) -> None:
    sign_in(page, "municipality_lead", LEAD.person_ref, LEAD.org_ref or "", LEAD.municipality_ref or "")
    expect(page.get_by_role("heading", name="Dashboard: muni:reykjavik")).to_be_visible()
    levels = page.get_by_role("img", name=re.compile("Services by level"))
    expect(levels).to_be_visible()
    expect(page.locator("figure.chart table.figures").first).to_contain_text("level 3")
    expect(page.get_by_role("img", name=re.compile("Integration funnel"))).to_be_visible()
    shot(page, "lead-1-dashboard")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    text = Path(download.value.path()).read_text()
    assert text.startswith("section,group,measure,value") and "muni:reykjavik" in text
