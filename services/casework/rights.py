"""The data subject's rights as commands of ``Casework`` (erasure, restriction, rectification, protection, archiving).

A mixin, so ``services/casework/application.py`` stays one screen per law: every method is the same load, check
(access model, then the law's ``PRIV-…`` rules in :mod:`domain.personal_data`), save as the law's commands. The one
thing a right adds is outside the event store: a **granted** erasure shreds the subject's key in the personal-data
vault (``services/vault``, helper D's module) *after* the decision is saved, so the fact is never lost to a failed
shred; a shred is idempotent and is retried from the fact (``pending_shreds``) when the vault was unreachable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import structlog

from contracts import commands as c
from domain.case import Case
from domain.legal_settings import LegalSettings
from domain.personal_data import ErasureOutcome, ExportFormat
from domain.values import Context

if TYPE_CHECKING:
    from services.casework.application import CommandMeta, CommandResult

log = structlog.get_logger()


class SubjectShredder(Protocol):
    """What a granted erasure needs of the vault: destroy the subject's data key (crypto-shredding)."""

    def shred(self, subject_ref: str) -> None: ...


class RightsCommands:
    legal_settings: LegalSettings
    subject_shredder: SubjectShredder | None = None
    """Wired by the bootstrap to the vault; without one a granted erasure is recorded and its shred left pending
    (``pending_shreds`` lists it) rather than silently skipped."""
    pending_shreds: list[str]

    if TYPE_CHECKING:
        def _change(self, case_type: type[Any], request: c.CaseCommand, meta: CommandMeta,
                    expected_version: int | None, command: Callable[[Any, Context], None]) -> CommandResult: ...

        def get_case(self, case_id: UUID) -> Case: ...

    def _right(self, command: c.CaseCommand, meta: CommandMeta, expected_version: int | None,
               method: Callable[..., None], **extra: Any) -> CommandResult:
        kwargs = {**command.arguments(), **extra}
        return self._change(Case, command, meta, expected_version, lambda case, ctx: method(case, ctx, **kwargs))

    def receive_erasure_request(self, command: c.ReceiveErasureRequest, meta: CommandMeta,
                                expected_version: int | None = None) -> CommandResult:
        return self._right(command, meta, expected_version, Case.receive_erasure_request)

    def decide_erasure_request(self, command: c.DecideErasureRequest, meta: CommandMeta,
                               expected_version: int | None = None) -> CommandResult:
        subject = self.get_case(command.case_id).pending_erasures().get(command.request_id)
        result = self._right(command, meta, expected_version, Case.decide_erasure_request,
                             settings=self.legal_settings)
        if command.outcome is ErasureOutcome.GRANTED and subject is not None:  # PRIV-3: a decided request has one
            self.shred_subject(subject)
        return result

    def shred_subject(self, subject_ref: str) -> None:
        """Destroy the subject's vault key; kept pending (and logged by reference only) when no vault answers."""
        if not hasattr(self, "pending_shreds"):
            self.pending_shreds = []
        if self.subject_shredder is None:
            self.pending_shreds.append(subject_ref)
            log.warning("rights.shred.pending", subject_ref=subject_ref, reason="no vault configured")
            return
        self.subject_shredder.shred(subject_ref)
        log.info("rights.shred.done", subject_ref=subject_ref)

    def restrict_processing(self, command: c.RestrictProcessing, meta: CommandMeta,
                            expected_version: int | None = None) -> CommandResult:
        return self._right(command, meta, expected_version, Case.restrict_processing)

    def lift_processing_restriction(self, command: c.LiftProcessingRestriction, meta: CommandMeta,
                                    expected_version: int | None = None) -> CommandResult:
        return self._right(command, meta, expected_version, Case.lift_processing_restriction)

    def rectify_data(self, command: c.RectifyData, meta: CommandMeta,
                     expected_version: int | None = None) -> CommandResult:
        return self._right(command, meta, expected_version, Case.rectify_data)

    def protect_identity(self, command: c.ProtectIdentity, meta: CommandMeta,
                         expected_version: int | None = None) -> CommandResult:
        return self._right(command, meta, expected_version, Case.protect_identity)

    def lift_identity_protection(self, command: c.LiftIdentityProtection, meta: CommandMeta,
                                 expected_version: int | None = None) -> CommandResult:
        return self._right(command, meta, expected_version, Case.lift_identity_protection)

    def archive_case(self, command: c.ArchiveCase, meta: CommandMeta,
                     expected_version: int | None = None) -> CommandResult:
        return self._right(command, meta, expected_version, Case.archive_case, settings=self.legal_settings)


    def record_subject_access_export(self, command: c.SubjectAccessRequest, meta: CommandMeta, *,
                                     export_format: ExportFormat, content_sha256: str,
                                     expected_version: int | None = None) -> CommandResult:
        """Art. 15: record that an export was produced (``services.casework.subject_access`` makes it first)."""
        return self._right(command, meta, expected_version, Case.record_subject_access_export,
                           export_format=export_format, content_sha256=content_sha256)
