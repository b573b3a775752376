"""The cost of the access checks on an in-process command, against the same command without them, in one run.

1. setup: N Iceland cases opened and taken to integration (level 1 active) through ``Casework``, on the chosen
   store (``memory``: eventsourcing's POPO recorder, the worst case for the ratio since nothing else costs;
   ``postgres``: an isolated schema on ``PROSPERITY_PG_DSN``, dropped at the end);
2. rounds of matched pairs: on every case, ``Casework.record_service`` by the case's coordinator twice, once with
   the access model (``domain.access.may_see_case`` and ``authorize_command``, as shipped) and once, as the floor,
   with both replaced by no-ops (the same code path less the checks), which one first alternating case by case,
   so the case's growth and the machine's drift fall on both alike;
3. the checks alone: ``relations_to_case`` + ``authorize_command`` on a loaded case, timed in a tight loop.

Reported: commands/s and µs per command with and without the checks (median over rounds), the cost as a
ratio (goal: < 5 %), the checks' own µs per call, load averages before and after, and the machine.

    .venv/bin/python -m bench.access_checks [--store memory|postgres|both] [--cases 300] [--rounds 6]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID

from contracts import commands as c
from domain import access
from domain.values import Actor, Role
from services.casework import application
from services.casework.application import Casework, CommandMeta
from services.infra.postgres_env import PgTarget, drop_schema, ensure_schema
from services.walkthrough import ensure_institution

SCHOOL, MUNICIPALITY = "org:school-bench-1", "muni:reykjavik"
COORD = Actor("person:coord-bench-1", Role.COORDINATOR, SCHOOL)
LEAD = Actor("person:lead-bench-1", Role.MUNICIPALITY_LEAD, "org:town-hall-bench", MUNICIPALITY)


class _NoChecks:
    """The floor: the access model's two entry points as no-ops (everything else of ``Casework`` unchanged)."""

    @staticmethod
    def may_see_case(actor: Actor, case: Any) -> bool:
        return True

    @staticmethod
    def authorize_command(actor: Actor, command: str, case: Any, fields: Any) -> frozenset[access.Relation]:
        return frozenset()


@contextmanager
def without_checks() -> Iterator[None]:
    shipped = application.access
    application.access = _NoChecks  # type: ignore[assignment]
    try:
        yield
    finally:
        application.access = shipped


def open_cases(app: Casework, n: int) -> list[UUID]:
    ensure_institution(app, SCHOOL, "secondary_school", MUNICIPALITY, "IS", COORD.person_ref, CommandMeta(LEAD))
    run = f"{uuid.uuid4().hex[:6]}x"  # never six digits in a row: with "-1234" that is an ID number's shape (PRIV-1)
    cases = []
    for i in range(n):
        child, parent = f"person:child-{run}-{i}", f"person:parent-{run}-{i}"
        case_id = app.register_contact(c.RegisterContact(
            child_ref=child, parent_refs=(parent,), birth_date=date(2009, 3, 1), municipality_ref=MUNICIPALITY,
            coordinator_ref=COORD.person_ref, coordinator_org_ref=SCHOOL, life_stage="secondary",
            conflict_of_interest_declared_none=True), CommandMeta(COORD)).case_id
        app.record_integration_request(c.RecordIntegrationRequest(
            case_id=case_id, request_id="request-1", requested_by_refs=(parent,), requester_roles=("parent",),
            written=True, form_doc_ref="doc:request-1"), CommandMeta(COORD))
        cases.append(case_id)
    return cases


def _service(app: Casework, case_id: UUID, service_id: str) -> int:
    command = c.RecordService(case_id=case_id, service_id=service_id, provider_org_ref=SCHOOL, service_level=1,
                              service_type_code="study_support", start_date=date(2026, 1, 5))
    started = time.perf_counter_ns()
    app.record_service(command, CommandMeta(COORD))
    return time.perf_counter_ns() - started


