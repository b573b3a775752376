"""Crypto-shredding: destroy one data subject's key, where the law allows it (domain.md §8.2, §8.3.1).

Only the vault holds personal data, so the event history (pseudonymous references) still replays and the audit
hash chain still verifies: nothing in the event store changes. Destroying the subject's DEK makes every copy of
their sealed fields and documents unreadable. A backup still holds the DEK, wrapped under the KEK of the day;
so the shred then rotates the KEK and destroys the old one: every other subject's DEK is re-wrapped (their data
in old backups stays readable with the live key table), while the shredded subject's DEK in any backup is
wrapped under a key that no longer exists. With KEKs from configuration (which this process may not replace)
the rotation is the operator's next scheduled one, and the receipt says so (``kek_rotated_to`` is None).

Where the law does not allow it (a case record under the archives duty), the erasure decision refuses
instead (issue 13's ``erasure_request_decided``, outcome ``refused``, basis ``archive_duty``) and never calls here.
"""

from __future__ import annotations

import structlog

from domain.legal_settings import DEFAULT_LEGAL_SETTINGS, LegalSettings
from services.vault.model import ShredBasis, ShredReceipt, VaultError, check_subject
from services.vault.vault import Vault, now

log = structlog.get_logger(__name__)


def require_lawful_basis(basis: ShredBasis, settings: LegalSettings) -> None:
    """VAULT-SHRED-BASIS: only the grounds ``LegalSettings.shredding_bases`` admits."""
    if ShredBasis(basis).value not in settings.shredding_bases:
        raise VaultError("VAULT-SHRED-BASIS", f"crypto-shredding on the basis {basis.value!r} is not allowed by "
                         f"this installation's legal settings (allowed: {', '.join(sorted(settings.shredding_bases))})",
                         remedy="Refuse the erasure under the archives duty, or have legal review extend "
                                "LegalSettings.shredding_bases.", field_name="basis")


def shred_subject(vault: Vault, subject_ref: str, basis: ShredBasis,
                  settings: LegalSettings = DEFAULT_LEGAL_SETTINGS, *, rotate: bool = True) -> ShredReceipt:
    """Destroy ``subject_ref``'s key, sealed fields and documents (kept: a tombstone with the basis and time);
    then, if ``rotate`` and the keyring can make keys, rotate the KEK so backups' copies die too.

    Idempotent: shredding a shredded subject does nothing more and returns a receipt with zero counts."""
    check_subject("subject_ref", subject_ref)
    require_lawful_basis(basis, settings)
    at = now()
    fields, documents = vault.store.shred(subject_ref, ShredBasis(basis).value, at)
    rotated_to = None
    if rotate and vault.keys.can_create:
        rotated_to = vault.rotate(new_kek=True, retire_old=True).to_kek_id
    log.info("vault.subject_shredded", subject_ref=subject_ref, basis=ShredBasis(basis).value,
             fields=fields, documents=documents, kek_rotated_to=rotated_to)
    return ShredReceipt(subject_ref, ShredBasis(basis), at, fields, documents, rotated_to)
