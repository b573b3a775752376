"""The delivery worker: claim due outbox rows, deliver each through its recipient's channel, record the result.

Any number of workers may run against one database. A claim is one short transaction:
``SELECT … FOR UPDATE SKIP LOCKED`` picks due rows no other worker is claiming, and they are marked
``sending`` with ``attempts + 1``, the worker's id and a lease. Delivery happens *outside* any transaction
(an SMTP session must not hold row locks), one message at a time, and each result is recorded at once in
its own transaction: ``sent`` (plus a row in the delivery ledger), ``failed`` with ``next_attempt_at`` after an
exponential backoff, ``dead`` after ``max_attempts`` or a permanent refusal, or ``undeliverable`` when the
directory has no address.

Exactly once, as far as SMTP allows (``docs/notifications.md``):

* a worker that stops (``stop`` set) hands back what it claimed and did not try: no duplicate, no loss;
* a worker that dies leaves its rows ``sending``; after the lease another worker takes them again. If the
  death came between the relay accepting a message and the ``sent`` commit, that message goes out twice.
  This is the at-least-once window: it is kept to one message (each result is committed before the next
  send), every copy carries the same ``Message-ID`` / ``Idempotency-Key`` so the receiver can drop the
  second, and the retry is marked ``X-Prosperity-Redelivery: in-doubt``. With ``in_doubt_policy="hold"``
  such rows are not resent but set ``held`` for a person to check first (at-most-once for them instead);
* the ledger (``notification_ledger`` in the base schema, outside read-model generations) remembers every
  key ever sent, so a rebuilt generation of the projection, whose fresh outbox lists old notices as
  ``pending`` again, does not send them again.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import psycopg
import structlog
from psycopg import sql
from psycopg_pool import ConnectionPool

from projections.notifications.templates import render
from services.infra.postgres_env import create_schema
from services.notifier.channels import Channel, DeliveryError, Message
from services.notifier.directory import RECIPIENTS_DDL, SETUP_LOCK, Directory

log = structlog.get_logger(__name__)

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS notification_ledger (
    notification_key text PRIMARY KEY,
    channel text NOT NULL,
    message_id text,
    sent_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class WorkerSettings:
    batch_size: int = 20
    lease: timedelta = timedelta(minutes=5)
    """How long a claim is trusted. Must exceed the slowest delivery (SMTP timeout); after it, the row is
    taken to be abandoned by a dead worker."""
    max_attempts: int = 8
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=6)
    poll_interval: float = 2.0
    in_doubt_policy: Literal["resend", "hold"] = "resend"


@dataclass(frozen=True)
class Claimed:
    notification_key: str
    case_id: str
    kind: str
    mandatory: bool
    recipient_ref: str
    jurisdiction: str | None
    language: str
    params: dict[str, str]
    subject: str
    body: str
    attempts: int
    in_doubt: bool


@dataclass
class RunReport:
    claimed: int = 0
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    undeliverable: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)


def backoff(settings: WorkerSettings, attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: base, 2 x base, 4 x base … capped at ``backoff_max``."""
    return min(settings.backoff_base * (1 << min(max(attempts - 1, 0), 30)), settings.backoff_max)


