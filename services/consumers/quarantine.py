"""Per-case gating, parking and quarantine of a read model's facts: the SQL the store runs inside its transactions.

Tables, in every generation's schema beside ``consumer_positions`` (runtime bookkeeping, not read-model content;
a rebuild starts them empty):

* ``consumer_parked``: versions that arrived before their predecessor, or while their case is quarantined, with
  their contract as received. They were acknowledged: JetStream does not redeliver them, nothing waits in a loop.
  Each is applied, in order, in the transaction after its predecessor's (``apply_next_parked``).
* ``consumer_quarantine``: a fact the projection could not apply, with the error: the case is **degraded** in this
  read model (``consumer_positions.quarantined_version`` holds it there) until an operator's ``retry`` applies it
  (after the cause is fixed) or ``resolve`` skips it; resolved rows stay as the history.

Why parking rather than redelivery: JetStream would redeliver a held-back version after a delay, again and again,
for as long as its case waits, and with one message per pull those redeliveries take turns with every other
case's facts; v1 throttled both consumers to about a message a second that way. Parked in PostgreSQL, under the
case's own row lock, a held-back version costs nothing until its turn, and N replicas see the same parked rows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
from psycopg_pool import PoolTimeout

from contracts.events import EventEnvelopeV1, parse_event
from projections.base import Projection, Statement

DDL = (
    """CREATE TABLE IF NOT EXISTS consumer_parked (
        case_id uuid NOT NULL,
        case_version bigint NOT NULL,
        notification_id bigint NOT NULL,
        payload text NOT NULL,
        parked_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (case_id, case_version)
    )""",
    """CREATE TABLE IF NOT EXISTS consumer_quarantine (
        case_id uuid NOT NULL,
        case_version bigint NOT NULL,
        notification_id bigint NOT NULL,
        event_id text NOT NULL,
        event_type text NOT NULL,
        payload text NOT NULL,
        error text NOT NULL,
        attempts int NOT NULL DEFAULT 1,
        quarantined_at timestamptz NOT NULL DEFAULT now(),
        last_attempt_at timestamptz NOT NULL DEFAULT now(),
        resolved_at timestamptz,
        resolution text CHECK (resolution IN ('applied', 'skipped')),
        resolution_reason text,
        PRIMARY KEY (case_id, case_version)
    )""",
)
TRANSIENT: tuple[type[Exception], ...] = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)
"""Errors of the database rather than of a fact: the runtime waits for the database instead of counting them."""
MAX_ERROR_LENGTH = 500


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    HELD = "held"
    """Parked until its predecessor is applied (a gap, or the case is quarantined), or it is the quarantined fact."""
    QUARANTINED = "quarantined"
    """Applying it failed, and the case is now quarantined at it."""
    FAILED = "failed"
    """Applying it failed and nothing was recorded: the caller retries it later (or rebuilds)."""


class ProjectionFailed(Exception):
    """The projection (its code, or the statements it returned) could not apply ``event``."""

    def __init__(self, event: EventEnvelopeV1, error: Exception) -> None:
        self.event = event
        self.reason = describe(error)
        super().__init__(f"{event.event_type} {event.event_id} (notification {event.notification_id}): {self.reason}")


def describe(error: BaseException) -> str:
    """The error's type and the first line of its message, bounded: what a dead letter and a log carry."""
    message = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {message}"[:MAX_ERROR_LENGTH]


@dataclass(frozen=True)
class Quarantined:
    """A quarantined fact of one case in one read model."""

    case_id: UUID
    case_version: int
    notification_id: int
    event_id: str
    event_type: str
    error: str
    attempts: int
    quarantined_at: datetime
    payload: str


class Gate(NamedTuple):
    outcome: Outcome
    successors_waiting: bool = False
    """Applied, and the case has parked versions: the next may fit now."""
    is_quarantined_fact: bool = False
    """Held because it is the very fact the case is quarantined at (a redelivery)."""


class View:
    """The projection's read-only view inside the current transaction, and its memory of what earlier facts of
    the same transaction wrote (``ReadView.remembered``). One view lives exactly as long as one transaction's
    batch; a view made for a single fact remembers nothing, which is always correct."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor
        self._memory: dict[Any, dict[str, Any]] = {}

    def fetchone(self, query: str, params: Any = ()) -> tuple[Any, ...] | None:
        return self._cursor.execute(query.encode(), params).fetchone()

    def fetchall(self, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return self._cursor.execute(query.encode(), params).fetchall()

    def remembered(self, case_id: Any) -> dict[str, Any]:
        return self._memory.setdefault(case_id, {})

    def forget(self, case_id: Any) -> None:
        """The case was applied another way (the per-fact gate, a parked successor): what was noted may be old."""
        self._memory.pop(case_id, None)


def _lock(cur: psycopg.Cursor[Any], case_id: UUID) -> tuple[int, int | None]:
    """The case's applied version and quarantined version, row-locked for this transaction."""
    cur.execute("INSERT INTO consumer_positions (case_id, case_version, notification_id) "
                "VALUES (%s, 0, 0) ON CONFLICT DO NOTHING", (case_id,))
    row = cur.execute("SELECT case_version, quarantined_version FROM consumer_positions WHERE case_id = %s "
                      "FOR UPDATE", (case_id,)).fetchone()
    return (int(row[0]), row[1]) if row else (0, None)


