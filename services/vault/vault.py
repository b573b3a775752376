"""The vault: personal data and documents, each sealed under its data subject's own key.

This is the service boundary every other part of the system goes through for personal data (the API's vault
routes through :mod:`services.vault.access`, the notifier resolving an address at send time, the demo, the
subject access export, the erasure decision's shred). Nothing else reads the vault's tables; the event store,
the stream and the read models hold only the references.

Per subject: a 256-bit AES-GCM data key (DEK) made on first write, kept only wrapped by the active
key-encryption key (KEK, :mod:`services.vault.keys`). Each field and document is sealed with the DEK and bound
by associated data to its subject and its place, so a ciphertext copied to another row does not open.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from uuid import UUID

from domain.privacy import check_ref
from services.vault.keys import SEAL_OVERHEAD, KeyEncryptionKeys, new_data_key, open_sealed, seal
from services.vault.model import (
    MAX_DOCUMENT_BYTES,
    MAX_FIELD_CHARS,
    Document,
    DocumentInfo,
    DocumentNotFound,
    PersonalField,
    RotationReport,
    SubjectRecord,
    SubjectShredded,
    VaultError,
    check_subject,
)
from services.vault.store import RetiredKek, SealedDocument, SubjectKey, VaultStore

MEDIA_TYPES = frozenset({"text/plain", "text/markdown", "text/html", "application/pdf", "application/json"})


def _key_aad(subject_ref: str) -> bytes:
    return f"prosperity-vault:dek:{subject_ref}".encode()


def _field_aad(subject_ref: str, name: str, scope: str = "") -> bytes:
    """Binds a sealed field to its subject, name and scope: a row copied into another case's scope does not open."""
    where = f"{scope}:" if scope else ""  # the directory's fields keep the AAD they had before scopes
    return f"prosperity-vault:field:{subject_ref}:{where}{name}".encode()


def _scope(case_id: UUID | None) -> str:
    return "" if case_id is None else str(case_id)


def _document_aad(subject_ref: str, doc_ref: str) -> bytes:
    return f"prosperity-vault:doc:{subject_ref}:{doc_ref}".encode()


