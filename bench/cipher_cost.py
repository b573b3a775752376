"""The cost of encrypting stored events at rest (eventsourcing's AESCipher), against the same run without it.

1. two applications on the same store kind, one with ``CIPHER_TOPIC=eventsourcing.cryptography:AESCipher`` and a
   256-bit ``CIPHER_KEY`` (as ``PROSPERITY_EVENT_CIPHER_KEY`` switches on), one without; each its own schema
   (``postgres``: isolated schemas on ``PROSPERITY_PG_DSN``, dropped at the end; ``memory``: eventsourcing's POPO
   recorder, the worst case for the ratio since nothing else costs);
2. rounds of matched pairs, case by case on both applications, which one first alternating: write (open an
   Iceland case, record its request and a service: 3 facts, one transaction per command) and read (load the case
   from its events, as every command and case read does; snapshots are off, so every fact is decrypted);
3. the cipher alone: encrypt + decrypt of one typical stored state, in a tight loop.

Reported: commands/s and case loads/s with and without the cipher (median over rounds), the ratio, the cipher's
own µs per event, load averages before and after, and the machine.

    .venv/bin/python -m bench.cipher_cost [--store memory|postgres|both] [--cases 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.cryptography import AESCipher

from bench.access_checks import COORD, LEAD, MUNICIPALITY, SCHOOL, load, machine
from contracts import commands as c
from services.casework.application import Casework, CommandMeta
from services.infra.postgres_env import PgTarget, drop_schema, ensure_schema
from services.settings import EVENT_CIPHER_TOPIC
from services.walkthrough import ensure_institution

KEY = AESCipher.create_key(32)


def _one_case(app: Casework, tag: str) -> tuple[int, UUID]:
    """Nanoseconds for one case's three commands (open, request, service): one transaction each."""
    child, parent = f"person:child-{tag}", f"person:parent-{tag}"
    started = time.perf_counter_ns()
    case_id = app.register_contact(c.RegisterContact(
        child_ref=child, parent_refs=(parent,), birth_date=date(2012, 3, 1), municipality_ref=MUNICIPALITY,
        coordinator_ref=COORD.person_ref, coordinator_org_ref=SCHOOL, life_stage="secondary",
        conflict_of_interest_declared_none=True), CommandMeta(COORD)).case_id
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id="request-1", requested_by_refs=(parent,), requester_roles=("parent",),
        written=True, form_doc_ref="doc:request-1"), CommandMeta(COORD))
    app.record_service(c.RecordService(case_id=case_id, service_id="svc-1", provider_org_ref=SCHOOL,
                                       service_level=1, service_type_code="study_support",
                                       start_date=date(2026, 1, 5)), CommandMeta(COORD))
    return time.perf_counter_ns() - started, case_id


def _load(app: Casework, case_id: UUID) -> int:
    started = time.perf_counter_ns()
    app.get_case(case_id)
    return time.perf_counter_ns() - started


def one_round(apps: dict[bool, Casework], cases: int, serial: int) -> dict[bool, tuple[float, float]]:
    """Matched pairs: case by case, the same commands and loads on both applications, which one first
    alternating, so the machine's drift (shared with other work) falls on both alike. Seconds per side."""
    spent = {True: [0, 0], False: [0, 0]}
    tag = f"{uuid.uuid4().hex[:6]}x"  # never six digits in a row (PRIV-1 refuses an ID number's shape)
    for i in range(cases):
        for with_cipher in ((True, False) if (i + serial) % 2 else (False, True)):
            took, case_id = _one_case(apps[with_cipher], f"{tag}-{i}-{int(with_cipher)}")
            spent[with_cipher][0] += took
            spent[with_cipher][1] += _load(apps[with_cipher], case_id)
    return {k: (v[0] / 1e9, v[1] / 1e9) for k, v in spent.items()}


def cipher_alone(calls: int = 50_000) -> float:
    """µs per encrypt + decrypt of a stored state the size of a ``ContactRegistered`` fact's (~600 bytes)."""
    cipher = AESCipher({"CIPHER_KEY": KEY})  # type: ignore[arg-type]
    state = json.dumps({"child_ref": "person:child-x", "parent_refs": ["person:parent-x"], "pad": "x" * 500}).encode()
    started = time.perf_counter()
    for _ in range(calls):
        cipher.decrypt(cipher.encrypt(state))
    return (time.perf_counter() - started) / calls * 1e6


def measure(label: str, make: Callable[[bool], Any], cases: int, rounds: int) -> None:
    print(f"\n== {label}: {cases} cases x 3 commands + 1 load per round, {rounds} rounds of matched pairs ==",
          flush=True)
    with make(True) as ciphered, make(False) as plain:
        apps = {True: ciphered, False: plain}
        for app in apps.values():
            ensure_institution(app, SCHOOL, "secondary_school", MUNICIPALITY, "IS", COORD.person_ref,
                               CommandMeta(LEAD))
        one_round(apps, 20, 0)  # warm-up: pools, caches, pages
        results = [one_round(apps, cases, serial) for serial in range(1, rounds + 1)]
    for kind, index, unit in (("commands", 0, 3 * cases), ("case loads", 1, cases)):
        on = statistics.median(r[True][index] for r in results)
        off = statistics.median(r[False][index] for r in results)
        print(f"  {kind:<10} with the cipher {unit / on:>9,.0f}/s   without {unit / off:>9,.0f}/s   "
              f"cost {on / off - 1:+.1%}   (per round: "
              f"{', '.join(f'{r[True][index] / r[False][index] - 1:+.1%}' for r in results)})")
    print(f"  the cipher alone: {cipher_alone():.1f} µs per event (encrypt + decrypt)")


@contextmanager
def memory_app(with_cipher: bool) -> Iterator[Casework]:
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if with_cipher:
        env |= {"CIPHER_TOPIC": EVENT_CIPHER_TOPIC, "CIPHER_KEY": KEY}
    app = Casework(env)
    try:
        yield app
    finally:
        app.close()


@contextmanager
def postgres_app(with_cipher: bool) -> Iterator[Casework]:
    dsn = os.environ.get("PROSPERITY_PG_DSN")
    if not dsn:
        raise SystemExit("--store postgres needs PROSPERITY_PG_DSN")
    target = PgTarget(dsn, f"bench_cipher_{uuid.uuid4().hex[:8]}")
    ensure_schema(dsn, target.schema)
    env = target.eventsourcing_env(pool_size=2)
    if with_cipher:
        env |= {"CIPHER_TOPIC": EVENT_CIPHER_TOPIC, "CIPHER_KEY": KEY}
    app = Casework(env)
    try:
        yield app
    finally:
        app.close()
        drop_schema(dsn, target.schema)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--store", choices=["memory", "postgres", "both"], default="both")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"machine: {machine()}\nload average (1/5/15 min) at the start: {load()}", flush=True)
    runs: list[tuple[str, Callable[[bool], Any]]] = []
    if args.store in ("memory", "both"):
        runs.append(("in-memory store (POPO)", memory_app))
    if args.store in ("postgres", "both") and (args.store == "postgres" or os.environ.get("PROSPERITY_PG_DSN")):
        runs.append(("PostgreSQL", postgres_app))
    for label, make in runs:
        measure(label, make, args.cases, args.rounds)
    print(f"\nload average (1/5/15 min) at the end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
