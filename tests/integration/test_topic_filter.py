"""The log's topic filter dumped once (services.infra.topic_filter) selects exactly what the library's own list does,
against the real PostgreSQL: the same notifications, the natural-key facts left out, and the literal survives
PostgreSQL's array parser whatever a topic holds."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from contracts.mapping import PUBLISHED_TOPICS
from services.casework.application import Casework
from services.infra import topic_filter
from services.infra.postgres_env import PgTarget
from services.walkthrough import iceland_lifecycle, norway_lifecycle


@pytest.fixture
def app(pg_schema: PgTarget) -> Iterator[Casework]:
    casework = Casework(env=pg_schema.eventsourcing_env())
    try:
        yield casework
    finally:
        casework.close()


def test_the_dumped_filter_selects_what_the_librarys_list_selects(app: Casework) -> None:
    iceland_lifecycle(app)
    norway_lifecycle(app)
    everything = app.recorder.select_notifications(start=None, limit=10_000)
    by_library = app.recorder.select_notifications(start=None, limit=10_000, topics=list(PUBLISHED_TOPICS))
    by_literal = app.recorder.select_notifications(start=None, limit=10_000, topics=topic_filter.PUBLISHED)

    assert [n.id for n in by_literal] == [n.id for n in by_library]
    left_out = {n.topic for n in everything} - {n.topic for n in by_literal}
    assert left_out and all("CaseKey" in topic for topic in left_out)  # the natural-key index is never published
    # a page boundary inside the log, as the relay reads it
    middle = by_library[len(by_library) // 2].id
    page = app.recorder.select_notifications(start=middle, limit=7, inclusive_of_start=False,
                                             topics=topic_filter.PUBLISHED)
    assert [n.id for n in page] == [n.id for n in by_library if n.id > middle][:7]


@pytest.mark.parametrize("topics", [["plain:Topic"], ['with"quote', "back\\slash", "comma,brace{}", "space d", ""]])
def test_the_literal_is_parsed_back_to_the_same_topics(pg_dsn: str, topics: list[str]) -> None:
    with psycopg.connect(pg_dsn) as conn:
        row = conn.execute("SELECT %s, pg_typeof(%s)::text", (topic_filter.TopicList(topics),) * 2).fetchone()
    assert row == (topics, "text[]")