def check_field_value(name: PersonalField, value: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_FIELD_CHARS:
        raise VaultError("VAULT-FIELD", f"{name.value} must be non-empty text of at most {MAX_FIELD_CHARS} "
                         "characters", field_name=name.value)
    if name is PersonalField.POSTAL_ADDRESS:
        value = value.replace("\r\n", "\n")  # a pasted or Windows client's line breaks
    if any(_unprintable(ch, name) for ch in value):
        # Names and addresses are shown on pages and in notices: a NUL, an escape sequence or a bidi override
        # (U+202E turns "txt.exe" into "exe.txt") has no place in them.
        raise VaultError("VAULT-FIELD", f"{name.value} may not hold control, format or bidi-override characters "
                         "(a line break only in postal_address)", field_name=name.value)
    return value


def _unprintable(ch: str, name: PersonalField) -> bool:
    if (ch == "\n" and name is PersonalField.POSTAL_ADDRESS) or ch in JOINERS:
        return False
    # Not "Cn" (unassigned): this Python's Unicode tables are older than the names people have.
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")


JOINERS = frozenset({"\u200c", "\u200d"})
"""Zero-width (non-)joiners: format characters that names in Persian or Indic scripts need."""


class Vault:
    def __init__(self, store: VaultStore, keys: KeyEncryptionKeys) -> None:
        self.store, self.keys = store, keys

    def setup(self) -> None:
        self.store.create_tables()

    # -- keys --------------------------------------------------------------------------------------------------
    def _data_key(self, subject_ref: str, *, create: bool) -> bytes | None:
        stored = self.store.key(subject_ref)
        if stored is None:
            if self.store.is_shredded(subject_ref):
                raise SubjectShredded(subject_ref)
            if not create:
                return None
            stored = self._add_key(subject_ref)
            if stored is None:
                raise SubjectShredded(subject_ref)
        return self.keys.unwrap(stored.kek_id, stored.wrapped_dek, _key_aad(subject_ref))

    def _add_key(self, subject_ref: str, attempts: int = 5) -> SubjectKey | None:
        """A new DEK wrapped under the active KEK; if a rotation retired that KEK meanwhile (here or in another
        process), the keyring is read again and the DEK wrapped anew, never stored under a retired KEK."""
        dek = new_data_key()
        for _ in range(attempts):
            kek_id = self.keys.active_id
            try:
                return self.store.add_key(SubjectKey(subject_ref, kek_id,
                                                     self.keys.wrap(kek_id, dek, _key_aad(subject_ref))))
            except RetiredKek:
                continue
        raise VaultError("VAULT-KEK", "the active key-encryption key of this process has been retired",
                         remedy="Configure the new KEK (PROSPERITY_VAULT_ACTIVE_KEK) and restart.")

    def is_shredded(self, subject_ref: str) -> bool:
        return self.store.is_shredded(subject_ref)

    # -- personal fields ---------------------------------------------------------------------------------------
    def put_fields(self, subject_ref: str, values: Mapping[PersonalField, str], *,
                   case_id: UUID | None = None) -> None:
        """Store (or rectify) a subject's personal fields as recorded through ``case_id`` (``None``: the recipient
        directory's own); the old value is overwritten, not kept.

        Why per case: a subject's data is reached through a case the subject belongs to, and a case names its
        family in the command that opens it. Shared across cases, the data one case recorded was readable, and
        writable, through any case that named the same person, a case just opened for the purpose included
        (Art. 5(1)(b), purpose limitation; docs/privacy.md "Personal data per case")."""
        check_subject("subject_ref", subject_ref)
        checked = {PersonalField(name): check_field_value(PersonalField(name), v) for name, v in values.items()}
        dek = self._data_key(subject_ref, create=True)
        assert dek is not None
        scope = _scope(case_id)
        for name, value in checked.items():
            if not self.store.put_field(subject_ref, name.value,
                                        seal(dek, value.encode(), _field_aad(subject_ref, name.value, scope)), scope):
                raise SubjectShredded(subject_ref)

    def fields(self, subject_ref: str, *, case_id: UUID | None = None) -> dict[PersonalField, str]:
        """A subject's personal fields recorded through ``case_id`` (``None``: the directory's), empty if none;
        ``SubjectShredded`` once their key is gone."""
        check_subject("subject_ref", subject_ref)
        dek = self._data_key(subject_ref, create=False)
        if dek is None:
            return {}
        scope = _scope(case_id)
        return {PersonalField(name): open_sealed(dek, sealed, _field_aad(subject_ref, name, scope)).decode()
                for name, sealed in sorted(self.store.fields(subject_ref, scope).items())}

    def field(self, subject_ref: str, name: PersonalField, *, case_id: UUID | None = None) -> str | None:
        return self.fields(subject_ref, case_id=case_id).get(name)

    # -- documents ---------------------------------------------------------------------------------------------
    def put_document(self, doc_ref: str, subject_ref: str, content: bytes, *, media_type: str = "text/plain",
                     case_id: UUID | None = None) -> None:
        """The text behind a ``doc:`` reference (a plan, minutes, a justification), sealed under the key of the
        subject it is about (the child whose case it belongs to)."""
        check_ref("doc_ref", doc_ref, "doc")
        check_subject("subject_ref", subject_ref)
        if media_type not in MEDIA_TYPES:
            raise VaultError("VAULT-DOC-TYPE", f"media_type must be one of {', '.join(sorted(MEDIA_TYPES))}",
                             field_name="media_type")
        if not content or len(content) > MAX_DOCUMENT_BYTES:
            raise VaultError("VAULT-DOC-SIZE", f"a document is 1 to {MAX_DOCUMENT_BYTES} bytes",
                             field_name="content")
        existing = self.store.document(doc_ref)
        if existing is not None and (existing.subject_ref != subject_ref or existing.case_id != case_id):
            raise VaultError("VAULT-DOC-OWNER", f"{doc_ref} already belongs to another subject or case",
                             remedy="Use a new doc: reference.", field_name="doc_ref")
        dek = self._data_key(subject_ref, create=True)
        assert dek is not None
        if not self.store.put_document(SealedDocument(doc_ref, subject_ref, case_id, media_type,
                                                      seal(dek, content, _document_aad(subject_ref, doc_ref)), None)):
            raise SubjectShredded(subject_ref)

    def document_info(self, doc_ref: str) -> DocumentInfo:
        """Whose and which case's a document is, without opening it (the access check needs the case)."""
        sealed = self.store.document(doc_ref)
        if sealed is None:
            raise DocumentNotFound(doc_ref)
        return DocumentInfo(sealed.doc_ref, sealed.subject_ref, sealed.case_id, sealed.media_type,
                            len(sealed.sealed) - SEAL_OVERHEAD, sealed.stored_at)

    def document(self, doc_ref: str) -> Document:
        sealed = self.store.document(doc_ref)
        if sealed is None:
            raise DocumentNotFound(doc_ref)
        dek = self._data_key(sealed.subject_ref, create=False)
        if dek is None:
            raise DocumentNotFound(doc_ref)
        content = open_sealed(dek, sealed.sealed, _document_aad(sealed.subject_ref, doc_ref))
        return Document(doc_ref, sealed.subject_ref, sealed.case_id, sealed.media_type, content, sealed.stored_at)

    # -- the whole record (subject access) ---------------------------------------------------------------------
    def record(self, subject_ref: str) -> SubjectRecord:
        """Everything held about a subject (fields in every scope, and the document list), or an empty shredded
        record."""
        check_subject("subject_ref", subject_ref)
        if self.store.is_shredded(subject_ref):
            return SubjectRecord(subject_ref, shredded=True)
        docs = tuple(DocumentInfo(d.doc_ref, d.subject_ref, d.case_id, d.media_type, len(d.sealed) - SEAL_OVERHEAD,
                                  d.stored_at) for d in self.store.documents_of(subject_ref))
        by_case = {UUID(scope): self.fields(subject_ref, case_id=UUID(scope))
                   for scope in self.store.scopes(subject_ref) if scope}
        return SubjectRecord(subject_ref, self.fields(subject_ref), docs, fields_by_case=by_case)

    # -- rotation of the wrapping key --------------------------------------------------------------------------
    def rotate(self, *, new_kek: bool = True, retire_old: bool = True, batch: int = 500) -> RotationReport:
        """Re-wrap every subject's DEK under the active KEK (a new one first if ``new_kek``); the data is never
        re-encrypted. Concurrent writers and readers, in this process or another, keep working: the old KEKs are
        first retired in the store (no DEK is stored under them after that, and every one stored before is
        visible), each DEK row then changes atomically, and the old KEKs are destroyed (``retire_old``) only
        when no row is wrapped under them."""
        before = tuple(self.keys.ids())
        target = self.keys.create() if new_kek else self.keys.active_id
        retired = [kek_id for kek_id in before if kek_id != target]
        self.store.retire_keks(retired)  # waits for DEKs being stored under them; refuses any later one
        rewrapped = self._rewrap_all(target, batch)
        if retire_old:
            for kek_id in retired:
                self.keys.destroy(kek_id)
        return RotationReport(before, target, rewrapped)

    def _rewrap_all(self, target: str, batch: int) -> int:
        rewrapped = 0
        while pending := self.store.keys_not_under(target, batch):
            for stored in pending:
                aad = _key_aad(stored.subject_ref)
                dek = self.keys.unwrap(stored.kek_id, stored.wrapped_dek, aad)
                fresh = SubjectKey(stored.subject_ref, target, self.keys.wrap(target, dek, aad))
                rewrapped += self.store.rewrap(stored.subject_ref, stored.kek_id, fresh)
        return rewrapped


def now() -> datetime:
    return datetime.now(UTC)
