"""Envelope encryption: one AES-256-GCM data key per subject (DEK), wrapped by a key-encryption key (KEK).

The KEKs come from configuration or a key-management service behind :class:`KeyEncryptionKeys` (the small
interface a cloud KMS or an HSM would implement: wrap, unwrap, make a new key, destroy one). Rotating the KEK
re-wraps every subject's DEK (a few dozen bytes each) and never re-encrypts the data itself. AES-GCM comes from
the ``cryptography`` package; nothing here is hand-rolled beyond choosing nonces (96 random bits, the size the
GCM specification recommends) and binding each ciphertext to its place by associated data.

:class:`Keyring` is the configured implementation: keys as base64 in ``PROSPERITY_VAULT_KEKS`` (read-only: a new
key is added by the operator) or as files in ``PROSPERITY_VAULT_KEY_DIR`` (which can make and destroy keys, so
a shred can retire the key its backups' copies are wrapped under).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.vault.model import VaultError

NONCE_BYTES = 12
SEAL_OVERHEAD = NONCE_BYTES + 16
"""A sealed value is this much longer than its plaintext (the nonce and GCM's 128-bit tag)."""
KEY_BYTES = 32
_KEK_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """``nonce || ciphertext+tag``; ``aad`` binds it to its subject and place (a copy moved elsewhere fails)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except InvalidTag as error:
        raise VaultError("VAULT-INTEGRITY", "a ciphertext failed authentication (tampered, moved or wrong key)",
                         remedy="Restore the row from a backup; report it as a security incident.") from error


class KeyEncryptionKeys(Protocol):
    """A KMS: wraps and unwraps data keys under named key-encryption keys."""

    @property
    def active_id(self) -> str: ...

    def ids(self) -> tuple[str, ...]: ...

    def wrap(self, kek_id: str, dek: bytes, aad: bytes) -> bytes: ...

    def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes: ...

    @property
    def can_create(self) -> bool: ...

    def create(self) -> str:
        """A new KEK, made active; its id."""
        ...

    def destroy(self, kek_id: str) -> None:
        """Forget a KEK for ever (after every DEK it wrapped was re-wrapped under another)."""
        ...


class Keyring:
    """KEKs held in this process: from configuration (``{id: key}``), or persisted as files in ``key_dir``."""

    def __init__(self, keys: Mapping[str, bytes], active_id: str, key_dir: Path | None = None,
                 *, ephemeral: bool = False) -> None:
        for kek_id, key in keys.items():
            if not _KEK_ID.fullmatch(kek_id) or len(key) != KEY_BYTES:
                raise VaultError("VAULT-KEK", f"KEK {kek_id!r} must be named [a-z0-9_-] and be {KEY_BYTES} bytes",
                                 field_name="PROSPERITY_VAULT_KEKS")
        if active_id not in keys:
            raise VaultError("VAULT-KEK", f"the active KEK {active_id!r} is not among the configured keys",
                             field_name="PROSPERITY_VAULT_ACTIVE_KEK")
        self._keys, self._active, self.key_dir = dict(keys), active_id, key_dir
        self.ephemeral = ephemeral
        """Keys live only in this process (tests, the demo): they may be made and destroyed here."""

    @property
    def can_create(self) -> bool:
        """Whether :meth:`create` can make a key that outlives the process (a key directory), or need not."""
        return self.key_dir is not None or self.ephemeral

    @classmethod
    def from_config(cls, encoded: Mapping[str, str], active_id: str) -> Keyring:
        """``{"k1": "<base64 of 32 bytes>"}`` as in ``PROSPERITY_VAULT_KEKS``."""
        return cls({k: base64.b64decode(v, validate=True) for k, v in encoded.items()}, active_id)

    @classmethod
    def generated(cls) -> Keyring:
        """One fresh key in memory: tests and the demo (whose data dies with the process anyway)."""
        return cls({"k1": AESGCM.generate_key(bit_length=256)}, "k1", ephemeral=True)

    @classmethod
    def in_directory(cls, key_dir: Path) -> Keyring:
        """Keys as ``<id>.key`` files (mode 0600) and ``ACTIVE`` naming the active one; the first key is made if
        there is none, by exactly one of the processes starting together (``O_EXCL``), the others read it."""
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        active = key_dir / "ACTIVE"
        if not active.exists():
            try:
                fd = os.open(key_dir / "k1.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                _wait_for(active)
            else:
                with os.fdopen(fd, "w") as out:
                    out.write(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode())
                _write_atomically(active, "k1")
        keys = {p.stem: base64.b64decode(p.read_text().strip()) for p in sorted(key_dir.glob("*.key"))}
        return cls(keys, active.read_text().strip(), key_dir)

    def _reload(self) -> None:
        """Another process sharing ``key_dir`` may have rotated: take its keys and its active one."""
        if self.key_dir is None:
            return
        self._keys = {p.stem: base64.b64decode(p.read_text().strip()) for p in sorted(self.key_dir.glob("*.key"))}
        self._active = (self.key_dir / "ACTIVE").read_text().strip()

    @property
    def active_id(self) -> str:
        if self.key_dir is not None and (self.key_dir / "ACTIVE").read_text().strip() != self._active:
            self._reload()
        return self._active

    def ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def _key(self, kek_id: str) -> bytes:
        if kek_id not in self._keys:
            self._reload()
        try:
            return self._keys[kek_id]
        except KeyError:
            raise VaultError("VAULT-KEK", f"the key-encryption key {kek_id!r} is not available (destroyed or not "
                             "configured)", remedy="Configure it, or restore the subject's key table.") from None

    def wrap(self, kek_id: str, dek: bytes, aad: bytes) -> bytes:
        return seal(self._key(kek_id), dek, aad)

    def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        return open_sealed(self._key(kek_id), wrapped, aad)

    def create(self) -> str:
        if not self.can_create:
            raise VaultError("VAULT-KEK", "configured KEKs are added by the operator, not made here",
                             remedy="Add a new key to PROSPERITY_VAULT_KEKS, make it PROSPERITY_VAULT_ACTIVE_KEK, "
                                    "restart, then run 'prosperity vault rotate --keep-key'.")
        kek_id = f"k{len(self._keys) + 1}-{secrets.token_hex(3)}"
        self._keys[kek_id] = AESGCM.generate_key(bit_length=256)
        self._active = kek_id
        self._persist(kek_id)
        return kek_id

    def destroy(self, kek_id: str) -> None:
        if kek_id == self._active:
            raise VaultError("VAULT-KEK", "the active KEK cannot be destroyed", remedy="Rotate first.")
        self._keys.pop(kek_id, None)
        if self.key_dir is not None:
            (self.key_dir / f"{kek_id}.key").unlink(missing_ok=True)

    def _persist(self, kek_id: str) -> None:
        if self.key_dir is None:
            return
        path = self.key_dir / f"{kek_id}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(self._keys[kek_id]).decode())
        _write_atomically(self.key_dir / "ACTIVE", self._active)


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text)
    os.replace(partial, path)


def _wait_for(path: Path, timeout: float = 10.0) -> None:
    """Another process is making the first key: wait until it names it active."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise VaultError("VAULT-KEK", f"{path} did not appear: a key directory half made by another process",
                             remedy="Remove the empty key directory's stray files and start again.")
        time.sleep(0.02)
