"""The vault's configuration (``PROSPERITY_VAULT_*``) and the one place a process builds its vault.

Key handling: the key-encryption keys never live in the database. In production they come from a KMS (an
implementation of :class:`~services.vault.keys.KeyEncryptionKeys`) or from the environment
(``PROSPERITY_VAULT_KEKS='{"k2": "<base64 of 32 random bytes>"}'`` with ``PROSPERITY_VAULT_ACTIVE_KEK=k2``, e.g.
from a Kubernetes secret); by default, on one machine, they are files under ``<data_dir>/vault-keys`` (mode
0600), kept apart from the database's files and from its backups.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.vault.keys import KeyEncryptionKeys, Keyring
from services.vault.store import PostgresVaultStore
from services.vault.vault import Vault


class VaultSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROSPERITY_VAULT_", extra="ignore", populate_by_name=True)

    keks: dict[str, str] = Field(default_factory=dict)
    """Key-encryption keys by id, base64 (32 bytes each); empty = the key directory."""
    active_kek: str | None = None
    """Which of ``keks`` wraps new data keys (required with ``keks``)."""
    key_dir: Path | None = None
    """Where file-held KEKs live; default ``<PROSPERITY_DATA_DIR or var>/vault-keys``."""
    schema_name: str | None = Field(default=None, alias="PROSPERITY_VAULT_SCHEMA")
    """The schema of the vault's tables; default: the event store's schema (tables ``vault_*``)."""
    data_dir: Path = Field(default=Path("var"), alias="PROSPERITY_DATA_DIR")

    def keyring(self) -> KeyEncryptionKeys:
        if self.keks:
            return Keyring.from_config(self.keks, self.active_kek or "")
        return Keyring.in_directory(self.key_dir or self.data_dir / "vault-keys")


def open_vault(pool: ConnectionPool[psycopg.Connection[Any]], schema: str | None,
               settings: VaultSettings | None = None, *, keys: KeyEncryptionKeys | None = None) -> Vault:
    """The process's vault on ``pool`` (its tables created if missing)."""
    settings = settings or VaultSettings()
    vault = Vault(PostgresVaultStore(pool, settings.schema_name or schema or "public"),
                  keys or settings.keyring())
    vault.setup()
    return vault