def _run_projection(cur: psycopg.Cursor[Any], projection: Projection, event: EventEnvelopeV1,
                    view: View | None = None) -> None:
    """Run the projection and its statements (with the batch's ``view``, else one for this fact alone); a failure
    is the fact's."""
    try:
        statements: list[Statement] = list(projection.apply(event, view or View(cur)))
        for statement in statements:
            cur.execute(statement.sql.encode(), statement.params)
    except TRANSIENT:
        raise
    except Exception as error:
        raise ProjectionFailed(event, error) from error


def _project(cur: psycopg.Cursor[Any], projection: Projection, event: EventEnvelopeV1) -> None:
    """Run the projection and its statements, then move the case's position; a failure is the fact's."""
    _run_projection(cur, projection, event)
    cur.execute("UPDATE consumer_positions SET case_version = %s, notification_id = %s, applied_at = now() "
                "WHERE case_id = %s", (event.case_version, event.notification_id, event.case_id))


def _park(cur: psycopg.Cursor[Any], event: EventEnvelopeV1) -> None:
    cur.execute("INSERT INTO consumer_parked (case_id, case_version, notification_id, payload) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING", (event.case_id, event.case_version, event.notification_id,
                                            event.model_dump_json()))


def _waiting(cur: psycopg.Cursor[Any], case_id: UUID) -> bool:
    return cur.execute("SELECT 1 FROM consumer_parked WHERE case_id = %s LIMIT 1", (case_id,)).fetchone() is not None


def apply_in(cur: psycopg.Cursor[Any], projection: Projection, event: EventEnvelopeV1) -> Gate:
    """Gate ``event`` on its case's position and apply it, park it, or recognise it as a duplicate."""
    applied, held = _lock(cur, event.case_id)
    if event.case_version <= applied:
        return Gate(Outcome.DUPLICATE)
    if held is not None and event.case_version == held:
        return Gate(Outcome.HELD, is_quarantined_fact=True)
    if held is not None or event.case_version > applied + 1:
        _park(cur, event)
        return Gate(Outcome.HELD)
    _project(cur, projection, event)
    return Gate(Outcome.APPLIED, successors_waiting=_waiting(cur, event.case_id))


def apply_next_parked(cur: psycopg.Cursor[Any], projection: Projection, case_id: UUID) -> bool:
    """Apply the case's next parked version if it fits now; True if one was applied (another may follow)."""
    applied, held = _lock(cur, case_id)
    if held is not None:
        return False
    cur.execute("DELETE FROM consumer_parked WHERE case_id = %s AND case_version <= %s", (case_id, applied))
    row = cur.execute("SELECT payload FROM consumer_parked WHERE case_id = %s AND case_version = %s",
                      (case_id, applied + 1)).fetchone()
    if row is None:
        return False
    event = parse_event(row[0])
    _project(cur, projection, event)
    cur.execute("DELETE FROM consumer_parked WHERE case_id = %s AND case_version = %s", (case_id, event.case_version))
    return True


# ---- a batch in one transaction (``ReadModelStore.apply_batch``) ------------------------------------------------
@dataclass
class Position:
    """A case's row in ``consumer_positions`` as this transaction sees it (its changes written at the end)."""

    applied: int
    held: int | None
    waiting: bool
    """Versions of the case are parked."""
    notification_id: int = 0
    dirty: bool = False


