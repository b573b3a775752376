"""The data subject's rights on a case record, as rules (PRIV-2 … PRIV-9; PRIV-1 is the grammar, domain.privacy).

Where the facts live (a design decision, docs/privacy.md "Rights as facts"): on the **case** itself, not on an
aggregate of their own. The case is the record the archives duty is about (domain.md §8.2: Iceland's case records
may not be destroyed without the National Archivist's permission), its controller is the domicile municipality,
and the access model already decides by the caller's relationship to it. A data subject is the case's child or one
of its parents; a subject on several episodes makes (or is answered in) one request per case record, linked by the
``request_id`` they share. Every right is a fact appended to the case's history; nothing is ever edited:

* erasure (GDPR Art. 17): ``erasure_request_received`` → ``erasure_request_decided``, refused under the archives
  duty (Art. 17(3)(b)) or granted (the application then shreds the subject's vault key, services/vault);
* restriction (Art. 18): ``processing_restricted`` / ``processing_restriction_lifted``; while it stands the case
  takes no new facts but the rights themselves and complaints (Art. 18(2): legal claims);
* rectification (Art. 16): ``data_rectified`` names the document that was wrong and the one that replaces it
  (a compensating fact: the wrong one stays in history, marked superseded);
* protected identity: ``identity_protected`` / ``identity_protection_lifted`` (Primero's ``hidden_name``);
* archiving: ``case_archived`` once the case has been closed for its retention period; read models forget;
* subject access (Art. 15): ``subject_access_exported`` records each export and its recipient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from enum import StrEnum

from domain.errors import RuleViolation
from domain.legal_settings import LegalSettings


class ErasureOutcome(StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"


class ErasureBasis(StrEnum):
    """Why an erasure request was decided so (domain.md §8.2)."""

    ARCHIVE_DUTY = "archive_duty"
    """Refused: public records may not be destroyed without the National Archivist's permission (IS Act 77/2014;
    GDPR Art. 17(3)(b))."""
    LEGAL_OBLIGATION = "legal_obligation"
    """Refused: the processing is still needed for a legal obligation or a public task (Art. 17(3)(b))."""
    OUTSIDE_ARCHIVES_DUTY = "outside_archives_duty"
    """Granted: the data is not a public record (allowed only where ``LegalSettings`` says case records are not)."""
    REQUEST_LED_NOWHERE = "request_led_nowhere"
    """Granted: the family withdrew before integration began, so no case record beyond the contact exists."""


REFUSAL_BASES = frozenset({ErasureBasis.ARCHIVE_DUTY, ErasureBasis.LEGAL_OBLIGATION})
GRANT_BASES = frozenset({ErasureBasis.OUTSIDE_ARCHIVES_DUTY, ErasureBasis.REQUEST_LED_NOWHERE})


class RestrictionGround(StrEnum):
    """GDPR Art. 18(1) (a)-(d)."""

    ACCURACY_CONTESTED = "accuracy_contested"
    UNLAWFUL_PROCESSING = "unlawful_processing"
    NEEDED_FOR_LEGAL_CLAIMS = "needed_for_legal_claims"
    OBJECTION_PENDING = "objection_pending"


class ExportFormat(StrEnum):
    JSON = "json"
    HTML = "html"


ENUM_TYPES = (ErasureOutcome, ErasureBasis, RestrictionGround, ExportFormat)
"""The rights' vocabularies, stored in facts (the event store's transcoder registers each)."""

RIGHTS_COMMANDS = frozenset({
    "ReceiveErasureRequest", "DecideErasureRequest", "RestrictProcessing", "LiftProcessingRestriction",
    "RectifyData", "ProtectIdentity", "LiftIdentityProtection", "ArchiveCase", "SubjectAccessRequest",
})
"""The commands of the data subject's rights: the ones a restriction or an archived case still accepts."""
LEGAL_CLAIM_COMMANDS = frozenset({"RecordComplaint", "RecordComplaintOutcome", "ReceiveComplaint",
                                  "ReconsiderComplaint", "ForwardComplaint", "RecordStatsforvalterenDecision"})
"""Complaints are legal claims (Art. 18(2)): a restriction does not stop them."""


def require_subject_of_case(subject_ref: str, child_ref: str, parent_refs: Iterable[str]) -> None:
    """PRIV-2. A right is exercised by (or for) a data subject of the case: its child or one of its parents."""
    if subject_ref != child_ref and subject_ref not in tuple(parent_refs):
        raise RuleViolation("PRIV-2", f"{subject_ref} is neither the child nor a parent of this case.",
                            remedy="Name the child or one of the parents the case records.")


def require_new_erasure_request(request_id: str, known: Iterable[str]) -> None:
    """PRIV-3. Each erasure request has its own id on the case."""
    if request_id in tuple(known):
        raise RuleViolation("PRIV-3", f"Erasure request {request_id} is already on this case.",
                            remedy="Use a new request id for a new request.")


def require_open_erasure_request(request_id: str, pending: Mapping[str, str]) -> str:
    """PRIV-3. An erasure request is decided once, after it was received; returns the request's subject."""
    if request_id not in pending:
        raise RuleViolation("PRIV-3", f"No undecided erasure request {request_id} on this case.",
                            remedy="Record the request first (erasure_request_received), and decide it once.")
    return pending[request_id]


