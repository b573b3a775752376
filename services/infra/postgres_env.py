"""Translate one PostgreSQL DSN into the settings eventsourcing reads.

Why: everything else in the project (psycopg, tests, ops tooling) speaks libpq DSNs, but eventsourcing
only accepts separate ``POSTGRES_*`` keys. Converting in one place keeps the application, the CLI and
the test fixtures pointed at exactly the same database, including Unix-socket hosts used by the
embedded server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

DEFAULT_PORT = "5432"

# DSN keys eventsourcing can carry. Anything else (sslmode, options, ...) would be silently lost,
# so it is rejected instead; libpq still honours PGSSLMODE and friends from the environment.
_SUPPORTED_KEYS = frozenset({"host", "port", "dbname", "user", "password", "connect_timeout"})


def eventsourcing_env(dsn: str, schema: str | None = None) -> dict[str, str]:
    """Return the eventsourcing persistence settings for ``dsn`` (a URI or ``key=value`` conninfo).

    ``host`` may be a Unix-socket directory. ``schema`` selects ``POSTGRES_SCHEMA``; it must already
    exist, because eventsourcing creates tables but not schemas (see :func:`ensure_schema`).
    Missing ``user`` and ``dbname`` are errors rather than libpq's OS-user defaults, so a
    misconfigured deployment fails loudly instead of writing to an unexpected database.
    """
    params = {key: str(value) for key, value in conninfo_to_dict(dsn).items() if value is not None}
    unsupported = sorted(set(params) - _SUPPORTED_KEYS)
    if unsupported:
        raise ValueError(f"DSN parameters not supported by eventsourcing: {', '.join(unsupported)}")
    for required in ("host", "user", "dbname"):
        if not params.get(required):
            raise ValueError(f"DSN must name a {required}")
    if "," in params["host"] or "," in params.get("port", ""):
        raise ValueError("multi-host DSNs are not supported by eventsourcing")

    env = {
        "PERSISTENCE_MODULE": "services.infra.persistence:Factory",
        "POSTGRES_DBNAME": params["dbname"],
        "POSTGRES_HOST": params["host"],
        "POSTGRES_PORT": params.get("port") or DEFAULT_PORT,
        "POSTGRES_USER": params["user"],
        # eventsourcing insists on the key; an empty password means "use trust/peer/.pgpass".
        "POSTGRES_PASSWORD": params.get("password", ""),
    }
    if "connect_timeout" in params:
        env["POSTGRES_CONNECT_TIMEOUT"] = params["connect_timeout"]
    if schema:
        env["POSTGRES_SCHEMA"] = schema
    return env


def create_if_absent(conn: psycopg.Connection[Any], statement: sql.Composed) -> None:
    """Run a ``CREATE … IF NOT EXISTS`` in ``conn``'s transaction, safe when processes race to run it.

    Why by hand: two ``IF NOT EXISTS`` at the same moment still race in PostgreSQL's catalogue (the API's workers
    and every service at ``up`` start together): the loser waits for the winner's commit, then fails with a unique
    violation on the catalogue. By then the object exists, so the loser's savepoint is undone and it goes on. No
    lock, so no lock order to keep with the services' own DDL locks, and a process of an older version that takes
    no lock cannot make it fail.
    """
    try:
        with conn.transaction():
            conn.execute(statement)
    except psycopg.errors.UniqueViolation:
        pass


def create_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    """``CREATE SCHEMA IF NOT EXISTS`` by :func:`create_if_absent`."""
    create_if_absent(conn, sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def ensure_schema(dsn: str, schema: str) -> None:
    """Create ``schema`` if it does not exist (eventsourcing will not)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        create_schema(conn, schema)


def drop_schema(dsn: str, schema: str) -> None:
    """Drop ``schema`` and everything in it; used to throw away per-test schemas.

    A lock timeout turns "a leaked connection still holds a lock" into an error instead of a hang.
    Read models keep their generations in sibling schemas ``<schema>__<name>_g<n>``; they go too.
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")
        siblings = conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                                (f"{schema}__",)).fetchall()
        for name in [schema, *(row[0] for row in siblings)]:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@dataclass(frozen=True)
class PgTarget:
    """A database plus the schema that one application instance (or one test) owns."""

    dsn: str
    schema: str

    def eventsourcing_env(self, pool_size: int = 2, max_overflow: int = 4) -> dict[str, str]:
        """eventsourcing settings for this target, with a small pool.

        The pool is kept small because every Application and projection opens its own pool, and
        tests create many of them against one server.
        """
        env = eventsourcing_env(self.dsn, self.schema)
        env["POSTGRES_POOL_SIZE"] = str(pool_size)
        env["POSTGRES_MAX_OVERFLOW"] = str(max_overflow)
        return env

    def connect(self) -> psycopg.Connection[TupleRow]:
        """A psycopg connection whose ``search_path`` is this schema, for read models and assertions."""
        return psycopg.connect(self.dsn, options=f"-c search_path={self.schema}")