def lock_cases(cur: psycopg.Cursor[Any], case_ids: list[UUID]) -> dict[UUID, Position]:
    """Row-lock every case of a batch in one statement, in case-id order (two replicas' batches that share cases
    then cannot deadlock), and read their positions and whether anything of them is parked."""
    cur.execute("INSERT INTO consumer_positions (case_id, case_version, notification_id)"
                " SELECT id, 0, 0 FROM unnest(%s::uuid[]) AS id ORDER BY id ON CONFLICT DO NOTHING", (case_ids,))
    locking = cur.execute("SELECT case_id, case_version, quarantined_version FROM consumer_positions"
                          " WHERE case_id = ANY(%s) ORDER BY case_id FOR UPDATE", (case_ids,))
    # What is parked is read by a statement of its own, run once the locks are held: its snapshot then includes
    # what another replica parked and committed while this one waited for a case's lock (a subquery of the locking
    # statement would see the statement's older snapshot, and the parked versions would never be drained). In a
    # pipeline both go in one round trip.
    parked_cursor = cur.connection.cursor()
    parked_cursor.execute("SELECT DISTINCT case_id FROM consumer_parked WHERE case_id = ANY(%s)", (case_ids,))
    rows = locking.fetchall()
    parked = {row[0] for row in parked_cursor.fetchall()}
    return {row[0]: Position(int(row[1]), row[2], row[0] in parked) for row in rows}


def apply_known(cur: psycopg.Cursor[Any], projection: Projection, event: EventEnvelopeV1,
                known: dict[UUID, Position], view: View) -> tuple[Outcome, tuple[Quarantined, ...]]:
    """:func:`apply_in` for a case locked by :func:`lock_cases`: the next version is applied without a round trip
    of bookkeeping, with the batch's ``view``; anything else goes through the per-fact gate (and its parked
    successors are drained), after which the view forgets the case.
    Raises :class:`ProjectionFailed` for any fact that fails, the caller then undoes the whole batch."""
    position = known[event.case_id]
    if event.case_version <= position.applied:
        return Outcome.DUPLICATE, ()
    if position.held is None and not position.waiting and event.case_version == position.applied + 1:
        _run_projection(cur, projection, event, view)
        position.applied, position.notification_id, position.dirty = event.case_version, event.notification_id, True
        return Outcome.APPLIED, ()
    view.forget(event.case_id)
    record_positions(cur, {event.case_id: position})
    gate = apply_in(cur, projection, event)
    records: tuple[Quarantined, ...] = ()
    if gate.is_quarantined_fact:
        record = open_quarantine(cur, event)
        records = (record,) if record else ()
    elif gate.successors_waiting:
        while apply_next_parked(cur, projection, event.case_id):
            pass
    applied, held = _lock(cur, event.case_id)
    known[event.case_id] = Position(applied, held, _waiting(cur, event.case_id))
    return gate.outcome, records


def record_positions(cur: psycopg.Cursor[Any], known: dict[UUID, Position]) -> None:
    """Write the positions the batch moved, in one statement. ``applied_at`` is the clock at this point (the end
    of the batch's work), not the transaction's start."""
    dirty = [(case_id, p) for case_id, p in known.items() if p.dirty]
    if not dirty:
        return
    cur.execute("UPDATE consumer_positions p SET case_version = v.version, notification_id = v.notification,"
                " applied_at = clock_timestamp()"
                " FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[]) AS v(case_id, version, notification)"
                " WHERE p.case_id = v.case_id",
                ([c for c, _ in dirty], [p.applied for _, p in dirty], [p.notification_id for _, p in dirty]))
    for _, position in dirty:
        position.dirty = False


_COLUMNS = "case_id, case_version, notification_id, event_id, event_type, error, attempts, quarantined_at, payload"


def quarantine(cur: psycopg.Cursor[Any], event: EventEnvelopeV1, reason: str,
               parked: bool = False) -> tuple[Outcome, Quarantined | None]:
    """Quarantine ``event`` (which just failed) if it is still the case's next version: record it with the error
    and hold the case there. A ``parked`` event leaves the parking table (its contract moves to the quarantine)."""
    applied, held = _lock(cur, event.case_id)
    if event.case_version <= applied:
        return Outcome.DUPLICATE, None  # another replica applied it meanwhile
    if held is not None and held != event.case_version:
        _park(cur, event)
        return Outcome.HELD, None
    if held is None and event.case_version != applied + 1:
        _park(cur, event)
        return Outcome.HELD, None
    row = cur.execute(
        "INSERT INTO consumer_quarantine (case_id, case_version, notification_id, event_id, event_type, payload,"
        " error) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (case_id, case_version) DO UPDATE SET error = excluded.error, last_attempt_at = now(),"
        " attempts = consumer_quarantine.attempts + 1, resolved_at = NULL, resolution = NULL,"
        " resolution_reason = NULL"
        f" RETURNING {_COLUMNS}",
        (event.case_id, event.case_version, event.notification_id, event.event_id, event.event_type,
         event.model_dump_json(), reason)).fetchone()
    cur.execute("UPDATE consumer_positions SET quarantined_version = %s WHERE case_id = %s",
                (event.case_version, event.case_id))
    if parked:
        cur.execute("DELETE FROM consumer_parked WHERE case_id = %s AND case_version = %s",
                    (event.case_id, event.case_version))
    return (Outcome.HELD if held is not None else Outcome.QUARANTINED), (Quarantined(*row) if row else None)


