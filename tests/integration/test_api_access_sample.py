"""A real-PostgreSQL, HTTP sample of the authorization matrix (the whole matrix runs in memory in
tests/unit/test_access_matrix.py): the same cast and stories, stored in PostgreSQL through ``Casework``, then
commands sent through the API with each caller's token. Refused exactly where the model says (404 for a case
the caller may not see, 403 naming the rule otherwise), and every refusal stores nothing."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from domain import access
from domain.values import Jurisdiction
from services.api.app import create_app
from services.casework.application import Casework
from services.infra.postgres_env import PgTarget
from tests.integration.test_api_attacks import store_bytes
from tests.integration.test_api_commands import PATHS, SETTINGS, auth
from tests.unit import access_cast as cast
from tests.unit.test_access_matrix import BUILDERS, CALLERS, expected_relations

SAMPLE = {Jurisdiction.ICELAND: ("RecordChildViews", "RecordService", "RecordComplaint", "AppointCaseManager"),
          Jurisdiction.NORWAY: ("IssueCoordinationInstruction", "RecordConsent", "AssessEligibility")}
"""Commands whose success does not change who is related to the case, so one story serves every caller."""
CASES = [(j, w) for j in SAMPLE for w in (False, True)]


@pytest.fixture
def stored(pg_schema: PgTarget) -> Iterator[Casework]:
    app = Casework(pg_schema.eventsourcing_env())
    try:
        yield app
    finally:
        app.close()


@pytest.mark.parametrize(("jurisdiction", "withdrawn"), CASES,
                         ids=[f"{j.value}-{'withdrawn' if w else 'active'}" for j, w in CASES])
def test_http_refuses_exactly_where_the_access_model_says(stored: Casework, jurisdiction: Jurisdiction,
                                                          withdrawn: bool) -> None:
    story = cast.iceland if jurisdiction is Jurisdiction.ICELAND else cast.norway
    case_id = story(stored, withdrawn=withdrawn)
    unlimited = SETTINGS.model_copy(update={"rate_limit": "1000000/minute"})
    with TestClient(create_app(stored, unlimited)) as client:
        for name in SAMPLE[jurisdiction]:
            rule = access.MAY_ISSUE[jurisdiction][name]
            for caller in CALLERS[jurisdiction]:
                held = expected_relations(caller, withdrawn)
                command = BUILDERS[jurisdiction][name](case_id, caller.actor)
                before = store_bytes(stored)
                response = client.post(PATHS[type(command)].replace("{case_id}", str(case_id)),
                                       json=command.model_dump(mode="json", exclude={"case_id"}),
                                       headers=auth(caller.actor))
                where: Any = (name, caller.label, sorted(held), response.status_code, response.text)
                if rule.may & held:
                    assert response.status_code not in (401, 403, 404), where
                    continue
                assert response.status_code == (403 if held else 404), where
                if held:
                    assert response.json()["rule_id"] == rule.rule_id, where
                assert store_bytes(stored) == before, where
