"""Group commit over real PostgreSQL: concurrent saves of one process share transactions, their notification ids
stay gap-free, and one save's collision with another process never fails the others in its batch."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from services.casework.application import Casework, CommandResult
from services.infra.postgres_env import PgTarget
from tests.integration.test_casework_postgres import (
    COORD,
    CollidingCasework,
    iceland,
    meta,
    open_l1_case,
    service,
)


def env(pg_schema: PgTarget, window_ms: int) -> dict[str, str]:
    return {**pg_schema.eventsourcing_env(pool_size=4, max_overflow=8), "GROUP_COMMIT_WINDOW_MS": str(window_ms)}


def test_concurrent_commands_share_transactions_and_every_one_is_stored_once(pg_schema: PgTarget) -> None:
    app = Casework(env(pg_schema, 50))
    try:
        cases = [open_l1_case(app, f"person:child-gc-{i}") for i in range(12)]
        before = int(app.recorder.max_notification_id() or 0)
        saves, transactions = app.group_commit.saves, app.group_commit.transactions

        with ThreadPoolExecutor(len(cases)) as pool:
            results = list(pool.map(lambda case_id: app.record_service(service(case_id, "svc-1"), meta(COORD, 10)),
                                    cases))

        assert app.group_commit.saves - saves == len(cases)
        assert app.group_commit.transactions - transactions < len(cases)  # some saves shared a transaction
        notifications = app.recorder.select_notifications(before + 1, limit=1000)
        # Each first service raises the level: two facts a command, all stored, ids without a gap.
        assert [n.id for n in notifications] == list(range(before + 1, before + 2 * len(cases) + 1))
        assert sorted(str(n.originator_id) for n in notifications) == sorted(str(c) for c in cases for _ in "ab")
        for case_id, result in zip(cases, results, strict=True):
            assert iceland(app, case_id).services == {"svc-1": (1, True)}
            assert result.version == iceland(app, case_id).version
    finally:
        app.close()


def test_a_collision_in_a_batch_fails_only_its_own_save_which_is_retried(pg_schema: PgTarget) -> None:
    """A's save of case X collides with B (another process) in a batch shared with A's save of case Y: the batch
    is written again one by one, Y is stored, X's IntegrityError sends it back to Casework, which re-runs it on
    B's version. Both of A's commands succeed; B's service is kept."""
    setup = Casework(pg_schema.eventsourcing_env())
    other = Casework(pg_schema.eventsourcing_env())
    try:
        x, y = open_l1_case(setup, "person:child-gc-x"), open_l1_case(setup, "person:child-gc-y")
        app = CollidingCasework(env(pg_schema, 300),
                                before_save=lambda: other.record_service(service(x, "svc-b"), meta(COORD, 10)))
        try:
            outcomes: dict[str, Any] = {}

            def command(name: str, case_id: Any) -> None:
                outcomes[name] = app.record_service(service(case_id, f"svc-{name}"), meta(COORD, 10))

            first = threading.Thread(target=command, args=("x", x))
            first.start()
            time.sleep(0.1)  # X waits in the 300 ms window of its batch; Y joins it
            command("y", y)
            first.join(timeout=30)

            assert all(isinstance(o, CommandResult) for o in outcomes.values()), outcomes
            assert (app.attempts, app.lost_races) == (3, 1)
            assert app.group_commit.split_batches == 1  # X and Y did share the batch that collided
            assert set(iceland(setup, x).services) == {"svc-b", "svc-x"}
            assert set(iceland(setup, y).services) == {"svc-y"}
        finally:
            app.close()
    finally:
        other.close()
        setup.close()
