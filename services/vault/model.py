"""What the vault holds, in the vault's own words: a data subject, their personal fields and their documents.

Events and contracts name people and documents by pseudonymous reference only (PRIV-1, domain.md §8.3.1);
the values behind the references live here, each encrypted under its data subject's own key, so destroying
that one key (crypto-shredding, :mod:`services.vault.shred`) makes everything about that subject unreadable
wherever a copy of the ciphertext lies.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from domain.errors import DomainError
from domain.privacy import check_ref

SUBJECT_KINDS = ("person", "muni")
"""A data subject is a person (``person:…``: a child, a parent, a member of staff). ``muni:…`` holds the
contact address of a municipality's allocation queue, which the notifier resolves the same way."""
MAX_FIELD_CHARS = 2_000
MAX_DOCUMENT_BYTES = 2_000_000
"""A plan, minutes or a justification as text or a small PDF; larger files belong in a records system."""


class PersonalField(enum.StrEnum):
    """The personal data the vault keeps for a subject (never in an event, a subject name or a log)."""

    NAME = "name"
    NATIONAL_ID = "national_id"
    EMAIL = "email"
    PHONE = "phone"
    POSTAL_ADDRESS = "postal_address"
    WEBHOOK = "webhook"
    """A municipality queue's webhook URL (the notifier's other channel)."""


class ShredBasis(enum.StrEnum):
    """Why a subject's key may be destroyed: the lawful grounds ``LegalSettings.shredding_bases`` admits."""

    OUTSIDE_ARCHIVE_DUTY = "outside_archive_duty"
    """Data outside the archives duty (e.g. a contact address kept only for notices): deleted when no longer
    needed (domain.md §8.2, heilsugaeslan.is)."""
    WITHDRAWN_SHARING_WITHOUT_OUTCOME = "withdrawn_sharing_without_outcome"
    """A withdrawn information-sharing request that led nowhere, *if* the archive rules allow (domain.md §8.3.1)."""
    ERASURE_GRANTED = "erasure_granted"
    """An erasure request decided ``granted`` (issue 13's ``erasure_request_decided``)."""


class VaultError(DomainError):
    """A refusal of the vault, with a rule id, the field and a remedy."""

    def __init__(self, rule_id: str, reason: str, remedy: str = "", field_name: str | None = None) -> None:
        self.rule_id, self.reason, self.remedy, self.field = rule_id, reason, remedy, field_name
        super().__init__(f"[{rule_id}] {reason}")


class SubjectShredded(VaultError):
    """VAULT-SHRED: the subject's key was destroyed; nothing about them can be read or written again."""

    def __init__(self, subject_ref: str) -> None:
        super().__init__("VAULT-SHRED", f"the personal data of {subject_ref} was crypto-shredded and is gone",
                         remedy="Nothing to recover: the data subject's key no longer exists.")
        self.subject_ref = subject_ref


class DocumentNotFound(VaultError):
    def __init__(self, doc_ref: str) -> None:
        super().__init__("VAULT-DOC", f"no document {doc_ref} in the vault", field_name="doc_ref")
        self.doc_ref = doc_ref


def check_subject(field_name: str, subject_ref: str) -> str:
    """A data subject's pseudonymous reference (``person:…`` or ``muni:…``), or ``InvalidValue``."""
    kind = subject_ref.split(":", 1)[0] if isinstance(subject_ref, str) else ""
    return check_ref(field_name, subject_ref, kind if kind in SUBJECT_KINDS else "person")


@dataclass(frozen=True)
class Document:
    doc_ref: str
    subject_ref: str
    """Whose key encrypts it: the child the case is about (plans, minutes, justifications)."""
    case_id: UUID | None
    media_type: str
    content: bytes
    stored_at: datetime | None = None


@dataclass(frozen=True)
class DocumentInfo:
    """A document without its content (for listings and the subject access export)."""

    doc_ref: str
    subject_ref: str
    case_id: UUID | None
    media_type: str
    size: int
    stored_at: datetime | None = None


@dataclass(frozen=True)
class SubjectRecord:
    """Everything the vault holds about one subject, decrypted (for the subject access export, Art. 15)."""

    subject_ref: str
    fields: dict[PersonalField, str] = field(default_factory=dict)
    """What the recipient directory holds (the addresses notices go to)."""
    documents: tuple[DocumentInfo, ...] = ()
    shredded: bool = False
    fields_by_case: dict[UUID, dict[PersonalField, str]] = field(default_factory=dict)
    """What each case recorded about the subject (``Vault.put_fields(..., case_id=)``)."""


@dataclass(frozen=True)
class ShredReceipt:
    """What a shred did: the subject, why, when, and how many ciphertexts were left unreadable (and deleted)."""

    subject_ref: str
    basis: ShredBasis
    shredded_at: datetime
    fields_destroyed: int
    documents_destroyed: int
    kek_rotated_to: str | None
    """The wrapping key every remaining subject's key was re-wrapped under, so backups' copies of the destroyed
    key (wrapped under the retired key) can never be unwrapped again."""


@dataclass(frozen=True)
class RotationReport:
    from_kek_ids: tuple[str, ...]
    to_kek_id: str
    rewrapped: int
