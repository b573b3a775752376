"""The vault over HTTP on real PostgreSQL: who may store and read a family member's personal data and a case's
documents (ACCESS-VAULT-n), every attempt in the read-access log, and a shredded subject answering 410."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from contracts import commands as c
from domain import access
from domain.access import VaultAction
from domain.values import Actor, Role
from services.api.app import create_app
from services.casework.application import Casework
from services.infra.postgres_env import PgTarget
from services.vault import Keyring, ShredBasis
from tests.integration.test_api_commands import CHILD, COORD, DAD, LEAD, MUM, NURSE, SETTINGS, Api, Clock, auth, reading
from tests.integration.test_api_commands import open_iceland_case as open_case

MUM_DATA = {"name": "Anna Sigurðardóttir", "national_id": "150378-3319", "email": "anna.sig@example.is"}
MUM_ACTOR = Actor(MUM, Role.PARENT)
DAD_ACTOR = Actor(DAD, Role.PARENT)
CHILD_ACTOR = Actor(CHILD, Role.YOUNG_PERSON)
STRANGER = Actor("person:coord-is-9", Role.COORDINATOR, "org:school-rvk-9")


@pytest.fixture
def api(pg_schema: PgTarget) -> Iterator[Api]:
    app = Casework(pg_schema.eventsourcing_env(), clock=Clock())
    try:
        with TestClient(create_app(app, SETTINGS, vault_keys=Keyring.generated())) as client:
            yield Api(client, app, Clock())
    finally:
        app.close()


def _people(api: Api, case_id: UUID, person: str, actor: Actor, body: dict[str, Any] | None = None) -> Any:
    path = f"/v1/cases/{case_id}/people/{person}"
    if body is None:
        return api.client.get(path, headers=reading(actor))
    return api.client.put(path, json=body, headers=auth(actor))


def _log(api: Api) -> list[dict[str, Any]]:
    svc = api.client.app.state.services  # type: ignore[attr-defined]
    return [r for r in svc.read_log.entries() if str(r["resource"]).startswith("vault/")]


def test_the_coordinator_stores_and_reads_the_familys_personal_data(api: Api) -> None:
    case_id = open_case(api)
    assert _people(api, case_id, MUM, COORD, MUM_DATA).status_code == 204
    found = _people(api, case_id, MUM, COORD)
    assert found.status_code == 200 and found.json() == {"person_ref": MUM, **MUM_DATA, "phone": None,
                                                         "postal_address": None}
    assert [(r["outcome"], r["reason"]) for r in _log(api)] == [
        ("granted", "ACCESS-VAULT-2: coordinator"), ("granted", "ACCESS-VAULT-1: coordinator")]


def test_a_parent_reads_their_own_and_their_childs_data_never_the_other_parents(api: Api) -> None:
    case_id = open_case(api)
    for person in (MUM, DAD, CHILD):
        assert _people(api, case_id, person, COORD, {"name": f"Name of {person[7:]}"}).status_code == 204
    assert _people(api, case_id, MUM, MUM_ACTOR).status_code == 200
    assert _people(api, case_id, CHILD, MUM_ACTOR).json()["name"] == "Name of child-is-1"
    refused = _people(api, case_id, DAD, MUM_ACTOR)
    assert refused.status_code == 403 and refused.json()["rule_id"] == "ACCESS-VAULT-1"
    assert _people(api, case_id, MUM, CHILD_ACTOR).status_code == 403
    assert _log(api)[-1]["outcome"] == "refused" and _log(api)[-1]["subject"] == CHILD


def test_a_parent_corrects_their_own_data_but_not_the_other_parents(api: Api) -> None:
    case_id = open_case(api)
    assert _people(api, case_id, MUM, MUM_ACTOR, {"phone": "+354 555 1234"}).status_code == 204
    refused = _people(api, case_id, DAD, MUM_ACTOR, {"phone": "+354 555 9999"})
    assert refused.status_code == 403 and refused.json()["rule_id"] == "ACCESS-VAULT-2"


def test_a_stranger_and_a_person_outside_the_case_are_answered_not_found(api: Api) -> None:
    case_id = open_case(api)
    _people(api, case_id, MUM, COORD, MUM_DATA)
    assert _people(api, case_id, MUM, STRANGER).status_code == 404
    assert _people(api, case_id, "person:someone-else", COORD).status_code == 404
    assert _people(api, uuid4(), MUM, COORD).status_code == 404
    assert [r["outcome"] for r in _log(api)][-3:] == ["refused"] * 3


def test_a_stranger_learns_neither_whether_the_case_exists_nor_who_is_in_it(api: Api) -> None:
    """Found by a black-box probe: a stranger got "no such person in this case" for a non-member of a real case
    and "no case" otherwise, so it could test case ids and person refs. Now one answer for all three."""
    case_id = open_case(api)
    _people(api, case_id, MUM, COORD, MUM_DATA)
    asked = [(case_id, "person:someone-else"), (case_id, MUM), (uuid4(), MUM)]
    reads = [_people(api, case, person, STRANGER) for case, person in asked]
    writes = [_people(api, case, person, STRANGER, {"email": "x@example.invalid"}) for case, person in asked]
    for answers in (reads, writes):
        assert {(a.status_code, a.json()["detail"]) for a in answers} == {(404, answers[-1].json()["detail"])}
    assert _people(api, case_id, MUM, COORD).json()["email"] == MUM_DATA["email"]  # nothing written


def test_bad_input_names_the_field(api: Api) -> None:
    case_id = open_case(api)
    assert _people(api, case_id, MUM, COORD, {}).json()["errors"][0]["field"] == "body"
    assert _people(api, case_id, MUM, COORD, {"name": "x" * 2001}).status_code == 422
    assert _people(api, case_id, MUM, COORD, {"webhook": "https://x"}).status_code == 422
    bad = api.client.put(f"/v1/cases/{case_id}/documents/doc:plan-1", headers=auth(COORD),
                         json={"media_type": "image/gif", "content_base64": "eA=="})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "media_type"


def test_case_documents_are_stored_by_caseworkers_and_read_by_the_case_and_family(api: Api) -> None:
    case_id = open_case(api)
    text = "Stuðningsáætlun: sérkennsla tvisvar í viku".encode()
    body = {"media_type": "text/plain", "content_base64": base64.b64encode(text).decode()}
    path = f"/v1/cases/{case_id}/documents/doc:plan-1"
    assert api.client.put(path, json=body, headers=auth(COORD)).status_code == 204
    assert api.client.put(path, json=body, headers=auth(MUM_ACTOR)).json()["rule_id"] == "ACCESS-VAULT-4"
    for reader in (COORD, MUM_ACTOR, CHILD_ACTOR):
        found = api.client.get(path, headers=reading(reader))
        assert base64.b64decode(found.json()["content_base64"]) == text
    assert api.client.get(path, headers=reading(NURSE)).status_code == 404  # not on the team
    other = open_case_elsewhere(api)
    assert api.client.get(f"/v1/cases/{other}/documents/doc:plan-1",
                          headers=reading(LEAD)).status_code == 404


def open_case_elsewhere(api: Api) -> UUID:

    opened = api.ok(c.RegisterContact(
        child_ref="person:child-is-2", parent_refs=("person:parent-is-3",), birth_date=date(2008, 1, 5),
        municipality_ref="muni:reykjavik", coordinator_ref=COORD.person_ref, coordinator_org_ref=COORD.org_ref,
        life_stage="secondary", conflict_of_interest_declared_none=True, initiated_by="provider_guidance"), COORD)
    return UUID(opened["case_id"])


def test_a_shredded_subject_answers_gone(api: Api) -> None:
    case_id = open_case(api)
    _people(api, case_id, MUM, COORD, MUM_DATA)
    svc = api.client.app.state.services  # type: ignore[attr-defined]
    svc.vault.shred(LEAD, case_id, MUM, ShredBasis.ERASURE_GRANTED)
    gone = _people(api, case_id, MUM, COORD)
    assert gone.status_code == 410 and gone.json()["rule_id"] == "VAULT-SHRED"
    assert MUM_DATA["name"] not in gone.text
    assert _people(api, case_id, MUM, COORD, MUM_DATA).status_code == 410


def test_only_the_domicile_lead_may_shred(api: Api) -> None:
    case_id = open_case(api)
    svc = api.client.app.state.services  # type: ignore[attr-defined]
    with pytest.raises(access.AccessDenied, match="ACCESS-VAULT-5"):
        svc.vault.shred(COORD, case_id, MUM, ShredBasis.ERASURE_GRANTED)


def test_openapi_publishes_each_vault_operations_rule(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    expected = {("/v1/cases/{case_id}/people/{person_ref}", "get"): VaultAction.READ_PERSONAL_DATA,
                ("/v1/cases/{case_id}/people/{person_ref}", "put"): VaultAction.STORE_PERSONAL_DATA,
                ("/v1/cases/{case_id}/documents/{doc_ref}", "get"): VaultAction.READ_DOCUMENT,
                ("/v1/cases/{case_id}/documents/{doc_ref}", "put"): VaultAction.STORE_DOCUMENT}
    for (path, method), action in expected.items():
        published = spec["paths"][path][method]["x-prosperity-access"]["any"]
        assert published["rule_id"] == access.VAULT[action].rule_id
        assert published["relationships"] == sorted(r.value for r in access.VAULT[action].may)


def test_a_case_opened_for_a_child_of_another_case_reaches_none_of_what_that_case_recorded(api: Api) -> None:
    """The attack of a coordinator elsewhere: open the next episode for a child who has a case, name the same
    parents, and read or overwrite the family's data through it. Personal data is kept per case: the new case sees
    nothing the first recorded, and what it writes changes nothing the first case (or its notices) sees."""
    first = open_case(api)
    assert _people(api, first, MUM, COORD, MUM_DATA).status_code == 204
    other_school = "org:school-rvk-9"
    api.ok(c.RegisterInstitution(org_ref=other_school, institution_type="secondary_school",
                                 municipality_ref="muni:reykjavik", jurisdiction="IS"), LEAD)
    api.ok(c.DesignateCoordinator(org_ref=other_school, person_ref=STRANGER.person_ref), LEAD)
    assert api.client.get(f"/v1/cases/{first}/people/{MUM}", headers=reading(STRANGER)).status_code == 404
    opened = api.ok(c.RegisterContact(
        child_ref=CHILD, episode=2, parent_refs=(MUM, DAD), birth_date=date(2008, 9, 15),
        municipality_ref="muni:reykjavik", coordinator_ref=STRANGER.person_ref, coordinator_org_ref=other_school,
        life_stage="secondary", conflict_of_interest_declared_none=True, initiated_by="provider_guidance"), STRANGER)
    second = UUID(opened["case_id"])

    seen = _people(api, second, MUM, STRANGER)
    assert seen.status_code == 200 and seen.json() == {"person_ref": MUM, "name": None, "national_id": None,
                                                       "email": None, "phone": None, "postal_address": None}
    assert _people(api, second, MUM, STRANGER, {"email": "attacker@example.invalid"}).status_code == 204
    assert _people(api, first, MUM, COORD).json()["email"] == MUM_DATA["email"]  # the first case's data unchanged
    assert _people(api, second, MUM, STRANGER).json()["email"] == "attacker@example.invalid"