def one_round(app: Casework, cases: list[UUID], serial: int) -> tuple[float, float]:
    """Seconds to record one service on every case with the checks, and one without (matched pairs)."""
    checked = bare = 0
    for i, case_id in enumerate(cases):
        for with_checks in ((True, False) if (i + serial) % 2 else (False, True)):
            if with_checks:
                checked += _service(app, case_id, f"svc-{serial}-a")
            else:
                with without_checks():
                    bare += _service(app, case_id, f"svc-{serial}-b")
    return checked / 1e9, bare / 1e9


def checks_alone(app: Casework, case_id: UUID, calls: int = 20_000) -> float:
    """µs per call of what ``Casework`` adds per attempt: may_see_case + authorize_command."""
    case = app.get_case(case_id)
    fields = {"service_id": "svc-x", "provider_org_ref": SCHOOL, "service_level": 1,
              "service_type_code": "study_support", "start_date": date(2026, 1, 5)}
    started = time.perf_counter()
    for _ in range(calls):
        access.may_see_case(COORD, case)
        access.authorize_command(COORD, "RecordService", case, fields)
    return (time.perf_counter() - started) / calls * 1e6


def measure(label: str, app: Casework, cases: int, rounds: int) -> None:
    print(f"\n== {label}: {cases} cases, {rounds} rounds of matched pairs ==", flush=True)
    opened = open_cases(app, cases)
    one_round(app, opened, 0)  # warm-up: caches, pools and pages
    pairs = [one_round(app, opened, serial) for serial in range(1, rounds + 1)]
    with_checks, floor = [p[0] for p in pairs], [p[1] for p in pairs]
    checked, bare = statistics.median(with_checks), statistics.median(floor)
    print(f"  with the access checks   {cases / checked:>9,.0f} commands/s   {checked / cases * 1e6:>8.1f} µs/command"
          f"   (rounds: {', '.join(f'{cases / s:,.0f}' for s in with_checks)})")
    print(f"  floor, checks as no-ops  {cases / bare:>9,.0f} commands/s   {bare / cases * 1e6:>8.1f} µs/command"
          f"   (rounds: {', '.join(f'{cases / s:,.0f}' for s in floor)})")
    alone = checks_alone(app, opened[0])
    print(f"  cost of the checks: {checked / bare - 1:+.1%} of a command (goal < 5 %), per round "
          f"{', '.join(f'{a / b - 1:+.1%}' for a, b in pairs)}")
    print(f"  the checks alone: {alone:.1f} µs per command attempt = {alone / (bare / cases * 1e6):.1%} of the floor's "
          "command")


def machine() -> str:
    return (f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"{platform.processor() or platform.machine()}")


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


@contextmanager
def memory_app() -> Iterator[Casework]:
    app = Casework({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        yield app
    finally:
        app.close()


@contextmanager
def postgres_app() -> Iterator[Casework]:
    dsn = os.environ.get("PROSPERITY_PG_DSN")
    if not dsn:
        raise SystemExit("--store postgres needs PROSPERITY_PG_DSN")
    target = PgTarget(dsn, f"bench_access_{uuid.uuid4().hex[:8]}")
    ensure_schema(dsn, target.schema)
    app = Casework(target.eventsourcing_env(pool_size=2))
    try:
        yield app
    finally:
        app.close()
        drop_schema(dsn, target.schema)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--store", choices=["memory", "postgres", "both"], default="both")
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    print(f"machine: {machine()}\nload average (1/5/15 min) at the start: {load()}", flush=True)
    runs: list[tuple[str, Callable[[], Any]]] = []
    if args.store in ("memory", "both"):
        runs.append(("in-memory store (POPO)", memory_app))
    if args.store in ("postgres", "both") and (args.store == "postgres" or os.environ.get("PROSPERITY_PG_DSN")):
        runs.append(("PostgreSQL", postgres_app))
    for label, make in runs:
        with make() as app:
            measure(label, app, args.cases, args.rounds)
    print(f"\nload average (1/5/15 min) at the end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