class DeliveryWorker:
    """One worker process (or thread). See the module docstring for the guarantees."""

    def __init__(self, dsn: str, *, directory: Directory, channels: Mapping[str, Channel],
                 base_schema: str = "public", projection_name: str = "notifications",
                 settings: WorkerSettings | None = None, worker_id: str | None = None,
                 pool: ConnectionPool | None = None) -> None:
        self.directory, self.channels = directory, dict(channels)
        self.base_schema, self.projection_name = base_schema, projection_name
        self.settings = settings or WorkerSettings()
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self._own_pool = pool is None
        self.pool = pool or ConnectionPool(dsn, min_size=1, max_size=2, open=True, kwargs={"autocommit": False})

    def close(self) -> None:
        if self._own_pool:
            self.pool.close()

    # ---- set-up --------------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Create the ledger and the recipient table in the base schema (idempotent)."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(SETUP_LOCK)
            create_schema(conn, self.base_schema)
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(self.base_schema)))
            conn.execute(LEDGER_DDL.encode())
            conn.execute(RECIPIENTS_DDL.encode())

    def _enter_serving(self, conn: psycopg.Connection[Any]) -> bool:
        """Point ``search_path`` at the serving generation's schema, then the base schema (for the ledger)."""
        row = conn.execute(sql.SQL("SELECT schema_name FROM {}.read_model_generations WHERE name = %s"
                                   " AND state = 'serving'").format(sql.Identifier(self.base_schema)),
                           (self.projection_name,)).fetchone()
        if row is None:
            return False
        conn.execute(sql.SQL("SET LOCAL search_path TO {}, {}").format(sql.Identifier(row[0]),
                                                                       sql.Identifier(self.base_schema)))
        return True

    # ---- claiming ------------------------------------------------------------------------------------------
    def claim(self, report: RunReport | None = None) -> list[Claimed]:
        """Claim up to ``batch_size`` due rows, mandatory notices first."""
        report = report or RunReport()
        with self.pool.connection() as conn, conn.transaction():
            if not self._enter_serving(conn):
                return []
            rows = conn.execute(
                "WITH due AS (SELECT notification_key,"
                "  status = 'sending' AND send_started_at IS NOT NULL AS in_doubt FROM outbox"
                "  WHERE (status IN ('pending', 'failed') AND next_attempt_at <= now())"
                "     OR (status = 'sending' AND lease_until < now())"
                "  ORDER BY priority, next_attempt_at, notification_key LIMIT %s FOR UPDATE SKIP LOCKED)"
                " UPDATE outbox o SET status = 'sending', attempts = o.attempts + 1, claimed_by = %s,"
                "  lease_until = now() + %s, send_started_at = NULL,"
                "  last_error = CASE WHEN due.in_doubt THEN 'in doubt: ' || o.claimed_by || ' began sending at '"
                "   || o.send_started_at || ' and its lease expired' ELSE o.last_error END"
                " FROM due WHERE o.notification_key = due.notification_key"
                " RETURNING o.notification_key, o.case_id, o.kind, o.mandatory, o.recipient_ref, o.jurisdiction,"
                "  o.language, o.params, o.subject, o.body, o.attempts, due.in_doubt, o.priority",
                (self.settings.batch_size, self.worker_id, self.settings.lease)).fetchall()
            # Already delivered (by an earlier generation of the read model, or before a crash we recorded).
            done = {r[0] for r in conn.execute(
                "UPDATE outbox o SET status = 'sent', sent_at = l.sent_at, channel = l.channel,"
                " message_id = l.message_id, lease_until = NULL, last_error = 'already delivered (ledger)'"
                " FROM notification_ledger l WHERE o.notification_key = l.notification_key"
                " AND o.notification_key = ANY(%s) AND o.claimed_by = %s AND o.status = 'sending'"
                " RETURNING o.notification_key", ([r[0] for r in rows], self.worker_id)).fetchall()}
            claimed: list[Claimed] = []
            for r in sorted(rows, key=lambda r: (r[12], r[0])):
                if r[0] in done:
                    continue
                params = r[7] if isinstance(r[7], dict) else json.loads(r[7])
                claimed.append(Claimed(r[0], str(r[1]), r[2], r[3], r[4], r[5], r[6], params, r[8], r[9], r[10],
                                       bool(r[11])))
            if self.settings.in_doubt_policy == "hold":
                held = [c.notification_key for c in claimed if c.in_doubt]
                if held:
                    conn.execute("UPDATE outbox SET status = 'held', lease_until = NULL, last_error = last_error"
                                 " || '; held: a person must check delivery before resending'"
                                 " WHERE notification_key = ANY(%s) AND claimed_by = %s", (held, self.worker_id))
                    report.held.extend(held)
                    claimed = [c for c in claimed if not c.in_doubt]
        report.claimed += len(claimed)
        return claimed

    # ---- delivering ----------------------------------------------------------------------------------------
    def deliver(self, item: Claimed, report: RunReport | None = None) -> str:
        """Deliver one claimed notice and record the outcome; returns the new status."""
        report = report or RunReport()
        recipient = self.directory.lookup(item.recipient_ref)
        channel = self.channels.get(recipient.channel) if recipient else None
        if recipient is None or channel is None:
            reason = "no address in the recipient directory" if recipient is None else \
                f"no {recipient.channel} channel configured"
            self._finish(item, "undeliverable", reason)
            report.undeliverable.append(item.notification_key)
            log.warning("notification_undeliverable", key=item.notification_key, mandatory=item.mandatory,
                        reason=reason)
            return "undeliverable"
        subject, body, language = item.subject, item.body, item.language
        if recipient.language and recipient.language != item.language:
            rendered = render(item.kind, recipient.language, item.params)
            subject, body, language = rendered.subject, rendered.body, rendered.language
        message = Message(item.notification_key, item.case_id, item.kind, item.mandatory, item.recipient_ref,
                          language, subject, body, item.attempts, item.in_doubt)
        # Recorded before the send: after a crash, only a row with this mark can have been delivered; rows the
        # dead worker claimed but never began are resent without doubt (and without the "held" treatment).
        with self.pool.connection() as conn, conn.transaction():
            self._enter_serving(conn)
            conn.execute("UPDATE outbox SET send_started_at = now() WHERE notification_key = %s AND claimed_by = %s"
                         " AND status = 'sending'", (item.notification_key, self.worker_id))
        try:
            message_id = channel.send(message, recipient.address)
        except DeliveryError as err:
            return self._failed(item, str(err), err.permanent, report)
        except Exception as err:  # a channel bug must not kill the worker; retry like a transient failure
            return self._failed(item, f"{type(err).__name__}: {err}", False, report)
        with self.pool.connection() as conn, conn.transaction():
            self._enter_serving(conn)
            conn.execute("INSERT INTO notification_ledger (notification_key, channel, message_id)"
                         " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                         (item.notification_key, channel.name, message_id))
            updated = conn.execute(
                "UPDATE outbox SET status = 'sent', sent_at = now(), last_attempt_at = now(), channel = %s,"
                " message_id = %s, lease_until = NULL"
                " WHERE notification_key = %s AND claimed_by = %s AND status = 'sending'",
                (channel.name, message_id, item.notification_key, self.worker_id)).rowcount
        if not updated:
            log.warning("notification_claim_lost", key=item.notification_key, worker=self.worker_id)
        report.sent.append(item.notification_key)
        return "sent"

    def _failed(self, item: Claimed, error: str, permanent: bool, report: RunReport) -> str:
        if permanent or item.attempts >= self.settings.max_attempts:
            self._finish(item, "dead", error)
            report.dead.append(item.notification_key)
            log.error("notification_dead", key=item.notification_key, mandatory=item.mandatory, error=error,
                      attempts=item.attempts)
            return "dead"
        with self.pool.connection() as conn, conn.transaction():
            self._enter_serving(conn)
            conn.execute("UPDATE outbox SET status = 'failed', last_error = %s, lease_until = NULL,"
                         " last_attempt_at = now(), next_attempt_at = now() + %s"
                         " WHERE notification_key = %s AND claimed_by = %s AND status = 'sending'",
                         (error, backoff(self.settings, item.attempts), item.notification_key, self.worker_id))
        report.failed.append(item.notification_key)
        log.info("notification_failed", key=item.notification_key, error=error, attempts=item.attempts)
        return "failed"

    def _finish(self, item: Claimed, status: str, error: str) -> None:
        with self.pool.connection() as conn, conn.transaction():
            self._enter_serving(conn)
            conn.execute("UPDATE outbox SET status = %s, last_error = %s, lease_until = NULL, last_attempt_at = now()"
                         " WHERE notification_key = %s AND claimed_by = %s AND status = 'sending'",
                         (status, error, item.notification_key, self.worker_id))

    def release(self, items: list[Claimed], report: RunReport | None = None) -> None:
        """Hand back claimed rows not tried (a graceful stop): due again at once, the attempt not counted."""
        if not items:
            return
        keys = [i.notification_key for i in items]
        with self.pool.connection() as conn, conn.transaction():
            self._enter_serving(conn)
            conn.execute("UPDATE outbox SET status = CASE WHEN attempts > 1 THEN 'failed' ELSE 'pending' END,"
                         " attempts = attempts - 1, lease_until = NULL, claimed_by = NULL, next_attempt_at = now(),"
                         " send_started_at = NULL"
                         " WHERE notification_key = ANY(%s) AND claimed_by = %s AND status = 'sending'",
                         (keys, self.worker_id))
        if report is not None:
            report.released.extend(keys)

    # ---- loops ---------------------------------------------------------------------------------------------
    def outbox_figures(self) -> list[tuple[str, int, float]]:
        """Per status: how many notices, and the age in seconds of the oldest one still waiting (pending or
        failed); read at scrape time by the metrics' outbox collector."""
        with self.pool.connection() as conn, conn.transaction():
            if not self._enter_serving(conn):
                return []
            rows = conn.execute(
                "SELECT status, count(*), coalesce(extract(epoch FROM now() - min(created_at)"
                " FILTER (WHERE status IN ('pending', 'failed'))), 0)::float8 FROM outbox GROUP BY status").fetchall()
        return [(str(status), int(count), float(age)) for status, count, age in rows]

    def run_once(self, stop: threading.Event | None = None) -> RunReport:
        """One claim and the deliveries of what it got; stops between messages when ``stop`` is set."""
        report = RunReport()
        claimed = self.claim(report)
        for index, item in enumerate(claimed):
            if stop is not None and stop.is_set():
                self.release(claimed[index:], report)
                break
            self.deliver(item, report)
        return report

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set; sleeps ``poll_interval`` when nothing was due."""
        while not stop.is_set():
            try:
                report = self.run_once(stop)
            except psycopg.OperationalError as err:  # database restarting: try again after a pause
                log.warning("notifier_database_unavailable", error=str(err))
                stop.wait(self.settings.poll_interval)
                continue
            except Exception:  # e.g. the directory failing: keep the worker alive; claimed rows return by lease
                log.exception("notifier_run_failed", worker=self.worker_id)
                stop.wait(self.settings.poll_interval)
                continue
            if report.claimed == 0 and not report.held:
                stop.wait(self.settings.poll_interval)
