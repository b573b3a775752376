"""Rebuilding a read model into fresh tables while the old ones serve and live events keep arriving."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from contracts.events import parse_event
from contracts.mapping import PUBLISHED_TOPICS, MunicipalityTracker
from services.casework.application import Casework
from services.cli import rebuild_read_model
from services.consumers import schema_ddl
from services.consumers.rebuild import RebuildFailed, RebuildRunning, rebuild
from services.consumers.replay import published_events
from services.consumers.store import ReadModelStore
from services.infra.postgres_env import PgTarget
from services.settings import StoreSettings
from services.walkthrough import iceland_lifecycle, norway_lifecycle
from tests.integration.consumer_support import EventTally, FragileDashboard
from tests.integration.test_quarantine import write_around_the_api


def rows(store: ReadModelStore) -> list[tuple[Any, ...]]:
    with store.reading() as cur:
        return cur.execute("SELECT case_id, case_version, event_type, previous_version FROM tally"
                           " ORDER BY case_id, case_version").fetchall()


def test_rebuild_fills_a_new_generation_while_the_old_serves_and_live_events_arrive(pg_schema: PgTarget) -> None:
    app = Casework(env=pg_schema.eventsourcing_env())
    store = ReadModelStore(pg_schema.dsn, EventTally(), base_schema=pg_schema.schema)
    try:
        first = store.setup()
        iceland_lifecycle(app, child="person:child-a")
        for event in published_events(app):
            store.apply(event)
        before = rows(store)

        # A live consumer keeps applying what is stored while the rebuild runs.
        tracker, live_position, stop = MunicipalityTracker(), [0], threading.Event()

        def live_consumer() -> None:
            while not stop.is_set():
                for n in app.recorder.select_notifications(start=live_position[0], limit=100,
                                                           inclusive_of_start=False, topics=PUBLISHED_TOPICS):
                    store.apply(parse_event(tracker.to_published(app.mapper.to_domain_event(n), n.id,
                                                                 app.name).payload))
                    live_position[0] = n.id

        consumer = threading.Thread(target=live_consumer)
        consumer.start()
        norway_lifecycle(app, child="person:child-b")
        progress: list[tuple[int, int]] = []
        report = rebuild(store, app, progress=lambda done, total: progress.append((done, total)))
        iceland_lifecycle(app, child="person:child-c")
        while live_position[0] < (app.recorder.max_notification_id() or 0):
            threading.Event().wait(0.05)
        stop.set()
        consumer.join()

        assert report.generation.number == first.number + 1
        assert store.serving().number == report.generation.number
        assert progress and progress[-1][0] == progress[-1][1]
        rebuilt = rows(store)
        assert set(before) <= set(rebuilt)
        expected = ReadModelStore(pg_schema.dsn, EventTally(), base_schema=f"{pg_schema.schema}__scratch")
        try:
            expected.setup()
            for event in published_events(app):
                expected.apply(event)
            assert rebuilt == rows(expected)
        finally:
            expected.close()
        assert all(row[3] == row[1] - 1 for row in rebuilt)
    finally:
        store.close()
        app.close()


# ---- a rebuild that cannot finish never leaves a generation building ---------------------------------------
def registry(store: ReadModelStore) -> list[tuple[int, str, str | None]]:
    with psycopg.connect(store.dsn) as conn:
        return conn.execute(sql.SQL("SELECT generation, state, failure FROM {}.read_model_generations WHERE name = %s"
                                    " ORDER BY generation").format(sql.Identifier(store.base_schema)),
                            (store.projection.name,)).fetchall()


def test_a_rebuild_that_cannot_apply_a_fact_marks_its_generation_failed_names_the_fact_and_the_old_one_serves(
        pg_schema: PgTarget, capsys: pytest.CaptureFixture[str]) -> None:
    app = Casework(env=pg_schema.eventsourcing_env())
    fragile = ReadModelStore(pg_schema.dsn, FragileDashboard(), base_schema=pg_schema.schema)
    try:
        iceland_lifecycle(app, child="person:child-a")
        first = fragile.setup()
        for event in published_events(app):
            fragile.apply(event)
        poisoned = iceland_lifecycle(app, child="person:child-b")
        version = write_around_the_api(app, poisoned, datetime(1, 1, 1, tzinfo=UTC))
        notification = app.recorder.max_notification_id()

        with pytest.raises(RebuildFailed) as failed:
            rebuild(fragile, app)
        assert f"case {poisoned} version {version} (notification {notification}, child_views_recorded)" in str(
            failed.value) and "OverflowError" in str(failed.value)
        assert registry(fragile)[:2] == [(1, "serving", None), (2, "failed", failed.value.reason)]
        assert fragile.serving() == first and [g.number for g in fragile.generations()] == [1]

        fragile.begin_generation()  # a rebuild that is killed leaves its generation building ...
        settings = StoreSettings(pg_dsn=pg_schema.dsn, pg_schema=pg_schema.schema)
        assert rebuild_read_model(settings, "tests.integration.consumer_support:FragileDashboard") == 1
        assert f"case {poisoned} version {version}" in capsys.readouterr().err
        assert [(n, state) for n, state, _ in registry(fragile)] == [(1, "serving"), (2, "failed"), (3, "failed"),
                                                                     (4, "failed")]
        assert "abandoned" in (registry(fragile)[2][2] or "")  # ... and the next rebuild marks it failed

        assert rebuild_read_model(settings, "dashboard") == 0  # once the projection is fixed
        assert [(n, state) for n, state, _ in registry(fragile)][-1] == (5, "serving")
    finally:
        fragile.close()
        app.close()


def test_only_one_rebuild_of_a_read_model_runs_at_a_time(pg_schema: PgTarget) -> None:
    app = Casework(env=pg_schema.eventsourcing_env())
    store = ReadModelStore(pg_schema.dsn, EventTally(), base_schema=pg_schema.schema)
    try:
        store.setup()
        with psycopg.connect(pg_schema.dsn, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"rebuild {pg_schema.schema} tally",))
            with pytest.raises(RebuildRunning):
                rebuild(store, app)
        assert [state for _, state, _ in registry(store)] == ["serving"]
    finally:
        store.close()
        app.close()


@pytest.mark.parametrize("name", ["dashboard", "audit", "notifications"])
def test_an_index_added_since_a_generation_was_built_is_added_at_the_next_start(pg_schema: PgTarget,
                                                                                  name: str) -> None:
    """ReadModelStore.setup runs the projection's (idempotent) DDL again in every live generation built by other
    code (its ``ddl_digest`` differs): the notifications' ``deadlines_case`` index, say, reaches a generation built
    before it without a rebuild."""
    from services.consumers.registry import load_projection

    store = ReadModelStore(pg_schema.dsn, load_projection(name), base_schema=pg_schema.schema, pool_size=1)
    try:
        generation = store.setup()
        with psycopg.connect(pg_schema.dsn, autocommit=True) as conn:
            indexes = [row[0] for row in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND indexname NOT LIKE '%%pkey'",
                (generation.schema,)).fetchall()]
            assert indexes
            for index in indexes:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(generation.schema, index)))
            conn.execute(sql.SQL("UPDATE {}.read_model_generations SET ddl_digest = NULL").format(
                sql.Identifier(pg_schema.schema)))  # as a generation built before its indexes were added
        assert store.setup().schema == generation.schema  # a second start: DDL again, nothing else changes
        with psycopg.connect(pg_schema.dsn) as conn:
            again = [row[0] for row in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND indexname NOT LIKE '%%pkey'",
                (generation.schema,)).fetchall()]
        assert sorted(again) == sorted(indexes)
        if name == "notifications":
            assert "deadlines_case" in again
    finally:
        store.close()


@pytest.mark.parametrize("name", ["dashboard", "audit", "notifications"])
def test_a_start_beside_a_replica_that_is_writing_takes_no_lock_on_its_tables(pg_schema: PgTarget, name: str) -> None:
    """A replica starting while another one holds its write locks (an open batch) must not wait for them, nor queue
    a stronger lock in front of the next batch: with its tables up to date, ``setup`` runs no DDL in them (a
    ``CREATE INDEX IF NOT EXISTS`` locks its table even when the index exists; a start deadlocked that way)."""
    from services.consumers.registry import load_projection

    store = ReadModelStore(pg_schema.dsn, load_projection(name), base_schema=pg_schema.schema, pool_size=1)
    try:
        generation = store.setup()
        with psycopg.connect(pg_schema.dsn) as writer:  # a live batch, not committed yet: RowExclusive locks
            tables = [row[0] for row in writer.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (generation.schema,)).fetchall()]
            for table in tables:
                writer.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(
                    sql.Identifier(generation.schema, table)))
            started = threading.Thread(target=store.setup, daemon=True)
            started.start()
            started.join(timeout=20)
            blocked = started.is_alive()
            writer.rollback()
        started.join(timeout=20)
        assert not blocked, "setup waited for the live replica's locks"
    finally:
        store.close()


def test_changed_ddl_waits_for_a_live_replica_then_is_applied(pg_schema: PgTarget) -> None:
    """DDL that did change (a generation built by other code) is applied at the start even while a replica holds
    its batch's locks: the start waits for them a bounded time a try, and tries again until they are released."""
    from services.consumers.registry import load_projection

    store = ReadModelStore(pg_schema.dsn, load_projection("notifications"), base_schema=pg_schema.schema, pool_size=1)
    try:
        generation = store.setup()
        with psycopg.connect(pg_schema.dsn) as writer:
            writer.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(generation.schema, "deadlines_case")))
            writer.execute(sql.SQL("UPDATE {}.read_model_generations SET ddl_digest = 'older code'").format(
                sql.Identifier(pg_schema.schema)))
            writer.commit()
            writer.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(
                sql.Identifier(generation.schema, "deadlines")))
            release = threading.Timer(3.0, writer.rollback)  # the replica's batch ends after a lock_timeout or so
            release.start()
            store.setup()
            release.join()
        with psycopg.connect(pg_schema.dsn) as conn:
            indexes = {row[0] for row in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s",
                                                      (generation.schema,)).fetchall()}
            digests = {row[0] for row in conn.execute(sql.SQL("SELECT ddl_digest FROM {}.read_model_generations")
                                                      .format(sql.Identifier(pg_schema.schema))).fetchall()}
        assert "deadlines_case" in indexes
        assert digests == {schema_ddl.digest(store.projection)}
    finally:
        store.close()