def require_erasure_basis(outcome: ErasureOutcome, basis: ErasureBasis, *, basis_withdrawn: bool,
                          settings: LegalSettings) -> None:
    """PRIV-4. A decision states a basis of its own kind, and a grant is lawful only where the archives duty does
    not cover the record (domain.md §8.2): a request that led nowhere (the family withdrew its basis), or a
    municipality whose ``LegalSettings`` say its case records are outside the duty."""
    allowed = REFUSAL_BASES if outcome is ErasureOutcome.REFUSED else GRANT_BASES
    if basis not in allowed:
        raise RuleViolation("PRIV-4", f"An erasure request {outcome.value} cannot rest on {basis.value}.",
                            remedy=f"Use one of: {', '.join(sorted(b.value for b in allowed))}.")
    if basis is ErasureBasis.REQUEST_LED_NOWHERE and not basis_withdrawn:
        raise RuleViolation("PRIV-4", "The case's basis has not been withdrawn: the request did not lead nowhere.",
                            remedy="Refuse under the archives duty (archive_duty).")
    if basis is ErasureBasis.OUTSIDE_ARCHIVES_DUTY and settings.case_records_under_archives_duty:
        raise RuleViolation("PRIV-4", "Case records fall under the archives duty (Act 77/2014): they may not be "
                            "erased without the National Archivist's permission.",
                            remedy="Refuse under archive_duty, or configure LegalSettings after legal review.")


def require_processing_allowed(command: str, restricted: Iterable[str], archived: bool) -> None:
    """PRIV-5. While processing is restricted (Art. 18) the case takes only the rights' own facts and complaints;
    an archived case takes only the rights' facts (its active-system processing has ended, domain.md §8.2)."""
    if command in RIGHTS_COMMANDS:
        return
    if archived:
        raise RuleViolation("PRIV-5", f"{command} is not allowed: the case is archived.",
                            remedy="An archived case is kept as a record; only the data subject's rights apply.")
    subjects = sorted(restricted)
    if subjects and command not in LEGAL_CLAIM_COMMANDS:
        raise RuleViolation("PRIV-5", f"{command} is not allowed while processing of {', '.join(subjects)} is "
                            "restricted (GDPR Art. 18).",
                            remedy="Lift the restriction first (a complaint may still be recorded).")


def require_restriction_change(subject_ref: str, restricted: Iterable[str], *, restrict: bool) -> None:
    """PRIV-6. A restriction is placed on a subject not already restricted, and lifted only where it stands."""
    held = subject_ref in tuple(restricted)
    if restrict and held:
        raise RuleViolation("PRIV-6", f"Processing of {subject_ref} is already restricted.", remedy="Nothing to do.")
    if not restrict and not held:
        raise RuleViolation("PRIV-6", f"Processing of {subject_ref} is not restricted.", remedy="Nothing to lift.")


def require_protection_change(subject_ref: str, protected: Iterable[str], *, protect: bool) -> None:
    """PRIV-7. An identity is protected once, and its protection lifted only where it stands."""
    held = subject_ref in tuple(protected)
    if protect and held:
        raise RuleViolation("PRIV-7", f"{subject_ref}'s identity is already protected.", remedy="Nothing to do.")
    if not protect and not held:
        raise RuleViolation("PRIV-7", f"{subject_ref}'s identity is not protected.", remedy="Nothing to lift.")


def require_rectification(superseded_ref: str, replacement_ref: str, superseded: Iterable[str]) -> None:
    """PRIV-8. Rectification replaces a document by another (a compensating fact); a document already superseded
    is not superseded again (rectify its replacement instead), and never by itself."""
    if superseded_ref == replacement_ref:
        raise RuleViolation("PRIV-8", "A document cannot replace itself.", remedy="Name the corrected document.")
    if superseded_ref in tuple(superseded):
        raise RuleViolation("PRIV-8", f"{superseded_ref} was already superseded.",
                            remedy="Rectify the document that replaced it.")


def archive_due_on(closed_on: date, settings: LegalSettings) -> date:
    """The first day a closed case may be archived: its closure day plus the retention period."""
    return closed_on + timedelta(days=settings.active_retention_days_after_closure)


def require_archivable(closed_on: date | None, archived: bool, today: date, settings: LegalSettings) -> None:
    """PRIV-9. Only a closed case is archived, once, and only after its retention period in the active system
    (``LegalSettings.active_retention_days_after_closure``)."""
    if archived:
        raise RuleViolation("PRIV-9", "The case is already archived.", remedy="Nothing to do.")
    if closed_on is None:
        raise RuleViolation("PRIV-9", "An open case cannot be archived.", remedy="Close the case first.")
    due = archive_due_on(closed_on, settings)
    if today < due:
        raise RuleViolation("PRIV-9", f"The case's retention period in the active system runs until {due}.",
                            remedy=f"Archive it on or after {due.isoformat()}.")


def require_lawful_recipient(recipient_ref: str, subject_ref: str, child_ref: str, parent_refs: Iterable[str]) -> None:
    """PRIV-10. A subject access export goes to the subject, or, for the child, to one of its parents (who hold
    parental responsibility): never to another person (GDPR Art. 15; a third party asks under its own right)."""
    if recipient_ref == subject_ref or (subject_ref == child_ref and recipient_ref in tuple(parent_refs)):
        return
    raise RuleViolation("PRIV-10", f"A subject access export about {subject_ref} cannot go to {recipient_ref}.",
                        remedy="Send it to the subject (or, for the child, to a parent of the case).")
