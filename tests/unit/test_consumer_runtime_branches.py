"""The consumer runtime's branches on faststream's in-memory broker, with a store that records what it is asked.

Malformed payloads and payloads that do not match their ``Nats-Msg-Id`` or subject become dead letters (reports,
never copies of the event) and are never applied; a fact goes to the store, which is told to quarantine it only from
the ``poison_after``-th delivery; a quarantined fact is reported as a dead letter; while the database is down the
runtime waits and tries again, and a database error while the database answers counts as the fact's own failure.
The real server and PostgreSQL paths are in ``tests/integration/test_consumer_runtime.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import psycopg
import pytest
import structlog
from faststream.nats import JStream, NatsBroker, TestNatsBroker

from contracts.deadletters import DeadLetterV1
from contracts.events import EventEnvelopeV1
from contracts.mapping import PUBLISHED_TOPICS, MunicipalityTracker, PublishedEvent
from contracts.subjects import DEADLETTER_STREAM_NAME
from services.casework.application import Casework
from services.consumers.quarantine import Quarantined
from services.consumers.runtime import ConsumerSettings, build_app, retry_delay
from services.consumers.store import Applied, Outcome, ReadModelStore
from services.walkthrough import norway_lifecycle

PREFIX = "unit"


@pytest.fixture(autouse=True)
def logs_to_the_current_stderr() -> Iterator[None]:
    """Logs on this test's stderr, whatever an earlier test configured (a CLI test binds structlog to its own,
    since closed, capture)."""
    structlog.reset_defaults()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(), cache_logger_on_first_use=False)
    yield
    structlog.reset_defaults()


class _Projection:
    name = "fake"


class RecordingStore:
    """Stands in for ``ReadModelStore`` (the in-memory store a unit test may use): answers as scripted."""

    projection = _Projection()

    def __init__(self, answers: list[Applied | Exception] | None = None, reachable: bool = True) -> None:
        self.answers = list(answers or [])
        self.is_reachable = reachable
        self.applied: list[tuple[str, bool]] = []
        self.quarantined: list[tuple[str, str]] = []

    def setup(self) -> None: ...
    def close(self) -> None: ...

    def degraded_count(self) -> int:
        return 0

    def reachable(self) -> bool:
        return self.is_reachable

    def apply(self, event: EventEnvelopeV1, *, quarantine: bool = True) -> Applied:
        self.applied.append((event.event_id, quarantine))
        answer = self.answers.pop(0) if self.answers else Applied(Outcome.APPLIED)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def quarantine_failed(self, event: EventEnvelopeV1, reason: str) -> Applied:
        self.quarantined.append((event.event_id, reason))
        return Applied(Outcome.QUARANTINED, reason, (quarantined(event, reason),))


def quarantined(event: EventEnvelopeV1, error: str) -> Quarantined:
    return Quarantined(event.case_id, event.case_version, event.notification_id, event.event_id, event.event_type,
                       error, 3, datetime.now(UTC), event.model_dump_json())


@pytest.fixture(scope="module")
def published() -> Iterator[PublishedEvent]:
    app = Casework(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    norway_lifecycle(app)
    tracker = MunicipalityTracker()
    notification = app.recorder.select_notifications(start=None, limit=1, topics=PUBLISHED_TOPICS)[0]
    yield tracker.to_published(app.mapper.to_domain_event(notification), notification.id, app.name)
    app.close()


async def run(store: RecordingStore, payload: bytes, subject: str, headers: dict[str, str],
              **settings: Any) -> list[DeadLetterV1]:
    app = build_app(cast(ReadModelStore, store),
                    ConsumerSettings(subject_prefix=PREFIX, store_wait_max_seconds=0.01, **settings))
    assert isinstance(app.broker, NatsBroker)
    letters: list[DeadLetterV1] = []

    @app.broker.subscriber(f"{PREFIX}.deadletter.>", stream=JStream(DEADLETTER_STREAM_NAME, declare=False))
    async def collect(letter: DeadLetterV1) -> None:
        letters.append(letter)

    async with TestNatsBroker(app.broker) as broker:
        await broker.publish(payload, f"{PREFIX}.{subject}", headers=headers, stream="CASES")
        await asyncio.sleep(0)
    return letters


async def test_a_malformed_payload_is_dead_lettered_without_its_values_and_never_applied(
        published: PublishedEvent) -> None:
    store = RecordingStore()
    letters = await run(store, b'{"event_type": "Jon Jonsson"}', published.subject, published.headers)
    assert store.applied == [] and [letter.kind for letter in letters] == ["malformed"]
    assert "Jon" not in letters[0].error and letters[0].case_id is None


@pytest.mark.parametrize("tamper", ["msg_id", "subject"])
async def test_a_payload_that_does_not_match_how_it_was_published_is_dead_lettered(published: PublishedEvent,
                                                                                     tamper: str) -> None:
    store = RecordingStore()
    headers = {**published.headers, "Nats-Msg-Id": "Casework:999999"} if tamper == "msg_id" else published.headers
    subject = published.subject.replace("bodo", "oslo") if tamper == "subject" else published.subject
    letters = await run(store, published.payload, subject, headers)
    assert store.applied == [] and [letter.kind for letter in letters] == ["mismatch"]
    assert letters[0].case_id == published.contract.case_id and "event_id" not in DeadLetterV1.model_fields


async def test_a_fact_is_applied_and_quarantine_is_asked_for_only_from_the_poison_delivery(
        published: PublishedEvent) -> None:
    store = RecordingStore()
    assert await run(store, published.payload, published.subject, published.headers) == []
    assert store.applied == [(published.contract.event_id, False)]  # first delivery: retried if it fails
    store = RecordingStore()
    await run(store, published.payload, published.subject, published.headers, poison_after=1)
    assert store.applied == [(published.contract.event_id, True)]


async def test_a_quarantined_fact_is_reported_as_a_dead_letter(published: PublishedEvent) -> None:
    record = quarantined(published.contract, "OverflowError: date value out of range")
    store = RecordingStore([Applied(Outcome.QUARANTINED, record.error, (record,))])
    letters = await run(store, published.payload, published.subject, published.headers)
    assert [(letter.kind, letter.case_id, letter.case_version, letter.error) for letter in letters] == [
        ("quarantined", record.case_id, record.case_version, record.error)]


async def test_the_runtime_waits_for_an_unavailable_database_instead_of_spending_deliveries(
        published: PublishedEvent) -> None:
    down = psycopg.OperationalError("connection refused")
    store = RecordingStore([down, down, Applied(Outcome.APPLIED)], reachable=False)
    assert await run(store, published.payload, published.subject, published.headers) == []
    assert len(store.applied) == 3 and store.quarantined == []


async def test_a_database_error_while_the_database_answers_is_the_facts_failure(published: PublishedEvent) -> None:
    timeout = psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    store = RecordingStore([timeout])
    await run(store, published.payload, published.subject, published.headers, poison_after=1)
    assert [reason for _, reason in store.quarantined] == [
        "QueryCanceled: canceling statement due to statement timeout"]


def test_retries_back_off_up_to_a_ceiling() -> None:
    settings = ConsumerSettings(retry_delay_seconds=1.0, max_retry_delay_seconds=30.0)
    assert [retry_delay(settings, delivered) for delivered in (1, 2, 3, 4, 5, 6, 9)] == [1, 2, 4, 8, 16, 30, 30]
