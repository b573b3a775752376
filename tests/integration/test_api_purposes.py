"""ACCESS-PURPOSE over HTTP on real PostgreSQL: a read is granted only for a purpose the caller's relationship may
state (domain.md §8.3 item 3, purpose-bound access), so the read-access log never records a false "why". Each
refusal is a 403 naming the header and the rule, and a refused row of the log; a right purpose is granted."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.values import Actor, Role
from services.casework.read_log import Outcome
from services.infra.postgres_env import PgTarget
from tests.integration.test_api_commands import CHILD, CM, COORD, LEAD, MUM, Api, auth
from tests.integration.test_api_queries import SUPERVISOR, api, build_read_models, get, team_case

__all__ = ["api", "team_case"]  # fixtures

MOTHER, YOUNG_PERSON = Actor(MUM, Role.PARENT), Actor(CHILD, Role.YOUNG_PERSON)


def refused_rows(api: Api) -> list[dict[str, object]]:
    svc = api.client.app.state.services  # type: ignore[attr-defined]
    return [row for row in svc.read_log.entries(outcome=Outcome.REFUSED, limit=100_000)
            if str(row["reason"]).startswith("ACCESS-PURPOSE")]


@pytest.mark.parametrize(("path", "actor", "wrong", "right"), [
    ("/v1/cases/{case}", MOTHER, "supervision", "own_case"),
    ("/v1/cases/{case}", MOTHER, "casework", "complaint"),
    ("/v1/cases/{case}", YOUNG_PERSON, "oversight", "own_case"),
    ("/v1/cases/{case}", COORD, "own_case", "casework"),
    ("/v1/cases/{case}", CM, "supervision", "complaint"),
    ("/v1/audit/cases/{case}/trail", SUPERVISOR, "own_case", "supervision"),
    ("/v1/audit/cases/{case}/trail", SUPERVISOR, "casework", "complaint"),
    ("/v1/me/caseload", COORD, "own_case", "casework"),
    ("/v1/dashboards/plans-due", LEAD, "supervision", "oversight"),
    ("/v1/dashboards/plans-due", LEAD, "complaint", "casework"),
    ("/v1/cases/{case}", LEAD, "oversight", "casework"),
    ("/v1/cases/{case}/people/" + MUM, LEAD, "oversight", "casework"),
    ("/v1/audit/deadline-breaches", SUPERVISOR, "own_case", "supervision"),
    ("/v1/cases/{case}/people/" + MUM, MOTHER, "supervision", "own_case"),
    ("/v1/cases/{case}/people/" + MUM, COORD, "own_case", "casework"),
], ids=lambda value: value if isinstance(value, str) and "/" not in value else None)
def test_a_read_is_granted_only_for_a_purpose_the_callers_relationship_may_state(
        api: Api, pg_schema: PgTarget, team_case: UUID, path: str, actor: Actor, wrong: str, right: str) -> None:
    build_read_models(api, pg_schema)
    stored = api.client.put(f"/v1/cases/{team_case}/people/{MUM}", json={"email": "mum@example.is"},
                            headers=auth(COORD))
    assert stored.status_code == 204, stored.text
    url, before = path.format(case=team_case), len(refused_rows(api))
    refused = get(api, url, actor, {"X-Purpose": wrong})
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert (problem["rule_id"], problem["field"]) == ("ACCESS-PURPOSE", "X-Purpose")
    assert wrong in problem["detail"] and right in problem["remedy"]
    (row,) = refused_rows(api)[before:]
    assert (row["subject"], row["purpose"], row["outcome"]) == (actor.person_ref, wrong, "refused")
    granted = get(api, url, actor, {"X-Purpose": right})
    assert granted.status_code == 200, granted.text


def test_a_purpose_refusal_tells_nothing_to_one_who_may_not_see_the_case(api: Api, team_case: UUID) -> None:
    """Relationships are decided first: a stranger stating any purpose gets the answer of a missing case."""
    stranger = Actor("person:coord-is-9", Role.COORDINATOR, "org:school-rvk-9")
    for purpose in ("own_case", "casework", "supervision"):
        assert get(api, f"/v1/cases/{team_case}", stranger, {"X-Purpose": purpose}).status_code == 404


@pytest.mark.parametrize("header", ["X-Purpose", "If-Match", "Occurred-At", "Idempotency-Key", "Authorization"])
def test_a_single_valued_header_sent_twice_is_refused_naming_it(api: Api, team_case: UUID, header: str) -> None:
    """Found by a black-box probe: with two ``X-Purpose`` headers the first one won, whatever the second said."""
    token = auth(CM)["Authorization"]
    value = {"Authorization": token, "X-Purpose": "casework", "If-Match": '"12"', "Occurred-At": "2024-01-02T10:00:00Z",
             "Idempotency-Key": "key-1"}[header]
    headers = [(name, v) for name, v in (("Authorization", token), ("X-Purpose", "casework")) if name != header]
    headers += [(header, value), (header, value)]
    version = api.app.get_case(team_case).version
    for path in (f"/v1/cases/{team_case}", f"/v1/cases/{team_case}/services"):
        answer = (api.client.get(path, headers=headers) if path.endswith(str(team_case)) else
                  api.client.post(path, headers=headers, json={"service_id": "svc-twice", "provider_org_ref": "x"}))
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"] == [{"field": header, "rule": "sent more than once; send it once"}]
    assert api.app.get_case(team_case).version == version
