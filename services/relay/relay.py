"""The relay: the event store's notification log, published to JetStream as versioned contracts.

Why this shape (tech-notes §2, ARCHITECTURE "Rules of the road"): the notification log already is a
transactional outbox, since events and their gap-free notification ids commit together. The relay tails it
from its own tracked position, publishes a batch, waits for *every* PubAck and only then records the
position. A crash between publishing and recording republishes that batch after restart; every message
carries ``Nats-Msg-Id = <app>:<notification id>``, so JetStream drops the repeats within its duplicate window.
Publication is at least once; its effect in the stream is exactly once.

Why hand-written instead of eventsourcing's ``ProjectionRunner``/``ApplicationSubscription``: those run a
synchronous thread per event with the tracking row written per event, and their pull thread waits for a
NOTIFY without a timeout (tech-notes §5.1a: a lost NOTIFY stalls them). The relay needs batches of pipelined
asynchronous publishes, one position write per batch, a poll beside LISTEN, and to stay put while NATS is
down. The pieces it does use are the library's: the notification log (``select_notifications``), the
mapper (decryption, upcasting) and a ``PostgresTrackingRecorder`` for the position.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

import nats.errors
import psycopg
import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    Notification,
    OperationalError,
    Tracking,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresTrackingRecorder
from eventsourcing.utils import Environment
from nats.aio.client import Client as NATS

from contracts.mapping import MunicipalityTracker, repository_lookup
from contracts.stored_mapping import OutgoingFact
from services.bus.plan import RELAY
from services.casework.published import outgoing_fact
from services.infra import topic_filter
from services.relay import postgres
from services.relay.stream import RelaySettings

log = structlog.get_logger("relay")

TRACKING_NAME = "natsrelay"
"""The relay's eventsourcing name: its position lives in table ``natsrelay_tracking`` (env prefix NATSRELAY_)."""
STANDBY_RETRY_SECONDS = 1.0

NATS_UNAVAILABLE: tuple[type[BaseException], ...] = (nats.errors.Error, asyncio.TimeoutError)
"""Publishing failed for a reason outside the relay (server down, stream missing, ack lost): retry, later."""
POSTGRES_UNAVAILABLE: tuple[type[BaseException], ...] = (psycopg.OperationalError, OperationalError)


class RelayError(RuntimeError):
    """The relay cannot start (for example: no NATS server at the configured URL)."""


class LeadershipLost(RuntimeError):
    """The session holding the leader lock is gone; another relay may be leading now."""


BACK_TO_STANDBY: tuple[type[BaseException], ...] = (LeadershipLost, *POSTGRES_UNAVAILABLE)
"""The relay lost its sessions: wait, reconnect, and compete for leadership again."""


@dataclass(frozen=True)
class RelayStatus:
    """Where publication stands: ``lag`` notifications are stored but not yet confirmed in the stream."""

    position: int
    max_notification_id: int

    @property
    def lag(self) -> int:
        return self.max_notification_id - self.position


class _Backoff:
    """Exponential delay with jitter, capped. Written out because it is five lines; a retry library
    (tenacity, backoff) would wrap whole calls, while the relay's retry is its main loop."""

    def __init__(self, cap: float, base: float = 0.2) -> None:
        self.cap, self.base, self.attempt = cap, base, 0

    def next(self) -> float:
        delay: float = min(self.cap, self.base * (1 << min(self.attempt, 20)))
        self.attempt += 1
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.attempt = 0


@dataclass
class _Batch:
    """Notifications mapped to their contracts, in order, kept until their position is recorded."""

    messages: list[tuple[int, OutgoingFact]]
    futures: list[asyncio.Future[Any]] | None = None
    """The PubAck futures while the batch is on the wire; ``None`` before it is sent (or after a failed send,
    which makes the whole batch go out again)."""

    @property
    def last(self) -> int:
        return self.messages[-1][0]


