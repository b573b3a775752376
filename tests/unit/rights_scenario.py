"""One Icelandic case on which every right of its data subjects is exercised, as facts (domain.personal_data):
shared by the contract tests (every fact type published) and the rights' own unit tests."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from contracts import commands as c
from domain.personal_data import ExportFormat
from domain.values import Actor, Role
from services.casework.application import Casework, CommandMeta
from services.walkthrough import START, ensure_institution

COORD, SCHOOL, MUNI = "person:coord-pd-1", "org:school-pd-1", "muni:reykjavik"
CHILD, MUM, DAD = "person:child-pd-1", "person:parent-pd-1", "person:parent-pd-2"
LEAD = Actor("person:lead-rvk", Role.MUNICIPALITY_LEAD, None, MUNI)
STAFF = Actor("person:privacy-desk-rvk", Role.MUNICIPAL_STAFF, None, MUNI)
COORDINATOR = Actor(COORD, Role.COORDINATOR, SCHOOL, None)
MOTHER = Actor(MUM, Role.PARENT, None, None)
CLOSED_DAY = 10


def at(actor: Actor, day: int) -> CommandMeta:
    return CommandMeta(actor, START + timedelta(days=day), "rights-scenario")


def open_rights_case(app: Casework, child: str = CHILD, parents: tuple[str, ...] = (MUM, DAD)) -> UUID:
    ensure_institution(app, SCHOOL, "primary_school", MUNI, "IS", COORD, at(LEAD, 0))
    return app.register_contact(c.RegisterContact(
        child_ref=child, parent_refs=parents, birth_date=date(2012, 5, 5), municipality_ref=MUNI,
        coordinator_ref=COORD, coordinator_org_ref=SCHOOL, life_stage="primary",
        conflict_of_interest_declared_none=True), at(COORDINATOR, 1)).case_id


def rights_scenario(app: Casework) -> UUID:
    """Erasure asked and refused under the archives duty, a restriction placed and lifted, a rectification, an
    identity protected and unprotected, a subject access export, then closure and archiving after retention."""
    case_id = open_rights_case(app)
    app.receive_erasure_request(c.ReceiveErasureRequest(case_id=case_id, request_id="erasure-1", subject_ref=MUM),
                                at(MOTHER, 2))
    app.decide_erasure_request(c.DecideErasureRequest(case_id=case_id, request_id="erasure-1", outcome="refused",
                                                      basis="archive_duty"), at(LEAD, 3))
    app.restrict_processing(c.RestrictProcessing(case_id=case_id, subject_ref=CHILD, ground="accuracy_contested"),
                            at(STAFF, 4))
    app.rectify_data(c.RectifyData(case_id=case_id, subject_ref=CHILD, superseded_ref="doc:contact-note-pd-1",
                                   replacement_ref="doc:contact-note-pd-1-corrected"), at(COORDINATOR, 5))
    app.lift_processing_restriction(c.LiftProcessingRestriction(case_id=case_id, subject_ref=CHILD), at(STAFF, 6))
    app.protect_identity(c.ProtectIdentity(case_id=case_id, subject_ref=CHILD), at(STAFF, 7))
    app.lift_identity_protection(c.LiftIdentityProtection(case_id=case_id, subject_ref=CHILD), at(LEAD, 8))
    app.record_subject_access_export(c.SubjectAccessRequest(
        case_id=case_id, request_id="sar-1", subject_ref=MUM, recipient_ref=MUM), at(MOTHER, 9),
        export_format=ExportFormat.JSON, content_sha256="0" * 64)
    app.close_case(c.CloseCase(case_id=case_id, closure_reason="no_further_need"), at(COORDINATOR, CLOSED_DAY))
    app.archive_case(c.ArchiveCase(case_id=case_id), at(LEAD, CLOSED_DAY + app.legal_settings.
                                                        active_retention_days_after_closure))
    return case_id
