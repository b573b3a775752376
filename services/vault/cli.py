"""``prosperity vault …``: the vault's operator commands.

* ``new-key``: a fresh 256-bit key as base64 (a KEK for ``PROSPERITY_VAULT_KEKS``, or the event store's
  ``PROSPERITY_EVENT_CIPHER_KEY``);
* ``rotate``: re-wrap every subject's data key under a new KEK and destroy the old one (file-held keys), or, with
  ``--keep-key``, under the configured active KEK (KEKs from the environment: the operator removes the old one);
* ``shred SUBJECT --basis …``: crypto-shred one data subject where ``LegalSettings`` allows the basis (the
  erasure decision calls :func:`services.vault.shred_subject` itself; this is for the operator's record);
* ``scan``: search the event store, every read model and (``--stream``) the NATS stream for identifiers
  (``--needle``, ``--needles-file``, or ``--demo`` for the demo's own synthetic identities); exit 1 if found.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg_pool import ConnectionPool

from services.settings import StoreSettings, store_dsn
from services.vault.model import ShredBasis, VaultError
from services.vault.scan import Finding, scan_postgres, scan_stream, schemas_like
from services.vault.settings import VaultSettings, open_vault
from services.vault.shred import shred_subject


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    vault = sub.add_parser("vault", help="the personal-data vault: keys, rotation, crypto-shredding, scans")
    vault_sub = vault.add_subparsers(dest="vault_command", required=True)
    vault_sub.add_parser("new-key", help="print a new 256-bit key as base64").set_defaults(func=new_key)
    rotate_parser = vault_sub.add_parser("rotate", help="re-wrap every data key under a new wrapping key")
    rotate_parser.add_argument("--keep-key", action="store_true",
                               help="re-wrap under the configured active KEK instead of making a new one")
    rotate_parser.set_defaults(func=rotate)
    shred_parser = vault_sub.add_parser("shred", help="destroy one data subject's key (where the law allows)")
    shred_parser.add_argument("subject", help="the data subject, person:…")
    shred_parser.add_argument("--basis", required=True, choices=[b.value for b in ShredBasis])
    shred_parser.set_defaults(func=shred)
    scan_parser = vault_sub.add_parser("scan", help="find personal identifiers outside the vault")
    scan_parser.add_argument("--needle", action="append", default=[], help="an identifier to look for")
    scan_parser.add_argument("--needles-file", type=Path, help="identifiers to look for, one a line")
    scan_parser.add_argument("--demo", action="store_true", help="the demo's synthetic identities (--seed, --cases)")
    scan_parser.add_argument("--seed", type=int, default=1)
    scan_parser.add_argument("--cases", type=int, default=200)
    scan_parser.add_argument("--stream", help="also every message of this JetStream stream (PROSPERITY_NATS_URL)")
    scan_parser.set_defaults(func=scan)


def new_key(args: argparse.Namespace) -> int:
    print(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode())
    return 0


def _pool(dsn: str) -> ConnectionPool:
    return ConnectionPool(dsn, min_size=1, max_size=2, open=True, kwargs={"autocommit": False})


def rotate(args: argparse.Namespace) -> int:
    store, settings = StoreSettings(), VaultSettings()
    with store_dsn(store) as dsn, _pool(dsn) as pool:
        vault = open_vault(pool, store.pg_schema, settings)
        configured = bool(settings.keks)
        report = vault.rotate(new_kek=not (args.keep_key or configured), retire_old=not configured)
    print(f"re-wrapped {report.rewrapped} data keys under {report.to_kek_id} (was: {', '.join(report.from_kek_ids)})")
    return 0


def shred(args: argparse.Namespace) -> int:
    store = StoreSettings()
    with store_dsn(store) as dsn, _pool(dsn) as pool:
        try:
            receipt = shred_subject(open_vault(pool, store.pg_schema), args.subject, ShredBasis(args.basis))
        except VaultError as refused:
            print(f"prosperity vault shred: {refused} {refused.remedy}", file=sys.stderr)
            return 1
    print(f"shredded {receipt.subject_ref} ({receipt.basis.value}) at {receipt.shredded_at.isoformat()}: "
          f"{receipt.fields_destroyed} fields, {receipt.documents_destroyed} documents; "
          + (f"KEK rotated to {receipt.kek_rotated_to}" if receipt.kek_rotated_to else
             "rotate the KEK next (prosperity vault rotate) so backups' copies die too"))
    return 0


def _needles(args: argparse.Namespace) -> list[str]:
    found = list(args.needle)
    if args.needles_file:
        found += [line.strip() for line in args.needles_file.read_text().splitlines() if line.strip()]
    if args.demo:
        from services.demo_people import demo_identifiers

        found += demo_identifiers(args.seed, args.cases)
    return found


def scan(args: argparse.Namespace) -> int:
    needles = _needles(args)
    if not needles:
        print("prosperity vault scan: nothing to look for (--needle, --needles-file or --demo)", file=sys.stderr)
        return 2
    store = StoreSettings()
    with store_dsn(store) as dsn:
        schemas = schemas_like(dsn, store.pg_schema or "public")
        findings = scan_postgres(dsn, schemas, needles)
    if args.stream:
        findings += asyncio.run(_scan_stream(args.stream, needles))
    for finding in findings:
        print(f"FOUND {finding.needle!r} in {finding.where}")
    print(f"scanned {len(schemas)} schemas{' and the stream ' + args.stream if args.stream else ''} for "
          f"{len(needles)} identifiers: {len(findings)} found", file=sys.stderr)
    return 1 if findings else 0


async def _scan_stream(stream: str, needles: list[str]) -> list[Finding]:
    import nats

    from services.bus.settings import BusSettings

    settings = BusSettings()
    nc = await nats.connect(**settings.connect_options("admin"))  # reading a stream's messages is the admin's
    try:
        return await scan_stream(nc.jetstream(), stream, needles)
    finally:
        await nc.close()
