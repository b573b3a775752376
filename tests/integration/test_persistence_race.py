"""Two processes creating the relay's tracking table at once (services/infra/persistence.py): both read "no table"
before the DDL lock, one creates it, the other must then see it under the lock instead of inserting the table's
migration row a second time (found by the whole-system test starting two relays together on a fresh schema)."""

from __future__ import annotations

import threading
import time

import psycopg
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from services.infra.persistence import DDL_LOCK
from services.infra.postgres_env import PgTarget


def test_two_tracking_recorders_created_at_once_on_a_fresh_schema_both_start(pg_schema: PgTarget) -> None:
    env = pg_schema.eventsourcing_env(pool_size=1, max_overflow=1)
    errors: list[BaseException] = []
    factories: list[InfrastructureFactory] = []

    def start() -> None:
        try:
            factory = InfrastructureFactory.construct(env=Environment("natsrelay", env))
            factories.append(factory)
            factory.tracking_recorder()
        except BaseException as error:
            errors.append(error)

    with psycopg.connect(pg_schema.dsn) as holder:  # holds the DDL lock until both have read "no table"
        holder.execute("BEGIN")
        holder.execute(DDL_LOCK)
        threads = [threading.Thread(target=start) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(2.0)  # both past their pre-lock look at the table, both waiting on the lock
        holder.execute("COMMIT")
        for thread in threads:
            thread.join(30)
    for factory in factories:
        factory.close()
    assert not errors, errors
    with pg_schema.connect() as conn:
        rows = conn.execute("SELECT application_name, notification_id FROM natsrelay_tracking").fetchall()
    assert rows == [("__migration__", 1)]
