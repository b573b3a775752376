"""The vault through the access model, every attempt in the read-access log.

Callers outside the vault's own processes (the HTTP API, the pages) reach personal data only here: the case is
read (it says who the subject is to the caller, :func:`domain.access.relations_to_subject`), the rule of the
action (``ACCESS-VAULT-n``, :mod:`domain.access.vault`) is applied, and the attempt, granted or refused, is a
row of ``api_read_log`` like any case read. A subject who is not one of the case's family, a document of
another case, and a refusal all answer as "not found", so nobody learns from a refusal who is in the vault.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from domain import access
from domain.access import ReadKind, VaultAction
from domain.access.purposes import acting_purpose, check_purpose
from domain.case import Case
from domain.legal_settings import DEFAULT_LEGAL_SETTINGS, LegalSettings
from domain.values import Actor
from services.casework.application import Casework
from services.casework.errors import CaseNotFound
from services.casework.read_log import Outcome, Purpose, ReadAttempt, ReadLog
from services.vault.model import Document, PersonalField, ShredBasis, ShredReceipt, VaultError
from services.vault.shred import shred_subject
from services.vault.vault import Vault

STATED_PURPOSE = frozenset({VaultAction.READ_PERSONAL_DATA, VaultAction.READ_DOCUMENT})
"""Reads, whose purpose the caller states (``X-Purpose``) and ACCESS-PURPOSE checks."""


class NotInVault(VaultError):
    """The subject is not one of the case's family, the document not the case's, or the caller may not see it."""

    def __init__(self, what: str) -> None:
        super().__init__("VAULT-NOT-FOUND", f"no {what} here", remedy="Check the case and the reference.")


class VaultAccess:
    def __init__(self, vault: Vault, app: Casework, log: ReadLog,
                 settings: LegalSettings = DEFAULT_LEGAL_SETTINGS) -> None:
        self.vault, self.app, self.log, self.settings = vault, app, log, settings

    def _authorize(self, actor: Actor, case_id: UUID, action: VaultAction, resource: str, purpose: Purpose,
                   subject_ref: str | None, correlation_id: str | None) -> Case:
        rule = access.VAULT[action]

        def record(outcome: Outcome, reason: str, jurisdiction: str | None) -> None:
            self.log.record([ReadAttempt(actor, resource, purpose, outcome, reason, case_id, jurisdiction,
                                         correlation_id)])

        try:
            case = self.app.get_case(case_id)
        except CaseNotFound:
            record(Outcome.REFUSED, "not_found", None)
            raise NotInVault("case") from None
        where, lacking = case.jurisdiction.value, f"{rule.rule_id}: needs one of {', '.join(sorted(rule.may))}"
        if not access.may_see_case(actor, case):  # before anything about its people: a stranger learns nothing
            record(Outcome.REFUSED, lacking, where)
            raise NotInVault("case")
        if subject_ref is not None and subject_ref not in (case.child_ref, *case.parent_refs):
            record(Outcome.REFUSED, f"{rule.rule_id}: not a data subject of the case", where)
            raise NotInVault("such person in this case")
        held = (access.relations_to_subject(actor, case, subject_ref) if subject_ref is not None
                else access.relations_to_case(actor, case))
        if not rule.allows(held):  # it may see the case (above), so a 403 tells it nothing new
            record(Outcome.REFUSED, lacking, where)
            raise access.AccessDenied(rule.rule_id, action.value, rule.may, held)
        try:
            if action in STATED_PURPOSE:  # a write's purpose is the write's own, not the caller's word
                check_purpose(purpose, held & rule.may, action.value, rule.may, ReadKind.CASE)  # one case's data
        except access.AccessDenied as denied:
            record(Outcome.REFUSED, f"{denied.rule_id}: {purpose.value}", where)
            raise
        record(Outcome.GRANTED, f"{rule.rule_id}: {', '.join(sorted(r.value for r in held & rule.may))}", where)
        return case

    def personal_data(self, actor: Actor, case_id: UUID, subject_ref: str, *, purpose: Purpose,
                      correlation_id: str | None = None) -> dict[PersonalField, str]:
        self._authorize(actor, case_id, VaultAction.READ_PERSONAL_DATA, f"vault/personal_data/{subject_ref}",
                        purpose, subject_ref, correlation_id)
        return self.vault.fields(subject_ref, case_id=case_id)

    def store_personal_data(self, actor: Actor, case_id: UUID, subject_ref: str,
                            values: Mapping[PersonalField, str], *, correlation_id: str | None = None) -> None:
        self._authorize(actor, case_id, VaultAction.STORE_PERSONAL_DATA, f"vault/personal_data/{subject_ref}",
                        acting_purpose(actor), subject_ref, correlation_id)
        self.vault.put_fields(subject_ref, values, case_id=case_id)

    def document(self, actor: Actor, case_id: UUID, doc_ref: str, *, purpose: Purpose,
                 correlation_id: str | None = None) -> Document:
        self._authorize(actor, case_id, VaultAction.READ_DOCUMENT, f"vault/document/{doc_ref}", purpose, None,
                        correlation_id)
        info = self.vault.document_info(doc_ref)
        if info.case_id != case_id:
            raise NotInVault("such document in this case")
        return self.vault.document(doc_ref)

    def store_document(self, actor: Actor, case_id: UUID, doc_ref: str, content: bytes, media_type: str, *,
                       correlation_id: str | None = None) -> None:
        case = self._authorize(actor, case_id, VaultAction.STORE_DOCUMENT, f"vault/document/{doc_ref}",
                               acting_purpose(actor), None, correlation_id)
        self.vault.put_document(doc_ref, case.child_ref, content, media_type=media_type, case_id=case_id)

    def shred(self, actor: Actor, case_id: UUID, subject_ref: str, basis: ShredBasis, *,
              correlation_id: str | None = None) -> ShredReceipt:
        self._authorize(actor, case_id, VaultAction.SHRED, f"vault/shred/{subject_ref}", acting_purpose(actor),
                        subject_ref, correlation_id)
        return shred_subject(self.vault, subject_ref, basis, self.settings)
