"""``prosperity deadletters list | retry | resolve``: the operator's view of quarantined facts, without the API.

A fact a read model could not apply is quarantined in that read model (``services.consumers.quarantine``): the
case is degraded there, its later versions wait, every other case flows. The operator

* **lists** what is quarantined (and which cases wait for a version that has not arrived) in each read model;
* fixes the cause (deploys the corrected projection, or repairs what its statements depend on), then **retries**:
  each quarantined fact is applied again with the projection as installed here, and its case catches up with its
  parked versions. A fact that still fails stays quarantined, with the new error;
* or **resolves** a fact that is not to be applied (it stays in the event store; the read model then lacks it,
  until a rebuild with a projection that can apply it): the case moves on.

Every change is logged (``deadletters.*``) with the case, version and read model, never the payload.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO
from uuid import UUID

import psycopg
import structlog

from domain import privacy
from domain.errors import InvalidValue
from services.consumers import quarantine as q
from services.consumers.registry import KNOWN, load_projection
from services.consumers.store import Generation, ReadModelStore
from services.settings import StoreSettings, store_dsn

log = structlog.get_logger()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="deadletters_command", required=True)
    listing = sub.add_parser("list", help="quarantined facts and waiting cases, per read model")
    listing.add_argument("read_models", nargs="*", help=f"default: {' '.join(KNOWN)}")
    retry = sub.add_parser("retry", help="apply quarantined facts again (after the cause is fixed)")
    retry.add_argument("read_models", nargs="*", help=f"default: {' '.join(KNOWN)}")
    retry.add_argument("--case", type=UUID, help="only this case")
    resolve = sub.add_parser("resolve", help="skip a quarantined fact in one read model; the case moves on")
    resolve.add_argument("read_model", help=" | ".join(KNOWN))
    resolve.add_argument("--case", type=UUID, required=True)
    resolve.add_argument("--reason", required=True, help="a reason code, e.g. forged_fact (PRIV-1: no free text)")


def run(args: argparse.Namespace, settings: StoreSettings, *, out: TextIO = sys.stdout) -> int:
    command: str = args.deadletters_command
    for name in ([args.read_model] if command == "resolve" else list(args.read_models)):
        try:
            load_projection(name)
        except ValueError as error:  # a mistyped read model: one line, not a traceback
            print(f"prosperity deadletters {command}: {error}", file=sys.stderr)
            return 2
    if command == "resolve":
        return resolve(settings, args.read_model, args.case, args.reason, out=out)
    names: list[str] = list(args.read_models) or list(KNOWN)
    if command == "retry":
        return retry(settings, names, args.case, out=out)
    return list_quarantined(settings, names, out=out)


@contextmanager
def _stores(settings: StoreSettings, names: Sequence[str]) -> Iterator[list[tuple[ReadModelStore, Generation]]]:
    """Each read model's store and live generations (serving, and any being built)."""
    with store_dsn(settings) as dsn:
        stores = [ReadModelStore(dsn, load_projection(name), base_schema=settings.pg_schema or "public", pool_size=1)
                  for name in names]
        try:
            live = []
            for store in stores:
                try:
                    live += [(store, generation) for generation in store.generations()]
                except psycopg.errors.UndefinedTable:
                    continue  # no registry yet: nothing was ever consumed
            yield live
        finally:
            for store in stores:
                store.close()


def _where(store: ReadModelStore, generation: Generation) -> str:
    return f"{store.projection.name} (generation {generation.number}, {generation.state})"


def list_quarantined(settings: StoreSettings, names: Sequence[str], *, out: TextIO = sys.stdout) -> int:
    with _stores(settings, names) as live:
        for store, generation in live:
            with store.reading(generation) as cur:
                degraded, waiting = q.degraded(cur), q.waiting(cur)
            print(f"{_where(store, generation)}: {len(degraded)} quarantined, {len(waiting)} waiting", file=out)
            for record, parked in degraded:
                print(f"  QUARANTINED case {record.case_id} at version {record.case_version} (notification "
                      f"{record.notification_id}, {record.event_type}) since {record.quarantined_at:%Y-%m-%d %H:%M}"
                      f", {record.attempts} attempt(s), {parked} later version(s) parked\n"
                      f"    error: {record.error}", file=out)
            for case in waiting:
                print(f"  WAITING case {case.case_id} for version {case.applied_version + 1} ({case.parked} later "
                      f"version(s) parked since {case.oldest_parked_at:%Y-%m-%d %H:%M})", file=out)
    return 0


def retry(settings: StoreSettings, names: Sequence[str], case_id: UUID | None, *, out: TextIO = sys.stdout) -> int:
    still_failing = tried = 0
    with _stores(settings, names) as live:
        for store, generation in live:
            with store.reading(generation) as cur:
                cases = [record.case_id for record, _ in q.degraded(cur) if case_id in (None, record.case_id)]
            tried += len(cases)
            for case in cases:
                with store.writing(generation) as cur:
                    applied, record = q.retry_in(cur, store.projection, case)
                where = _where(store, generation)
                if not applied:
                    still_failing += 1
                    log.warning("deadletters.retry_failed", read_model=store.projection.name, case_id=str(case),
                                case_version=record.case_version, error=record.error[:200])
                    print(f"{where}: case {case} version {record.case_version} still fails: {record.error}", file=out)
                    continue
                again = store.drain(generation.schema, case)
                log.info("deadletters.retried", read_model=store.projection.name, case_id=str(case),
                         case_version=record.case_version, quarantined_again=len(again))
                print(f"{where}: case {case} version {record.case_version} applied; the case caught up"
                      + (f" to version {again[0].case_version}, quarantined there" if again else ""), file=out)
                still_failing += len(again)
    if not tried:
        which = f"case {case_id}" if case_id else "any case"
        print(f"nothing to retry: no quarantined fact of {which} in {', '.join(names)}. A case WAITING for a version"
              " that never arrived (`prosperity deadletters list`) is caught up by `prosperity rebuild <read model>`.",
              file=out)
    return 1 if still_failing else 0


def resolve(settings: StoreSettings, name: str, case_id: UUID, reason: str, *, out: TextIO = sys.stdout) -> int:
    try:
        privacy.check_code("--reason", reason)
    except InvalidValue as error:
        print(f"prosperity deadletters resolve: {error}", file=sys.stderr)
        return 2
    with _stores(settings, [name]) as live:
        serving = [(store, generation) for store, generation in live if generation.state == "serving"]
        for store, generation in serving:
            try:
                with store.writing(generation) as cur:
                    record = q.resolve_in(cur, case_id, reason)
            except q.NotQuarantined as error:
                print(f"prosperity deadletters resolve: {error}", file=sys.stderr)
                return 2
            again = store.drain(generation.schema, case_id)
            log.warning("deadletters.resolved", read_model=name, case_id=str(case_id),
                        case_version=record.case_version, reason=reason)
            print(f"{_where(store, generation)}: case {case_id} version {record.case_version} skipped ({reason}); "
                  f"the read model lacks that fact until a rebuild"
                  + (f"; quarantined again at version {again[0].case_version}" if again else ""), file=out)
            return 0
    print(f"prosperity deadletters resolve: no serving generation of {name}", file=sys.stderr)
    return 2