class Relay:
    """Publishes one application's notification log to JetStream; one leader at a time per store.

    ``run()`` until ``stop`` is set (or the task is cancelled). Instances beyond the first are hot
    standbys: they try the leader lock every second and take over when the leader's session ends.
    """

    def __init__(self, app: Application[UUID], env: Mapping[str, str], settings: RelaySettings) -> None:
        recorder = app.recorder
        if not isinstance(recorder, PostgresApplicationRecorder):
            raise RelayError("the relay needs the PostgreSQL event store (PERSISTENCE_MODULE=eventsourcing.postgres)")
        self.app = app
        self.recorder: PostgresApplicationRecorder = recorder
        self.settings = settings
        self.env = dict(env)
        self._factory = InfrastructureFactory.construct(env=Environment(TRACKING_NAME, self.env))
        self.tracking = cast(PostgresTrackingRecorder, self._factory.tracking_recorder())
        self.lock_key = postgres.leader_lock_key(app.name, self.env.get("POSTGRES_SCHEMA") or "public")
        self.is_leader = False
        self.published = 0
        """Messages acknowledged by JetStream since start (republished duplicates included)."""
        self.duplicates = 0
        """Of those, how many JetStream dropped as already stored (a batch republished after a crash)."""
        self._position = 0
        self._read_to_end = False
        """The last read returned less than a batch: it reached the end of the log as of its snapshot."""
        self._batches: deque[_Batch] = deque()
        """Mapped, not yet recorded, in order: the batch awaiting its PubAcks and, at most, the one read ahead
        (already published behind it, or about to be)."""
        self._municipalities = self._new_tracker()
        self._last_lag_log = 0.0
        self._closing = False
        self._leadership_checked = 0.0
        self._nc: NATS | None = None

    # ---- observation ----------------------------------------------------------------------------------
    def position(self) -> int:
        """The last notification id confirmed in the stream and recorded (0: nothing yet)."""
        return self.tracking.max_tracking_id(self.app.name) or 0

    @property
    def position_now(self) -> int:
        """The position this replica last recorded (or read when it took the lead), without a query."""
        return self._position

    def status(self) -> RelayStatus:
        return RelayStatus(position=self.position(), max_notification_id=self.recorder.max_notification_id() or 0)

    def lag(self) -> int:
        """Notifications stored but not yet published: ``max_notification_id - tracked position``.

        It counts ids, and a refused command's rolled-back insert leaves an unused id, so between such a
        gap and the relay's position the lag slightly overstates; it is 0 exactly when all is published."""
        return self.status().lag

    @property
    def nats_connected(self) -> bool:
        """The relay's NATS connection is up (read by its ops endpoint, services.ops)."""
        return self._nc is not None and bool(self._nc.is_connected)

    def close(self) -> None:
        self._factory.close()

    # ---- running ----------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Connect to NATS, then lead (or stand by) until ``stop`` is set."""
        stop = stop or asyncio.Event()
        nc = self._nc = await self._connect_nats()
        try:
            # Room for the two batches the relay can have on the wire (and the retry of both) without stalling.
            in_flight = (self.settings.relay_pages_in_flight + 1) * self.settings.relay_batch_size
            js = nc.jetstream(publish_async_max_pending=max(2000, 2 * in_flight))
            backoff = _Backoff(self.settings.relay_max_backoff)
            while not stop.is_set():
                try:
                    await self._stand_by_then_lead(js, stop)
                    backoff.reset()
                except BACK_TO_STANDBY as error:
                    self.is_leader = False
                    delay = backoff.next()
                    log.warning("relay.stepped_down", reason=repr(error), retry_in=round(delay, 2))
                    await _sleep(delay, stop)
        finally:
            self.is_leader = False
            self._closing = True
            await nc.close()

    async def _connect_nats(self) -> Any:
        async def on_error(error: Exception) -> None:
            # A refused permission reaches nats-py only here (the publish then times out): say so plainly.
            refused = "permissions violation" in str(error).lower()
            log.warning("relay.permission_violation" if refused else "relay.nats_error", error=repr(error))

        async def on_disconnected() -> None:
            if not self._closing:
                log.warning("relay.nats_disconnected", url=self.settings.nats_url)

        async def on_reconnected() -> None:
            log.info("relay.nats_reconnected", url=self.settings.nats_url)

        # With reconnection forever (what an outage needs), nats-py also retries the *first* connect forever;
        # bound it, so a relay pointed at no NATS server fails clearly instead of waiting silently.
        client = NATS()
        try:
            await asyncio.wait_for(client.connect(
                **self.settings.connect_options(RELAY), max_reconnect_attempts=-1,
                reconnect_time_wait=1, connect_timeout=2, allow_reconnect=True, error_cb=on_error,
                disconnected_cb=on_disconnected, reconnected_cb=on_reconnected,
            ), timeout=self.settings.relay_connect_timeout)
        except (OSError, TimeoutError, nats.errors.Error) as error:
            await client.close()
            raise RelayError(f"cannot reach NATS at {self.settings.nats_url} within "
                             f"{self.settings.relay_connect_timeout:g}s ({error!r}); set PROSPERITY_NATS_URL to a "
                             "NATS server with JetStream enabled, and PROSPERITY_NATS_SEED_FILE to the relay's "
                             "seed when the server requires authentication") from error
        return client

    async def _stand_by_then_lead(self, js: Any, stop: asyncio.Event) -> None:
        async with await postgres.connect(self.env) as lock_connection:
            lock = postgres.LeaderLock(lock_connection, self.lock_key)
            announced = False
            while not await lock.try_acquire():
                if not announced:
                    log.info("relay.standby", app=self.app.name, lock_key=self.lock_key)
                    announced = True
                if await _sleep(STANDBY_RETRY_SECONDS, stop):
                    return
            self.is_leader = True
            try:
                await self._lead(js, lock, stop)
            finally:
                self.is_leader = False

    async def _lead(self, js: Any, lock: postgres.LeaderLock, stop: asyncio.Event) -> None:
        """Publish the backlog, then wait for a NOTIFY (or the poll interval), until stopped."""
        async with await postgres.connect(self.env) as listen_connection:
            await postgres.listen(listen_connection, self.recorder.channel_name)
            # State from an earlier leadership may be stale (another relay may have moved on): start afresh.
            self._position = await asyncio.to_thread(self.position)
            self._abandon_sends()
            self._batches, self._municipalities = deque(), self._new_tracker()
            log.info("relay.leading", app=self.app.name, position=self._position, stream=self.settings.stream_name)
            backoff = _Backoff(self.settings.relay_max_backoff)
            while not stop.is_set():
                try:
                    while not stop.is_set():
                        await self._check_leadership(lock)
                        published = await self._relay_batch(js)
                        await self._log_lag()
                        if not published or self._caught_up():
                            break
                    backoff.reset()
                except NATS_UNAVAILABLE as error:
                    self._abandon_sends()
                    delay = backoff.next()
                    log.warning("relay.nats_unavailable", error=repr(error), position=self._position,
                                unrecorded=sum(len(batch.messages) for batch in self._batches),
                                retry_in=round(delay, 2))
                    await _sleep(delay, stop)
                    continue
                await _unless_stopped(postgres.wait_for_notify(listen_connection, self.settings.relay_poll_interval),
                                      stop)

    async def _check_leadership(self, lock: postgres.LeaderLock) -> None:
        """At most once per ``relay_leader_check_interval``: a round trip per batch was a tenth of the relay's time
        in live mode, and the check is only an early warning (another leader's position makes ours fail)."""
        now = time.monotonic()
        if now - self._leadership_checked < self.settings.relay_leader_check_interval:
            return
        try:
            await lock.check()
        except psycopg.Error as error:
            raise LeadershipLost("the leader lock's session ended") from error
        self._leadership_checked = now

    async def _relay_batch(self, js: Any) -> int:
        """Publish the oldest mapped batch (reading one if none is waiting), record it, and return its size.

        While its PubAcks are in flight, the next batch is read and mapped in a worker thread and, as soon as
        it is mapped, published behind it: the wait for the server overlaps with the relay's own CPU work, and
        the connection never drains between batches. Positions are still recorded strictly in order, each
        only after every PubAck of its batch (and of the batches before it) arrived. Mapped batches are kept,
        in order, until they are recorded: a retry republishes the very same messages, so what the
        municipality tracker learned from a later batch cannot change the content of an earlier one.
        """
        if not self._batches:
            first = await self._read(self._position)
            if not first:
                return 0
            self._batches.append(_Batch(first))
        head = self._batches[0]
        if head.futures is None:
            head.futures = await self._send(js, head.messages)
        tail = self._batches[-1]
        if (len(self._batches) <= self.settings.relay_pages_in_flight
                and len(tail.messages) == self.settings.relay_batch_size):
            # Read ahead while the head's PubAcks arrive; a mapping error surfaces after the head is recorded.
            try:
                following = await self._read(tail.last)
            except Exception:
                await self._record(head)
                raise
            if following:
                self._batches.append(_Batch(following))
        for batch in list(self._batches)[1:]:
            if batch.futures is None and not _failed(head.futures):
                batch.futures = await self._send(js, batch.messages)
        return await self._record(head)

    async def _read(self, after: int) -> list[tuple[int, OutgoingFact]]:
        mapped = await asyncio.to_thread(self._read_and_map, after)
        self._read_to_end = len(mapped) < self.settings.relay_batch_size
        return mapped

    def _caught_up(self) -> bool:
        """Everything read is recorded and the last read reached the log's end: wait for a NOTIFY rather than
        read again. A commit after that read's snapshot sent its NOTIFY after the LISTEN, so the wait returns at
        once for it; reading again first cost a thread hop and a query per wake-up, a third of the relay's
        round trips at live rates (issue 14, P3)."""
        return not self._batches and self._read_to_end

    async def _record(self, head: _Batch) -> int:
        """Wait for every PubAck of the oldest batch, then record its position; return its size."""
        assert head is self._batches[0] and head.futures is not None
        duplicates = await self._acknowledged(head.futures)
        first_id, last = head.messages[0][0], head.last
        if duplicates:
            log.info("relay.duplicates_dropped", count=duplicates, batch_start=first_id, batch_end=last)
        try:
            await asyncio.to_thread(self.tracking.insert_tracking, Tracking(self.app.name, last))
        except IntegrityError as error:
            # The stored position is already at or past ``last``: another relay has led meanwhile. Step down
            # and compete again, starting afresh from the stored position (repeats fall in the duplicate window).
            raise LeadershipLost(f"position {last} was already recorded by another relay") from error
        self._batches.popleft()
        self._position = last
        self.published += len(head.messages)
        self.duplicates += duplicates
        return len(head.messages)

    def _abandon_sends(self) -> None:
        """After a failure (or leadership lost): every unrecorded batch is sent again, whole, in order."""
        for batch in self._batches:
            if batch.futures is not None:
                _cancel(batch.futures)
                batch.futures = None

    def _read_and_map(self, after: int) -> list[tuple[int, OutgoingFact]]:
        notifications = self.recorder.select_notifications(start=after, limit=self.settings.relay_batch_size,
                                                           inclusive_of_start=False, topics=topic_filter.PUBLISHED)
        return self._map(notifications)

    def _new_tracker(self) -> MunicipalityTracker:
        """Where each case is, learned from the facts as they pass. A case opened before the relay's start
        position is looked up once in the repository *as of the fact's version*, so its facts keep the
        municipality they had then even if the family has moved since."""
        return MunicipalityTracker(lookup=repository_lookup(self.app.repository))

    def _map(self, notifications: Sequence[Notification]) -> list[tuple[int, OutgoingFact]]:
        mapped = []
        for notification in notifications:
            try:
                published = outgoing_fact(self.app, self._municipalities, notification)
            except Exception:
                # A fact without a valid contract must not be skipped (consumers would see a gap forever) nor
                # published half-right: stop here, loudly, with the position still before it.
                log.exception("relay.unmappable_event", notification_id=notification.id, topic=notification.topic)
                raise
            mapped.append((notification.id, published))
        return mapped

    async def _send(self, js: Any, batch: Sequence[tuple[int, OutgoingFact]]) -> list[asyncio.Future[Any]]:
        """Pipeline the batch: every message is written to the connection without waiting for its PubAck."""
        futures: list[asyncio.Future[Any]] = []
        try:
            for _, published in batch:
                futures.append(await js.publish_async(
                    self.settings.subject(published.subject), published.payload,
                    headers=dict(published.headers), stream=self.settings.stream_name))
        except BaseException:
            _cancel(futures)
            raise
        return futures

    async def _acknowledged(self, futures: list[asyncio.Future[Any]]) -> int:
        """Wait for every PubAck of a batch (or fail the whole batch); return how many were duplicates.

        nats-py's ``publish_async`` futures have no timeout of their own: an ack lost with a dropped
        connection would be awaited forever, hence the explicit ``wait_for`` and the cancellation of the rest.
        """
        try:
            acks = await asyncio.wait_for(asyncio.gather(*futures), timeout=self.settings.relay_ack_timeout)
        except BaseException:
            _cancel(futures)
            raise
        return sum(1 for ack in acks if ack.duplicate)

    async def _log_lag(self) -> None:
        now = time.monotonic()
        if now - self._last_lag_log < self.settings.relay_lag_log_interval:
            return
        self._last_lag_log = now
        max_id = await asyncio.to_thread(self.recorder.max_notification_id) or 0
        log.info("relay.lag", position=self._position, max_notification_id=max_id, lag=max_id - self._position,
                 published=self.published)


def _failed(futures: list[asyncio.Future[Any]]) -> bool:
    """A PubAck already failed (the batch will be retried): publishing more behind it would be in vain."""
    return any(future.done() and (future.cancelled() or future.exception() is not None) for future in futures)


def _cancel(futures: list[asyncio.Future[Any]]) -> None:
    """Give up on unacknowledged publishes (frees nats-py's in-flight slots; the batch is retried whole)."""
    for future in futures:
        future.cancel()


async def _unless_stopped(work: Coroutine[Any, Any, Any], stop: asyncio.Event) -> None:
    """Await ``work``, or cancel it as soon as ``stop`` is set: a stop is prompt whatever the poll interval."""
    task, stopped = asyncio.ensure_future(work), asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, stopped):
            pending.cancel()
    if task.done() and not task.cancelled():
        task.result()


async def _sleep(seconds: float, stop: asyncio.Event) -> bool:
    """Sleep, waking early when ``stop`` is set; True when stopped."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True

