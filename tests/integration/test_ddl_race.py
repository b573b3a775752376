"""Processes creating the same schema or table at the same moment all start (services/infra/postgres_env.py).

Found by CI: the API's workers start together on a fresh schema; one worker's ``CREATE TABLE IF NOT EXISTS``
for the idempotency keys waited for another's uncommitted one, then failed with a unique violation on
PostgreSQL's catalogue, and the worker exited. Each test makes that interleaving happen every time: a second
session runs the same statement and holds it uncommitted while ours starts, then commits.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from services.api.idempotency import TABLE, IdempotencyStore
from services.infra.postgres_env import PgTarget, create_schema, drop_schema


def _while_another_session_creates_it(dsn: str, statement: sql.Composed, ours: Callable[[], None]) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            ours()
        except BaseException as error:  # the thread's failure is the test's
            errors.append(error)

    with psycopg.connect(dsn) as other:
        other.execute(statement)  # in its open transaction: our statement must wait for it
        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive(), "ours did not wait for the other session's uncommitted creation"
        other.commit()
        thread.join(30)
    assert not thread.is_alive()
    assert not errors, errors


def test_a_schema_another_process_is_creating_is_waited_for_then_used(pg_dsn: str) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    statement = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))

    def ours() -> None:
        with psycopg.connect(pg_dsn) as conn:
            create_schema(conn, schema)
            conn.execute(sql.SQL("CREATE TABLE {}.after (n int)").format(sql.Identifier(schema)))

    try:
        _while_another_session_creates_it(pg_dsn, statement, ours)
        with psycopg.connect(pg_dsn) as conn:  # ours went on in the same transaction after the race, and committed
            assert conn.execute("SELECT to_regclass(%s)", (f"{schema}.after",)).fetchone() == (f"{schema}.after",)
    finally:
        drop_schema(pg_dsn, schema)


def test_the_idempotency_table_another_worker_is_creating_is_waited_for_then_used(pg_schema: PgTarget) -> None:
    with ConnectionPool(pg_schema.dsn, min_size=1, max_size=1, open=True) as pool:
        store = IdempotencyStore(pool, pg_schema.schema)
        _while_another_session_creates_it(pg_schema.dsn, store.ddl(), store.create_table)  # as a worker runs it
        store.ping()
        with pool.connection() as conn:
            assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(pg_schema.schema, TABLE))).fetchone() == (0,)
