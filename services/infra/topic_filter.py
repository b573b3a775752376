"""The notification log's topic filter, dumped for PostgreSQL once instead of on every read.

Why: readers of the log select the published facts (``contracts.mapping.PUBLISHED_TOPICS``, over a hundred topics)
through eventsourcing's ``select_notifications(topics=...)``, which passes them as one ``text[]`` parameter, and
psycopg dumps a list element by element: ~200 µs of CPU per read on the machine of issue 14. The relay in live mode
reads a few facts at a time, so that was about a third of its CPU per read. psycopg picks a parameter's dumper by its
class, so a list subclass with its own dumper hands it the array literal made once; the query, the parameter's type
and the rows are what the library's own path gives (tests/integration/test_topic_filter.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.postgres import types

from contracts.mapping import PUBLISHED_TOPICS


class TopicList(list[str]):
    """Topics to select, with their ``text[]`` literal made at construction (treat it as immutable)."""

    def __init__(self, topics: Iterable[str]) -> None:
        super().__init__(topics)
        self.literal = _array_literal(self)


def _array_literal(values: Iterable[str]) -> bytes:
    quoted = ('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
    return ("{" + ",".join(quoted) + "}").encode()


class _TopicListDumper(Dumper):
    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        # On the instance, not the class: a class ``oid`` would also register this dumper for every ``text[]``
        # psycopg is asked to dump by type (COPY with set_types, composites), where a plain list has no literal.
        self.oid = TEXT_ARRAY_OID

    def dump(self, obj: TopicList) -> bytes:
        return obj.literal


TEXT_ARRAY_OID = types["text"].array_oid


psycopg.adapters.register_dumper(TopicList, _TopicListDumper)  # connections opened from now on know it

PUBLISHED: TopicList = TopicList(PUBLISHED_TOPICS)
"""What readers of the log pass as ``topics=``: the facts that have a contract."""