def open_quarantine(cur: psycopg.Cursor[Any], event: EventEnvelopeV1) -> Quarantined | None:
    """The open quarantine record of ``event``, if the case is quarantined at it."""
    row = cur.execute(f"SELECT {_COLUMNS} FROM consumer_quarantine WHERE case_id = %s AND case_version = %s"
                      " AND resolved_at IS NULL", (event.case_id, event.case_version)).fetchone()
    return Quarantined(*row) if row else None


# ---- what an operator does (``prosperity deadletters``) --------------------------------------------------------
class NotQuarantined(LookupError):
    """The case has no open quarantine in this read model."""


@dataclass(frozen=True)
class Waiting:
    """A case whose next version has not arrived while later ones are parked (not quarantined: a gap)."""

    case_id: UUID
    applied_version: int
    parked: int
    oldest_parked_at: datetime


def degraded(cur: psycopg.Cursor[Any]) -> list[tuple[Quarantined, int]]:
    """Every open quarantine, with how many later versions of its case are parked behind it."""
    rows = cur.execute(
        f"SELECT {', '.join('q.' + c.strip() for c in _COLUMNS.split(','))},"
        " (SELECT count(*) FROM consumer_parked p WHERE p.case_id = q.case_id)"
        " FROM consumer_quarantine q WHERE q.resolved_at IS NULL ORDER BY q.quarantined_at, q.case_id").fetchall()
    return [(Quarantined(*row[:-1]), int(row[-1])) for row in rows]


def waiting(cur: psycopg.Cursor[Any]) -> list[Waiting]:
    rows = cur.execute(
        "SELECT p.case_id, coalesce(max(c.case_version), 0), count(*), min(p.parked_at) FROM consumer_parked p"
        " LEFT JOIN consumer_positions c ON c.case_id = p.case_id"
        " WHERE c.quarantined_version IS NULL GROUP BY p.case_id ORDER BY min(p.parked_at)").fetchall()
    return [Waiting(row[0], int(row[1]), int(row[2]), row[3]) for row in rows]


def retry_in(cur: psycopg.Cursor[Any], projection: Projection, case_id: UUID) -> tuple[bool, Quarantined]:
    """Apply the case's quarantined fact again, with the projection as it is now; True if it applied (the
    quarantine is then resolved as ``applied``), False if it failed again (the error and attempts are updated)."""
    _, held = _lock(cur, case_id)
    record = _open_record(cur, case_id, held)
    event = parse_event(record.payload)
    try:
        with cur.connection.transaction():  # a savepoint: a failure undoes only the attempt
            _project(cur, projection, event)
    except ProjectionFailed as failure:
        row = cur.execute("UPDATE consumer_quarantine SET attempts = attempts + 1, error = %s, last_attempt_at = now()"
                          f" WHERE case_id = %s AND case_version = %s RETURNING {_COLUMNS}",
                          (failure.reason, case_id, record.case_version)).fetchone()
        return False, Quarantined(*row) if row else record
    cur.execute("UPDATE consumer_quarantine SET resolved_at = now(), resolution = 'applied', last_attempt_at = now(),"
                " attempts = attempts + 1 WHERE case_id = %s AND case_version = %s", (case_id, record.case_version))
    cur.execute("UPDATE consumer_positions SET quarantined_version = NULL WHERE case_id = %s", (case_id,))
    return True, record


def resolve_in(cur: psycopg.Cursor[Any], case_id: UUID, reason: str) -> Quarantined:
    """Skip the case's quarantined fact in this read model (it stays in the event store; a rebuild applies it
    once the projection can): the case moves on to its parked versions."""
    _, held = _lock(cur, case_id)
    record = _open_record(cur, case_id, held)
    cur.execute("UPDATE consumer_quarantine SET resolved_at = now(), resolution = 'skipped', resolution_reason = %s"
                " WHERE case_id = %s AND case_version = %s", (reason, case_id, record.case_version))
    cur.execute("UPDATE consumer_positions SET case_version = %s, notification_id = %s, quarantined_version = NULL,"
                " applied_at = now() WHERE case_id = %s", (record.case_version, record.notification_id, case_id))
    return record


def _open_record(cur: psycopg.Cursor[Any], case_id: UUID, held: int | None) -> Quarantined:
    row = None if held is None else cur.execute(
        f"SELECT {_COLUMNS} FROM consumer_quarantine WHERE case_id = %s AND case_version = %s AND resolved_at IS NULL",
        (case_id, held)).fetchone()
    if row is None:
        raise NotQuarantined(f"case {case_id} is not quarantined in this read model")
    return Quarantined(*row)
