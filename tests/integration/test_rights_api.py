"""The data subject's rights over HTTP on real PostgreSQL: a subject access export of the walkthrough's (demo)
child holds their data and none of another family's, and is recorded (fact, read-access log, export log); the
erasure, restriction, protection and archiving commands answer with their rule ids."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from domain.values import Actor, Jurisdiction, Role
from services.api.app import create_app
from services.casework.application import Casework
from services.infra.postgres_env import PgTarget
from services.vault import Keyring, PersonalField
from services.walkthrough import iceland_lifecycle, norway_lifecycle
from tests.integration.test_api_commands import SETTINGS, auth, reading
from tests.unit.test_contracts import domicile_scenario

CHILD, MUM, DAD = "person:child-is-1", "person:parent-is-1", "person:parent-is-2"
MOTHER = Actor(MUM, Role.PARENT)
LEAD = Actor("person:lead-rvk", Role.MUNICIPALITY_LEAD, "org:town-hall-rvk", "muni:reykjavik")
STAFF = Actor("person:privacy-rvk", Role.MUNICIPAL_STAFF, "org:town-hall-rvk", "muni:reykjavik")
SUPERVISOR = Actor("person:gev-1", Role.SUPERVISOR, "org:gev", None, Jurisdiction.ICELAND)
OTHER_FAMILIES = ("person:child-no-1", "person:parent-no-1", "person:child-is-9", "person:parent-is-9")


@dataclass
class World:
    client: TestClient
    app: Casework
    case_id: UUID

    def services(self) -> Any:
        return self.client.app.state.services  # type: ignore[attr-defined]


@pytest.fixture
def world(pg_schema: PgTarget) -> Iterator[World]:
    app = Casework(pg_schema.eventsourcing_env())
    try:
        with TestClient(create_app(app, SETTINGS, vault_keys=Keyring.generated())) as client:
            case_id = iceland_lifecycle(app)
            norway_lifecycle(app)
            domicile_scenario(app)
            vault = client.app.state.services.vault.vault  # type: ignore[attr-defined]
            vault.put_fields(CHILD, {PersonalField.NAME: "Anna Sigurðardóttir"}, case_id=case_id)
            vault.put_fields(MUM, {PersonalField.NAME: "Guðrún Jónsdóttir", PersonalField.EMAIL: "gudrun@example.is"},
                             case_id=case_id)
            vault.put_fields(DAD, {PersonalField.NAME: "Sigurður Pálsson"}, case_id=case_id)
            vault.put_fields("person:child-no-1", {PersonalField.NAME: "Ola Nordmann"})  # (another case: any scope)
            vault.put_fields("person:parent-is-9", {PersonalField.NAME: "Björk Halldórsdóttir"})
            vault.put_document("doc:anna-drawing-1", CHILD, b"Anna's drawing of home", case_id=case_id)
            yield World(client, app, case_id)
    finally:
        app.close()


def _export(world: World, actor: Actor, subject: str, recipient: str, fmt: str = "json") -> Any:
    return world.client.post(f"/v1/cases/{world.case_id}/subject-access-exports", headers=auth(actor), json={
        "request_id": "sar-1", "subject_ref": subject, "recipient_ref": recipient, "export_format": fmt})


def test_a_demo_childs_export_holds_their_data_and_none_of_another_familys_and_is_recorded(world: World) -> None:
    answer = _export(world, MOTHER, CHILD, MUM)
    assert answer.status_code == 200, answer.text
    text = answer.text
    assert "Anna Sigurðardóttir" in text and "Anna's drawing of home" in text and CHILD in text
    assert "redacted:third_party" in text and "Sigurður" not in text and DAD not in text
    for other in (*OTHER_FAMILIES, "Ola Nordmann", "Björk"):
        assert other not in text
    digest = hashlib.sha256(answer.content).hexdigest()
    assert answer.headers["X-Content-SHA256"] == digest
    fact: Any = list(world.app.events.get(world.case_id))[-1]
    assert (type(fact).__name__, fact.subject_ref, fact.recipient_ref, fact.content_sha256) == (
        "SubjectAccessExported", CHILD, MUM, digest)
    svc = world.services()
    reads = [r for r in svc.read_log.entries(case_id=world.case_id) if r["resource"] == "subject_access_export"]
    assert [(r["subject"], r["outcome"]) for r in reads] == [(MUM, "granted")]
    [row] = svc.exports.entries(case_id=world.case_id)
    assert (row["kind"], row["recipient_ref"], row["data_subject_ref"], row["content_sha256"], row["rule_id"]) == (
        "subject_access", MUM, CHILD, digest, "ACCESS-PRIV-7")
    log = world.client.get("/v1/audit/export-log", headers=auth(SUPERVISOR))
    assert log.status_code == 200 and [e["content_sha256"] for e in log.json()] == [digest]
    assert world.client.get("/v1/audit/export-log", headers=auth(MOTHER)).json()["rule_id"] == "ACCESS-PRIV-9"


def test_the_html_export_is_a_readable_page_and_refusals_store_nothing(world: World) -> None:
    page = _export(world, STAFF, MUM, MUM, "html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Guðrún Jónsdóttir" in page.text and "What the municipality holds about you" in page.text
    version = world.app.get_case(world.case_id).version
    refused = _export(world, MOTHER, DAD, MUM)
    assert refused.status_code == 403 and refused.json()["rule_id"] == "ACCESS-PRIV-SELF"
    stranger = Actor("person:parent-no-1", Role.PARENT)
    assert _export(world, stranger, "person:parent-no-1", "person:parent-no-1").status_code == 404
    wrong = _export(world, STAFF, MUM, DAD)
    assert wrong.status_code == 409 and wrong.json()["rule_id"] == "PRIV-10"
    assert world.app.get_case(world.case_id).version == version
    assert len(world.services().exports.entries(case_id=world.case_id)) == 1


def _post(world: World, path: str, body: dict[str, Any], actor: Actor) -> Any:
    return world.client.post(f"/v1/cases/{world.case_id}/{path}", json=body, headers=auth(actor))


def test_erasure_is_refused_under_the_archives_duty_and_restriction_holds_back_commands(world: World) -> None:
    assert _post(world, "erasure-requests", {"request_id": "e-1", "subject_ref": MUM}, MOTHER).status_code == 200
    granted = _post(world, "erasure-requests/decisions", {"request_id": "e-1", "outcome": "granted",
                                                          "basis": "outside_archives_duty"}, LEAD)
    assert granted.status_code == 409 and granted.json()["rule_id"] == "PRIV-4"
    refused = _post(world, "erasure-requests/decisions", {"request_id": "e-1", "outcome": "refused",
                                                          "basis": "archive_duty"}, LEAD)
    assert refused.status_code == 200
    vault = world.services().vault.vault
    assert not vault.is_shredded(MUM)
    assert _post(world, "processing-restrictions", {"subject_ref": CHILD, "ground": "accuracy_contested"},
                 STAFF).status_code == 200
    held = _post(world, "domicile-changes", {"to_municipality_ref": "muni:kopavogur"},
                 Actor("person:coord-is-1", Role.COORDINATOR, "org:school-rvk-1"))
    assert held.status_code == 409 and held.json()["rule_id"] == "PRIV-5"
    too_early = _post(world, "archiving", {}, LEAD)
    assert too_early.status_code == 409 and too_early.json()["rule_id"] == "PRIV-9"


def test_a_protected_child_is_shown_only_to_those_who_must_see_it(world: World) -> None:
    assert _post(world, "identity-protections", {"subject_ref": CHILD}, STAFF).status_code == 200
    seen_by_staff = world.client.get(f"/v1/cases/{world.case_id}", headers=reading(STAFF)).json()
    seen_by_lead = world.client.get(f"/v1/cases/{world.case_id}", headers=reading(LEAD)).json()
    seen_by_mum = world.client.get(f"/v1/cases/{world.case_id}", headers=reading(MOTHER)).json()
    assert seen_by_staff["child_ref"] == "person:protected" and seen_by_mum["child_ref"] == "person:protected"
    assert seen_by_lead["child_ref"] == CHILD and seen_by_staff["parent_refs"] == [MUM, DAD]
    child = Actor(CHILD, Role.YOUNG_PERSON)
    assert world.client.get(f"/v1/cases/{world.case_id}", headers=reading(child)).json()["child_ref"] == CHILD
