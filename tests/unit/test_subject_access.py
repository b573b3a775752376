"""Subject access (GDPR Art. 15) in process: the export holds the subject's own data (events and vault), none of
another family's, other people redacted; it is produced only for an authorised request and recorded three times
(the fact, the read-access log, the export log)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from contracts import commands as c
from domain.access import AccessDenied
from domain.errors import RuleViolation
from domain.personal_data import ExportFormat
from domain.values import Actor, Role
from services.casework.application import Casework, CommandMeta
from services.casework.errors import CaseNotFound
from services.casework.export_log import MemoryExportLog
from services.casework.read_log import MemoryReadLog
from services.casework.subject_access import CHILD_VIEWS, STAFF_NOTE, THIRD_PARTY, SubjectAccess
from services.vault import Keyring, MemoryVaultStore, PersonalField, Vault
from tests.unit.rights_scenario import CHILD, COORDINATOR, DAD, MOTHER, MUM, STAFF, at, open_rights_case
from tests.unit.test_contracts import MEMORY

OTHER_CHILD, OTHER_PARENT = "person:child-pd-2", "person:parent-pd-3"


World = tuple[Casework, SubjectAccess, MemoryReadLog, MemoryExportLog, Vault]


@pytest.fixture
def world() -> Iterator[World]:
    app = Casework(env=MEMORY)
    vault = Vault(MemoryVaultStore(), Keyring.generated())
    reads, exports = MemoryReadLog(), MemoryExportLog()
    yield app, SubjectAccess(app, reads, exports, vault), reads, exports, vault


def _two_families(app: Casework, vault: Vault) -> tuple[UUID, UUID]:
    mine = open_rights_case(app)
    theirs = open_rights_case(app, OTHER_CHILD, (OTHER_PARENT,))
    vault.put_fields(MUM, {PersonalField.NAME: "Guðrún Jónsdóttir", PersonalField.EMAIL: "gudrun@example.is"},
                     case_id=mine)
    vault.put_fields(DAD, {PersonalField.NAME: "Sigurður Pálsson"}, case_id=mine)
    vault.put_fields(CHILD, {PersonalField.NAME: "Anna Sigurðardóttir"}, case_id=mine)
    vault.put_fields(OTHER_PARENT, {PersonalField.NAME: "Björk Halldórsdóttir"}, case_id=theirs)
    vault.put_fields(OTHER_CHILD, {PersonalField.NAME: "Bjarni Björksson"}, case_id=theirs)
    vault.put_document("doc:anna-note-1", CHILD, b"Anna likes drawing", case_id=mine)
    vault.put_document("doc:bjarni-note-1", OTHER_CHILD, b"Bjarni's file", case_id=theirs)
    # What the same child has elsewhere: the notifier's directory, and another case's field and document
    vault.put_fields(CHILD, {PersonalField.EMAIL: "anna.directory@example.is"})
    elsewhere = uuid4()
    vault.put_fields(CHILD, {PersonalField.NATIONAL_ID: "150308-2219"}, case_id=elsewhere)
    vault.put_document("doc:anna-elsewhere-1", CHILD, b"Recorded through another case", case_id=elsewhere)
    app.rectify_data(c.RectifyData(case_id=mine, subject_ref=CHILD, superseded_ref="doc:anna-note-0",
                                   replacement_ref="doc:anna-note-1"), at(COORDINATOR, 2))
    return mine, theirs


def test_a_childs_export_holds_their_data_and_none_of_another_familys(world: World) -> None:
    app, sar, reads, exports, vault = world
    mine, _ = _two_families(app, vault)
    request = c.SubjectAccessRequest(case_id=mine, request_id="sar-1", subject_ref=CHILD, recipient_ref=MUM)
    made = sar.export(request, at(STAFF, 3), ExportFormat.JSON)
    text = made.content.decode()
    assert "Anna Sigurðardóttir" in text and "Anna likes drawing" in text and CHILD in text
    for other in ("Bjarni", "Björk", OTHER_CHILD, OTHER_PARENT, "bjarni-note"):
        assert other not in text
    for elsewhere in ("anna.directory", "150308-2219", "anna-elsewhere", "another case"):  # only this case's
        assert elsewhere not in text
    for parent in ("Guðrún", "Sigurður", MUM, DAD):  # the parents are third parties in the child's own export
        assert parent not in text.replace(f'"recipient_ref": "{MUM}"', "")
    assert THIRD_PARTY in text and json.loads(text)["redactions"]["third_party"] >= 2
    fact: Any = list(app.events.get(mine))[-1]
    assert type(fact).__name__ == "SubjectAccessExported"
    assert fact.content_sha256 == hashlib.sha256(made.content).hexdigest()
    assert [(r["resource"], r["outcome"]) for r in reads.rows] == [("subject_access_export", "granted")]
    [row] = exports.rows
    assert (row["kind"], row["recipient_ref"], row["data_subject_ref"], row["content_sha256"]) == (
        "subject_access", MUM, CHILD, hashlib.sha256(made.content).hexdigest())


def test_a_parents_html_export_holds_their_vault_data_and_redacts_the_other_parent(
        world: World) -> None:
    app, sar, _, _, vault = world
    mine, _ = _two_families(app, vault)
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=mine, request_id="r-1", requested_by_refs=(MUM, DAD), requester_roles=("parent",), written=True,
        form_doc_ref="doc:form-1"), at(COORDINATOR, 3))
    made = sar.export(c.SubjectAccessRequest(case_id=mine, request_id="sar-2", subject_ref=MUM, recipient_ref=MUM),
                      at(MOTHER, 4), ExportFormat.HTML)
    page = made.content.decode()
    assert made.media_type.startswith("text/html") and "Guðrún Jónsdóttir" in page and "gudrun@example.is" in page
    assert "Sigurður" not in page and DAD not in page and THIRD_PARTY in page
    assert "<script" not in page


def test_redaction_of_staff_notes_and_child_views_by_field() -> None:
    from services.casework.subject_access import _Redactor

    class _Case:
        child_ref, parent_refs = CHILD, (MUM, DAD)

    redactor = _Redactor(_Case(), MUM)  # type: ignore[arg-type]
    out = redactor.value(None, {"minutes_doc_ref": "doc:m", "child_views_doc_ref": "doc:v", "x": [DAD, CHILD]})
    assert out == {"minutes_doc_ref": STAFF_NOTE, "child_views_doc_ref": CHILD_VIEWS, "x": [THIRD_PARTY, CHILD]}
    assert redactor.withheld_docs == {"doc:m", "doc:v"}


def test_an_export_is_refused_to_anyone_else_and_the_refusal_is_logged_with_no_fact(world: World) -> None:
    app, sar, reads, exports, vault = world
    mine, _ = _two_families(app, vault)
    version = app.get_case(mine).version
    stranger = Actor(OTHER_PARENT, Role.PARENT, None, None)
    with pytest.raises(CaseNotFound):
        sar.export(c.SubjectAccessRequest(case_id=mine, request_id="sar-3", subject_ref=OTHER_PARENT,
                                          recipient_ref=OTHER_PARENT), CommandMeta(stranger))
    with pytest.raises(AccessDenied) as denied:
        sar.export(c.SubjectAccessRequest(case_id=mine, request_id="sar-3", subject_ref=DAD,
                                          recipient_ref=MUM), at(MOTHER, 3))
    assert denied.value.rule_id == "ACCESS-PRIV-SELF"
    with pytest.raises(AccessDenied) as denied:
        sar.export(c.SubjectAccessRequest(case_id=mine, request_id="sar-3", subject_ref=CHILD,
                                          recipient_ref=MUM), at(COORDINATOR, 3))
    assert denied.value.rule_id == "ACCESS-PRIV-7"
    with pytest.raises(RuleViolation) as violated:
        sar.export(c.SubjectAccessRequest(case_id=mine, request_id="sar-3", subject_ref=MUM,
                                          recipient_ref=DAD), at(STAFF, 3))
    assert violated.value.rule_id == "PRIV-10"
    assert app.get_case(mine).version == version and exports.rows == []
    assert [r["outcome"] for r in reads.rows] == ["refused"] * 4
    assert [r["reason"] for r in reads.rows][1:] == ["ACCESS-PRIV-SELF", "ACCESS-PRIV-7", "PRIV-10"]
