"""The vault side of a granted erasure: ``Casework.subject_shredder`` for a process that has the vault.

Its own module because the vault's access layer imports ``Casework``: the bootstrap (``services.api.app``) joins
the two, and nothing in the application layer imports the vault.
"""

from __future__ import annotations

from domain.legal_settings import LegalSettings
from services.vault import ShredBasis, Vault, shred_subject


class VaultShredder:
    """Crypto-shreds a subject whose erasure was granted (``ShredBasis.ERASURE_GRANTED``; the decision has already
    weighed the archives duty, PRIV-4, and ``LegalSettings.shredding_bases`` is checked once more by the vault)."""

    def __init__(self, vault: Vault, settings: LegalSettings) -> None:
        self.vault, self.settings = vault, settings

    def shred(self, subject_ref: str) -> None:
        shred_subject(self.vault, subject_ref, ShredBasis.ERASURE_GRANTED, self.settings)
