"""``prosperity audit verify``: replay the event store and check the audit trail against it.

To hook into ``services/cli.py`` (the lead's file)::

    audit = sub.add_parser("audit", help="audit trail tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify_parser = audit_sub.add_parser("verify", help="replay the event store and check the audit trail")
    add_verify_arguments(verify_parser)
    ...
    if args.command == "audit" and args.audit_command == "verify":
        from services.audit.cli import verify_command
        return verify_command(settings, up_to=args.up_to)

Exit status: 0 the audit trail matches the event store; 1 a divergence (printed with case, version,
notification id and what differs); 2 nothing to verify against (no audit read model has been built).
Progress goes to stderr, the verdict to stdout. Run it when the audit consumer has caught up, or pass
``--up-to`` (a notification id the consumer is known to have passed): a fact not yet applied is reported as
a missing row, with a note that the consumer's position shows lag rather than removal.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import psycopg

from projections.audit.projection import AuditProjection
from services.audit.verify import verify
from services.casework.application import Casework
from services.consumers.store import ReadModelStore
from services.infra.postgres_env import ensure_schema, eventsourcing_env
from services.settings import StoreSettings, store_dsn, with_event_cipher

EXIT_OK, EXIT_DIVERGENCE, EXIT_NOTHING_TO_VERIFY = 0, 1, 2


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--up-to", type=int, default=None, metavar="NOTIFICATION_ID",
                        help="verify only the facts up to this notification id (default: all)")


def verify_command(settings: StoreSettings, *, up_to: int | None = None, out: TextIO | None = None,
                   err: TextIO | None = None) -> int:
    """Verify the serving audit generation against the configured event store; 0 ok, 1 divergence."""
    out, err = out or sys.stdout, err or sys.stderr
    with store_dsn(settings) as dsn:
        if settings.pg_schema:
            ensure_schema(dsn, settings.pg_schema)
        env = eventsourcing_env(dsn, settings.pg_schema)
        env["POSTGRES_POOL_SIZE"] = str(settings.pg_pool_size)
        app = Casework(env=with_event_cipher(env, settings))
        store = ReadModelStore(dsn, AuditProjection(), base_schema=settings.pg_schema or "public", pool_size=1)
        try:
            try:
                generation = store.serving()
            except (LookupError, psycopg.Error) as error:  # no registry, or no serving generation: never built
                print(f"audit verify: no audit read model to verify ({error}); run `prosperity consume audit`",
                      file=err)
                return EXIT_NOTHING_TO_VERIFY

            def progress(done: int, total: int) -> None:
                err.write(f"\r  verifying audit generation {generation.number}: {done}/{total} events")
                err.flush()

            with store.reading(generation) as cursor:
                report = verify(app, cursor, up_to=up_to, progress=progress)
            err.write("\n")
            print(report.describe(), file=out)
            return EXIT_OK if report.ok else EXIT_DIVERGENCE
        finally:
            store.close()
            app.close()
