"""The personal-data vault (issue 13): names, national ID numbers, contact details and documents, sealed per
data subject (envelope encryption), reached through the access model, destroyed by crypto-shredding.

The public interface, for every other part of the system:

* :class:`Vault` (``put_fields``, ``fields``, ``field``, ``put_document``, ``document``, ``document_info``,
  ``record``, ``is_shredded``, ``rotate``) over a :class:`VaultStore` (``PostgresVaultStore`` or
  ``MemoryVaultStore``) and a :class:`KeyEncryptionKeys` (``Keyring``);
* :func:`shred_subject` (the erasure decision's crypto-shred, checked against ``LegalSettings.shredding_bases``);
* :class:`VaultAccess`: the same, through the access model (``ACCESS-VAULT-n``) and the read-access log;
* :func:`open_vault`: the configured vault of a process (:class:`VaultSettings`).
"""

from services.vault.access import NotInVault, VaultAccess
from services.vault.keys import KeyEncryptionKeys, Keyring
from services.vault.model import (
    Document,
    DocumentInfo,
    DocumentNotFound,
    PersonalField,
    RotationReport,
    ShredBasis,
    ShredReceipt,
    SubjectRecord,
    SubjectShredded,
    VaultError,
)
from services.vault.settings import VaultSettings, open_vault
from services.vault.shred import require_lawful_basis, shred_subject
from services.vault.store import MemoryVaultStore, PostgresVaultStore, VaultStore
from services.vault.vault import Vault

__all__ = [
    "Document",
    "DocumentInfo",
    "DocumentNotFound",
    "KeyEncryptionKeys",
    "Keyring",
    "MemoryVaultStore",
    "NotInVault",
    "PersonalField",
    "PostgresVaultStore",
    "RotationReport",
    "ShredBasis",
    "ShredReceipt",
    "SubjectRecord",
    "SubjectShredded",
    "Vault",
    "VaultAccess",
    "VaultError",
    "VaultSettings",
    "VaultStore",
    "open_vault",
    "require_lawful_basis",
    "shred_subject",
]
