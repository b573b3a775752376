"""The tables of a read model's generation: the projection's own and the runtime's bookkeeping, and when a start
brings them up to date.

Why a digest: ``CREATE INDEX IF NOT EXISTS``, ``CREATE OR REPLACE TRIGGER`` and ``ALTER TABLE … IF NOT EXISTS`` lock
their table even when there is nothing to do, so running a projection's idempotent DDL at every start made a replica
starting beside one that was applying wait for that replica's batch, queue a stronger lock in front of its next one,
or deadlock with it (a two-replica benchmark's start crashed that way). Each generation records the digest of the DDL
it was last brought up to (``read_model_generations.ddl_digest``); a start runs the DDL only in a generation whose
digest differs from this code's, which happens once after an upgrade that changed it. Then the DDL's locks are waited
for at most ``lock_timeout`` a try, in a savepoint, and tried again: live replicas hold theirs for one batch.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import psycopg
import structlog
from psycopg import sql

from projections.base import Projection
from services.consumers import quarantine as q

STATES = ("building", "serving", "retired", "failed")
REGISTRY_DDL = f"""
CREATE TABLE IF NOT EXISTS read_model_generations (
    name text NOT NULL,
    generation int NOT NULL,
    version int NOT NULL,
    schema_name text NOT NULL,
    state text NOT NULL CONSTRAINT read_model_generations_state_check CHECK (state IN {STATES}),
    created_at timestamptz NOT NULL DEFAULT now(),
    switched_at timestamptz,
    failure text,
    PRIMARY KEY (name, generation)
);
DO $$ BEGIN
    IF to_regclass('read_model_one_serving') IS NULL THEN
        CREATE UNIQUE INDEX read_model_one_serving ON read_model_generations (name) WHERE state = 'serving';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'read_model_generations'::regclass
                   AND attname = 'failure' AND NOT attisdropped) THEN
        ALTER TABLE read_model_generations ADD COLUMN failure text;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'read_model_generations'::regclass
                   AND attname = 'ddl_digest' AND NOT attisdropped) THEN
        ALTER TABLE read_model_generations ADD COLUMN ddl_digest text;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'read_model_generations'::regclass
                   AND conname = 'read_model_generations_state_check'
                   AND pg_get_constraintdef(oid) LIKE '%failed%') THEN
        ALTER TABLE read_model_generations DROP CONSTRAINT IF EXISTS read_model_generations_state_check;
        ALTER TABLE read_model_generations ADD CONSTRAINT read_model_generations_state_check
            CHECK (state IN {STATES});
    END IF;
END $$
"""
"""The registry of generations (in the base schema). A registry made before ``failed`` (or ``ddl_digest``) existed is
brought up to date here; each change only when missing, since ``ALTER TABLE`` and ``CREATE INDEX`` lock the table
even when they have nothing to do."""

DDL_ATTEMPTS = 10
DDL_LOCK_TIMEOUT = "2s"
"""How long a start waits, per try, for the locks of DDL that changed (live replicas hold them briefly)."""

POSITIONS_DDL = (
    """CREATE TABLE IF NOT EXISTS consumer_positions (
        case_id uuid PRIMARY KEY,
        case_version bigint NOT NULL,
        notification_id bigint NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        quarantined_version bigint
    )""",
    "ALTER TABLE consumer_positions ADD COLUMN IF NOT EXISTS quarantined_version bigint",
)
"""One row per case: the version applied so far and, while the case is quarantined, the version it is held at."""


def digest(projection: Projection) -> str:
    """What a generation's tables are brought up to: every DDL statement this code runs in it."""
    text = "\n".join((*projection.ddl, *POSITIONS_DDL, *q.DDL))
    return hashlib.sha256(text.encode()).hexdigest()


def create_tables(conn: psycopg.Connection[Any], projection: Projection, schema: str) -> None:
    """Every table of a generation in ``schema`` (which is left as the transaction's ``search_path``). Every
    statement is ``IF NOT EXISTS`` (or ``OR REPLACE``): run again, it adds what was added to the code since."""
    conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
    for statement in (*projection.ddl, *POSITIONS_DDL, *q.DDL):
        conn.execute(statement.encode())


def bring_up_to_date(conn: psycopg.Connection[Any], projection: Projection, schema: str) -> None:
    """:func:`create_tables` in a live generation built by other code, waiting for live replicas' locks at most
    ``DDL_LOCK_TIMEOUT`` a try (``DDL_ATTEMPTS`` tries)."""
    for attempt in range(1, DDL_ATTEMPTS + 1):
        try:
            with conn.transaction():  # a savepoint: a try that waited too long is undone, then made again
                conn.execute(f"SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT}'".encode())
                create_tables(conn, projection, schema)
                conn.execute("SET LOCAL lock_timeout = DEFAULT")
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            if attempt == DDL_ATTEMPTS:
                raise
            structlog.get_logger().info("read_model.ddl_waiting", schema=schema, attempt=attempt)
            time.sleep(0.2 * attempt)
