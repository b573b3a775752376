"""The data subject's rights as facts of the case (domain.personal_data PRIV-2..10, domain.access ACCESS-PRIV-n):
each rule refusing, each fact recorded, and what a restriction or an archived case still allows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from contracts import commands as c
from domain.access import AccessDenied
from domain.errors import RuleViolation
from domain.legal_settings import LegalSettings
from domain.personal_data import ExportFormat
from domain.values import Actor, Role
from services.casework.application import Casework
from services.casework.errors import CaseNotFound
from services.walkthrough import START
from tests.unit.rights_scenario import (
    CHILD,
    CLOSED_DAY,
    COORDINATOR,
    DAD,
    LEAD,
    MOTHER,
    MUM,
    STAFF,
    at,
    open_rights_case,
    rights_scenario,
)
from tests.unit.test_contracts import MEMORY

FATHER = Actor(DAD, Role.PARENT, None, None)
YOUNG = Actor(CHILD, Role.YOUNG_PERSON, None, None)


class RecordingShredder:
    def __init__(self) -> None:
        self.shredded: list[str] = []

    def shred(self, subject_ref: str) -> None:
        self.shredded.append(subject_ref)


@pytest.fixture
def app() -> Iterator[Casework]:
    yield Casework(env=MEMORY)


def _refused(rule_id: str, call: object) -> None:
    assert callable(call)
    with pytest.raises((RuleViolation, AccessDenied)) as caught:
        call()
    assert getattr(caught.value, "rule_id", None) == rule_id, caught.value


def test_every_right_is_a_fact_and_history_is_never_edited(app: Casework) -> None:
    case_id = rights_scenario(app)
    names = [type(e).__name__ for e in app.events.get(case_id)]
    assert names[-10:] == ["ErasureRequestReceived", "ErasureRequestDecided", "ProcessingRestricted",
                           "DataRectified", "ProcessingRestrictionLifted", "IdentityProtected",
                           "IdentityProtectionLifted", "SubjectAccessExported", "CaseClosed", "CaseArchived"]
    case = app.get_case(case_id)
    assert case.archived_on is not None and case.superseded_doc_refs == ("doc:contact-note-pd-1",)
    assert case.restricted_subjects == () and case.protected_subjects == () and case.pending_erasures() == {}


def test_priv_2_a_right_is_exercised_for_a_subject_of_the_case(app: Casework) -> None:
    case_id = open_rights_case(app)
    _refused("PRIV-2", lambda: app.restrict_processing(c.RestrictProcessing(
        case_id=case_id, subject_ref="person:someone-else", ground="accuracy_contested"), at(STAFF, 2)))


def test_priv_3_an_erasure_request_is_decided_once_after_it_was_received(app: Casework) -> None:
    case_id = open_rights_case(app)
    decide = c.DecideErasureRequest(case_id=case_id, request_id="e-1", outcome="refused", basis="archive_duty")
    _refused("PRIV-3", lambda: app.decide_erasure_request(decide, at(LEAD, 2)))
    app.receive_erasure_request(c.ReceiveErasureRequest(case_id=case_id, request_id="e-1", subject_ref=MUM),
                                at(MOTHER, 2))
    _refused("PRIV-3", lambda: app.receive_erasure_request(c.ReceiveErasureRequest(
        case_id=case_id, request_id="e-1", subject_ref=MUM), at(MOTHER, 2)))
    app.decide_erasure_request(decide, at(LEAD, 3))
    _refused("PRIV-3", lambda: app.decide_erasure_request(decide, at(LEAD, 4)))


def test_priv_4_erasure_of_a_case_record_is_refused_under_the_archives_duty(app: Casework) -> None:
    case_id = open_rights_case(app)
    app.receive_erasure_request(c.ReceiveErasureRequest(case_id=case_id, request_id="e-1", subject_ref=MUM),
                                at(MOTHER, 2))

    def decide(outcome: str, basis: str) -> object:
        return lambda: app.decide_erasure_request(c.DecideErasureRequest(
            case_id=case_id, request_id="e-1", outcome=outcome, basis=basis), at(LEAD, 3))

    _refused("PRIV-4", decide("granted", "archive_duty"))
    _refused("PRIV-4", decide("refused", "outside_archives_duty"))
    _refused("PRIV-4", decide("granted", "outside_archives_duty"))
    _refused("PRIV-4", decide("granted", "request_led_nowhere"))


def test_a_granted_erasure_shreds_the_subject_after_the_decision_is_saved() -> None:
    app = Casework(env=MEMORY, legal_settings=LegalSettings(case_records_under_archives_duty=False))
    app.subject_shredder = shredder = RecordingShredder()
    case_id = open_rights_case(app)
    app.receive_erasure_request(c.ReceiveErasureRequest(case_id=case_id, request_id="e-1", subject_ref=MUM),
                                at(MOTHER, 2))
    app.decide_erasure_request(c.DecideErasureRequest(case_id=case_id, request_id="e-1", outcome="granted",
                                                      basis="outside_archives_duty"), at(LEAD, 3))
    assert shredder.shredded == [MUM]
    assert [type(e).__name__ for e in app.events.get(case_id)][-1] == "ErasureRequestDecided"


def test_without_a_vault_a_granted_erasure_is_kept_pending_not_skipped() -> None:
    app = Casework(env=MEMORY, legal_settings=LegalSettings(case_records_under_archives_duty=False))
    case_id = open_rights_case(app)
    app.receive_erasure_request(c.ReceiveErasureRequest(case_id=case_id, request_id="e-1", subject_ref=DAD),
                                at(FATHER, 2))
    app.decide_erasure_request(c.DecideErasureRequest(case_id=case_id, request_id="e-1", outcome="granted",
                                                      basis="outside_archives_duty"), at(LEAD, 3))
    assert app.pending_shreds == [DAD]


def test_priv_5_a_restriction_holds_back_everything_but_the_rights_and_complaints(app: Casework) -> None:
    case_id = open_rights_case(app)
    app.restrict_processing(c.RestrictProcessing(case_id=case_id, subject_ref=CHILD, ground="objection_pending"),
                            at(STAFF, 2))
    _refused("PRIV-5", lambda: app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id="r-1", requested_by_refs=(MUM,), requester_roles=("parent",), written=True,
        form_doc_ref="doc:form-1"), at(MOTHER, 3)))
    app.record_complaint(c.RecordComplaint(case_id=case_id, complaint_id="gev-1", complainant_ref=MUM,
                                           complainant_capacity="user", subject="other"), at(MOTHER, 3))
    app.protect_identity(c.ProtectIdentity(case_id=case_id, subject_ref=CHILD), at(STAFF, 4))


def test_priv_5_an_archived_case_takes_only_the_rights(app: Casework) -> None:
    case_id = rights_scenario(app)
    _refused("PRIV-5", lambda: app.record_complaint(c.RecordComplaint(
        case_id=case_id, complaint_id="gev-9", complainant_ref=MUM, complainant_capacity="user", subject="other"),
        at(MOTHER, CLOSED_DAY + 400)))
    app.receive_erasure_request(c.ReceiveErasureRequest(case_id=case_id, request_id="e-9", subject_ref=MUM),
                                at(MOTHER, CLOSED_DAY + 400))


def test_priv_6_and_7_restrictions_and_protections_are_placed_once_and_lifted_where_they_stand(app: Casework) -> None:
    case_id = open_rights_case(app)
    lift = c.LiftProcessingRestriction(case_id=case_id, subject_ref=CHILD)
    _refused("PRIV-6", lambda: app.lift_processing_restriction(lift, at(STAFF, 2)))
    restrict = c.RestrictProcessing(case_id=case_id, subject_ref=CHILD, ground="accuracy_contested")
    app.restrict_processing(restrict, at(STAFF, 2))
    _refused("PRIV-6", lambda: app.restrict_processing(restrict, at(STAFF, 3)))
    _refused("PRIV-7", lambda: app.lift_identity_protection(c.LiftIdentityProtection(
        case_id=case_id, subject_ref=MUM), at(LEAD, 3)))
    app.protect_identity(c.ProtectIdentity(case_id=case_id, subject_ref=MUM), at(STAFF, 3))
    _refused("PRIV-7", lambda: app.protect_identity(c.ProtectIdentity(case_id=case_id, subject_ref=MUM),
                                                    at(STAFF, 4)))


def test_priv_8_a_rectification_replaces_a_document_once_and_never_by_itself(app: Casework) -> None:
    case_id = open_rights_case(app)

    def rectify(old: str, new: str) -> object:
        return lambda: app.rectify_data(c.RectifyData(case_id=case_id, subject_ref=CHILD, superseded_ref=old,
                                                      replacement_ref=new), at(COORDINATOR, 3))

    _refused("PRIV-8", rectify("doc:a", "doc:a"))
    app.rectify_data(c.RectifyData(case_id=case_id, subject_ref=CHILD, superseded_ref="doc:a",
                                   replacement_ref="doc:b"), at(COORDINATOR, 2))
    _refused("PRIV-8", rectify("doc:a", "doc:c"))


def test_priv_9_only_a_closed_case_past_its_retention_period_is_archived_once(app: Casework) -> None:
    case_id = open_rights_case(app)
    archive = c.ArchiveCase(case_id=case_id)
    _refused("PRIV-9", lambda: app.archive_case(archive, at(LEAD, 2)))
    app.close_case(c.CloseCase(case_id=case_id, closure_reason="no_further_need"), at(COORDINATOR, 3))
    retention = app.legal_settings.active_retention_days_after_closure
    _refused("PRIV-9", lambda: app.archive_case(archive, at(LEAD, 3 + retention - 1)))
    app.archive_case(archive, at(LEAD, 3 + retention))
    _refused("PRIV-9", lambda: app.archive_case(archive, at(LEAD, 4 + retention)))


def test_priv_10_an_export_goes_to_the_subject_or_for_the_child_to_a_parent(app: Casework) -> None:
    case_id = open_rights_case(app)

    def record(subject: str, recipient: str) -> None:
        app.record_subject_access_export(c.SubjectAccessRequest(
            case_id=case_id, request_id="sar-1", subject_ref=subject, recipient_ref=recipient), at(STAFF, 2),
            export_format=ExportFormat.HTML, content_sha256="a" * 64)

    _refused("PRIV-10", lambda: record(MUM, DAD))
    record(CHILD, DAD)
    record(MUM, MUM)


def test_access_priv_who_may_ask_decide_and_archive(app: Casework) -> None:
    case_id = open_rights_case(app)
    _refused("ACCESS-PRIV-SELF", lambda: app.receive_erasure_request(c.ReceiveErasureRequest(
        case_id=case_id, request_id="e-1", subject_ref=DAD), at(MOTHER, 2)))
    _refused("ACCESS-PRIV-SELF", lambda: app.receive_erasure_request(c.ReceiveErasureRequest(
        case_id=case_id, request_id="e-1", subject_ref=MUM), at(YOUNG, 2)))
    app.receive_erasure_request(c.ReceiveErasureRequest(case_id=case_id, request_id="e-1", subject_ref=CHILD),
                                at(MOTHER, 2))
    _refused("ACCESS-PRIV-2", lambda: app.decide_erasure_request(c.DecideErasureRequest(
        case_id=case_id, request_id="e-1", outcome="refused", basis="archive_duty"), at(STAFF, 3)))
    _refused("ACCESS-PRIV-3", lambda: app.restrict_processing(c.RestrictProcessing(
        case_id=case_id, subject_ref=CHILD, ground="objection_pending"), at(MOTHER, 3)))
    _refused("ACCESS-PRIV-5", lambda: app.protect_identity(c.ProtectIdentity(
        case_id=case_id, subject_ref=CHILD), at(MOTHER, 3)))
    _refused("ACCESS-PRIV-SELF", lambda: app.record_subject_access_export(c.SubjectAccessRequest(
        case_id=case_id, request_id="sar-1", subject_ref=MUM, recipient_ref=CHILD), at(MOTHER, 3),
        export_format=ExportFormat.JSON, content_sha256="a" * 64))
    stranger = Actor("person:parent-of-another", Role.PARENT, None, None)
    with pytest.raises(CaseNotFound):
        app.receive_erasure_request(c.ReceiveErasureRequest(case_id=case_id, request_id="e-2",
                                                            subject_ref="person:parent-of-another"), at(stranger, 3))
    app.close_case(c.CloseCase(case_id=case_id, closure_reason="no_further_need"), at(COORDINATOR, 3))
    late = 3 + app.legal_settings.active_retention_days_after_closure
    _refused("ACCESS-PRIV-6", lambda: app.archive_case(c.ArchiveCase(case_id=case_id), at(COORDINATOR, late)))
    app.archive_case(c.ArchiveCase(case_id=case_id), at(Actor("person:system", Role.SYSTEM), late))


def test_the_retention_period_is_a_legal_setting() -> None:
    app = Casework(env=MEMORY, legal_settings=LegalSettings(active_retention_days_after_closure=0))
    case_id = open_rights_case(app)
    app.close_case(c.CloseCase(case_id=case_id, closure_reason="no_further_need"), at(COORDINATOR, 3))
    app.archive_case(c.ArchiveCase(case_id=case_id), at(LEAD, 3))
    assert app.get_case(case_id).archived_on == (START + timedelta(days=3)).date()
