"""The secrets of the bus: one nkey seed file per identity, and the cluster's route password.

Why nkeys for every client identity, not passwords (``docs/nats-security.md``): the server's configuration then
holds only *public* keys, so it is not a secret and a leaked copy lets no one in; the seed never crosses the
wire (nats-server sends a nonce, the client signs it), so even a connection without TLS discloses nothing
reusable; and verifying a signature is cheap, where a bcrypt check costs every connect tens of milliseconds.
Routes between cluster nodes cannot use nkeys, so they use a password, stored bcrypt-hashed in each node's
``cluster.authorization`` (the plaintext must still appear in the peers' route URLs, which makes a cluster
node's file a secret; TLS on routes is the stronger option and documented).

Files are created 0600 in a 0700 directory, and an existing seed is always kept: running ``prosperity
nats-config`` again changes nothing an identity holds unless that identity is rotated explicitly.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

import bcrypt
import nkeys  # type: ignore[import-untyped]

SEED_SUFFIX = ".nk"
ROUTE_PASSWORD_FILE = "route-password"
BCRYPT_COST = 11


def write_secret(path: Path, content: str) -> None:
    """Create ``path`` readable by its owner only, atomically (a crash leaves no half-written seed)."""
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(content)
    os.replace(temporary, path)


def public_key_of(seed: str) -> str:
    """The ``U…`` public key of a user seed (``SU…``)."""
    keypair = nkeys.from_seed(bytearray(seed.strip().encode()))
    try:
        key: bytes = keypair.public_key
        return key.decode()
    finally:
        keypair.wipe()


def is_user_public_key(key: str) -> bool:
    """A well-formed nkey *user* public key: base32 of the user prefix byte, 32 key bytes and a CRC-16 (the
    nkeys package has no parser for public keys, only for seeds)."""
    if len(key) != 56 or not key.startswith("U"):
        return False
    try:
        raw = base64.b32decode(key)
    except (binascii.Error, ValueError):
        return False
    return raw[0] == nkeys.PREFIX_BYTE_USER and bytes(nkeys.crc16_checksum(raw[:-2])) == raw[-2:]


def new_user_seed() -> str:
    seed: bytes = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    return seed.decode()


class KeyStore:
    """A directory of secrets: ``<identity>.nk`` seeds and the route password."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)

    def seed_path(self, identity: str) -> Path:
        return self.directory / f"{identity}{SEED_SUFFIX}"

    def public_key(self, identity: str, *, rotate: bool = False) -> str:
        """The identity's public key, generating its seed the first time (or anew, when ``rotate``)."""
        path = self.seed_path(identity)
        if rotate or not path.exists():
            write_secret(path, new_user_seed() + "\n")
        return public_key_of(path.read_text(encoding="ascii"))

    def route_password(self, *, rotate: bool = False) -> str:
        path = self.directory / ROUTE_PASSWORD_FILE
        if rotate or not path.exists():
            write_secret(path, secrets.token_urlsafe(32) + "\n")
        return path.read_text(encoding="ascii").strip()


def bcrypt_hash(password: str) -> str:
    """``$2b$11$…``: the form nats-server accepts for a hashed password."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()
