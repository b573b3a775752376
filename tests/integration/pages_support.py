"""Helpers for the page tests: a browser-like client per person (its own cookies), the development sign-in, the
CSRF token of a rendered page, and the read-access log."""

from __future__ import annotations

import re
import warnings
from typing import Any
from uuid import UUID

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from domain.values import Actor

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def browser(client: TestClient) -> TestClient:
    """Another person's browser on the same app (its own cookie jar); the app is already started."""
    return TestClient(client.app, base_url="http://testserver", follow_redirects=False)


def sign_in(client: TestClient, actor: Actor) -> TestClient:
    """Sign ``actor`` in on a fresh browser through the development sign-in form."""
    person = browser(client)
    page = person.get("/sign-in")
    assert page.status_code == 200, page.text
    answer = person.post("/sign-in", data={
        "csrf_token": csrf_of(page.text), "role": actor.role.value, "person_ref": actor.person_ref,
        "org_ref": actor.org_ref or "", "municipality_ref": actor.municipality_ref or "",
        "jurisdiction": "" if actor.jurisdiction is None else actor.jurisdiction.value})
    assert answer.status_code == 303, answer.text
    return person


def read_log(app: Any, case_id: UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = app.state.services.read_log.entries(case_id=case_id)
    return rows
