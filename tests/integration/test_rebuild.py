"""Rebuilding a read model into fresh tables while the old ones serve and live events keep arriving."""

from __future__ import annotations

import threading
from typing import Any

from contracts.events import parse_event
from contracts.mapping import PUBLISHED_TOPICS, MunicipalityTracker
from services.casework.application import Casework
from services.consumers.rebuild import rebuild
from services.consumers.replay import published_events
from services.consumers.store import ReadModelStore
from services.infra.postgres_env import PgTarget
from services.walkthrough import iceland_lifecycle, norway_lifecycle
from tests.integration.consumer_support import EventTally


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
