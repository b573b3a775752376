"""Check the audit trail against the event store, the source of truth.

:func:`verify` replays every stored fact through the same mapping the relay publishes with
(``services.consumers.replay.published_events``), recomputes each case's hash chain from the contracts,
and compares, fact by fact in notification order, with the ``audit_trail`` rows. It stops at the first
divergence and says where (case, version, notification id) and what:

* ``missing_row``: the event store has the fact, the audit trail does not. If the audit consumer's own
  position for the case (``consumer_positions``) is below the version, the consumer simply has not applied
  it yet (lag, not tampering); otherwise the row was removed;
* ``payload_differs``: both have the fact but its content differs (the differing top-level fields are
  named). ``audit_row_consistent`` then tells which side changed: an audit row whose hash still matches its
  own payload and links to the previous stored row was written as it stands, so the *event store* was
  changed afterwards; an inconsistent audit row was changed itself;
* ``columns_differ``: the envelope columns (``event_type``, ``occurred_at`` …) disagree with the fact;
* ``hash_chain_broken``: the payload is right but ``prev_hash``/``hash`` are not what the chain from the
  event store gives;
* ``unreadable_fact``: a stored fact no longer decodes or maps to its v1 contract (its bytes were changed
  into something the domain or the contract refuses); verification cannot go past it;
* ``extra_row``: an audit row (found after a clean replay) for a fact the event store does not have.

Memory: one entry per case (the chain's last hash); the audit rows are fetched a page at a time.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import PersistenceError

from contracts.events import EventEnvelopeV1
from projections.audit.hashing import (
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    contract_document,
    document_hash,
    payload_digest,
)
from projections.audit.projection import columns
from projections.audit.queries import COLUMNS, AuditEntry
from services.casework.application import Casework
from services.consumers.replay import published_events
from services.infra import topic_filter

Progress = Callable[[int, int], None]
"""``progress(events_checked, max_notification_id)``."""



class DivergenceKind(enum.StrEnum):
    MISSING_ROW = "missing_row"
    EXTRA_ROW = "extra_row"
    PAYLOAD_DIFFERS = "payload_differs"
    COLUMNS_DIFFER = "columns_differ"
    HASH_CHAIN_BROKEN = "hash_chain_broken"
    UNREADABLE_FACT = "unreadable_fact"


@dataclass(frozen=True)
class Divergence:
    kind: DivergenceKind
    case_id: UUID
    case_version: int
    notification_id: int
    """The event store's notification id of the fact (for an extra row: the row's own)."""
    detail: str
    fields: tuple[str, ...] = ()
    """What differs: contract fields (payload), column names, or ``prev_hash``/``hash``."""
    audit_row_consistent: bool | None = None
    """For ``payload_differs``: True when the audit row still matches its own hash and links to the previous
    stored row (so the event store changed), False when the audit row itself was changed."""

    def describe(self) -> str:
        where = f"case {self.case_id} version {self.case_version} (notification {self.notification_id})"
        what = f" [{', '.join(self.fields)}]" if self.fields else ""
        return f"{self.kind.value} at {where}{what}: {self.detail}"


@dataclass(frozen=True)
class VerifyReport:
    events_checked: int
    cases_checked: int
    divergence: Divergence | None = None
    up_to: int | None = None
    last_hashes: dict[UUID, str] = field(default_factory=dict, repr=False, compare=False)
    """Each case's recomputed head hash (when ``ok``): what an external anchor would record."""

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def describe(self) -> str:
        if self.divergence is None:
            return f"ok: {self.events_checked} events in {self.cases_checked} cases match the event store"
        return f"DIVERGENCE after {self.events_checked} matching events: {self.divergence.describe()}"


@dataclass(frozen=True)
class _Unreadable:
    error: Exception


def _guarded(events: Iterable[EventEnvelopeV1]) -> Iterator[EventEnvelopeV1 | _Unreadable]:
    """The replay, ending with an :class:`_Unreadable` marker where a stored fact fails to decode or map.
    Database errors are not divergences: they propagate."""
    iterator = iter(events)
    while True:
        try:
            event = next(iterator)
        except StopIteration:
            return
        except (psycopg.Error, PersistenceError):
            raise
        except Exception as error:  # a decoding, transcoding, mapping or contract validation error
            yield _Unreadable(error)
            return
        yield event


def _batches(events: Iterable[EventEnvelopeV1 | _Unreadable],
             size: int) -> Iterator[list[EventEnvelopeV1 | _Unreadable]]:
    iterator = iter(events)
    while batch := list(islice(iterator, size)):
        yield batch


def _unreadable(app: Casework, after: int, error: Exception) -> Divergence:
    """The divergence for the first stored fact after notification ``after``, which failed to read."""
    (notification,) = app.recorder.select_notifications(start=after, limit=1, inclusive_of_start=False,
                                                        topics=topic_filter.PUBLISHED)
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    case_id = notification.originator_id
    return Divergence(DivergenceKind.UNREADABLE_FACT, case_id if isinstance(case_id, UUID) else UUID(case_id),
                      notification.originator_version,
                      notification.id, f"the stored fact no longer reads as its v1 contract ({type(error).__name__}: "
                      f"{message}): the event store was changed or corrupted")


def _fetch(cursor: psycopg.Cursor[Any], batch: list[EventEnvelopeV1]) -> tuple[dict[tuple[UUID, int], AuditEntry],
                                                                                dict[UUID, int]]:
    ids = [e.case_id for e in batch]
    versions = [e.case_version for e in batch]
    if not batch:
        return {}, {}
    rows = cursor.execute(
        f"SELECT {COLUMNS} FROM audit_trail a"
        " JOIN unnest(%s::uuid[], %s::int[]) AS k(case_id, case_version) USING (case_id, case_version)",
        (ids, versions)).fetchall()
    found = {(r[0], r[1]): AuditEntry(*r) for r in rows}
    positions = dict(cursor.execute(
        "SELECT case_id, case_version FROM consumer_positions WHERE case_id = ANY(%s::uuid[])",
        (list(set(ids)),)).fetchall())
    return found, positions


_COLUMN_FIELDS = ("notification_id", "event_type", "occurred_at", "recorded_at", "actor_role", "actor_person_ref",
                  "legal_basis", "rule_id")


def _compare(event: EventEnvelopeV1, row: AuditEntry | None, expected_prev: str, stored_prev: str | None,
             position: int | None, next_prev_hash: Callable[[], str | None]) -> Divergence | None:
    """The first thing wrong with ``row`` as the audit of ``event`` (None when it is right)."""
    at = (event.case_id, event.case_version, event.notification_id)
    if row is None:
        if position is None or position < event.case_version:
            detail = (f"not in the audit trail; the audit consumer's position for this case is "
                      f"v{position or 0}: it has not applied this fact yet (lag), run verify again when caught up")
        else:
            detail = (f"not in the audit trail although the audit consumer recorded the case as applied up to "
                      f"v{position}: the row was removed")
        return Divergence(DivergenceKind.MISSING_ROW, *at, detail)
    document = contract_document(event)
    redacted = row.redacted_at is not None
    if redacted and row.payload_sha256 != payload_digest(canonical_json(document)):
        return Divergence(DivergenceKind.PAYLOAD_DIFFERS, *at, "event store and audit trail disagree: the redacted "
                          "row's digest is not the digest of the stored fact", ("payload_sha256",), False)
    if not redacted and row.payload != document:
        fields = tuple(sorted(k for k in set(document) | set(row.payload) if document.get(k) != row.payload.get(k)))
        following = next_prev_hash()
        consistent = (document_hash(row.prev_hash, row.payload) == row.hash
                      and (stored_prev is None or row.prev_hash == stored_prev)
                      and (following is None or following == row.hash))
        if not consistent:
            side = ("the audit row no longer matches its own hash or its neighbours in the chain: "
                    "the audit row was changed")
        elif following is None:
            side = ("the audit row matches its own hash and the previous link, and it is the case's last row: either "
                    "the event store was changed after the fact was audited, or the audit row was rewritten with a "
                    "fresh hash; compare the case's hash with an anchored daily digest to tell")
        else:
            side = ("the audit row still matches its own hash and both neighbours in the chain: the event store was "
                    "changed after the fact was audited")
        return Divergence(DivergenceKind.PAYLOAD_DIFFERS, *at,
                          f"event store and audit trail disagree; {side}", fields, consistent)
    stored_as = dict(zip(("case_id", "case_version", *_COLUMN_FIELDS), columns(event), strict=True))
    columns_differing = tuple(name for name in _COLUMN_FIELDS if getattr(row, name) != stored_as[name]
                              and not (redacted and name == "actor_person_ref"))  # redacted with the payload
    if columns_differing:
        return Divergence(DivergenceKind.COLUMNS_DIFFER, *at,
                          "the row's envelope columns disagree with the fact", columns_differing)
    expected_hash = chain_hash(expected_prev, canonical_json(document))
    broken = tuple(name for name, stored, expected in (("prev_hash", row.prev_hash, expected_prev),
                                                        ("hash", row.hash, expected_hash)) if stored != expected)
    if broken:
        return Divergence(DivergenceKind.HASH_CHAIN_BROKEN, *at,
                          f"stored {' and '.join(broken)} differ from the chain recomputed from the event store",
                          broken)
    return None


def verify(app: Casework, cursor: psycopg.Cursor[Any], *, up_to: int | None = None,
           progress: Progress | None = None, page: int = 500) -> VerifyReport:
    """Replay the event store (up to notification ``up_to``) and compare with the audit rows ``cursor`` sees
    (a cursor whose search path is the audit generation's schema, e.g. ``ReadModelStore.reading()``)."""
    total = up_to if up_to is not None else (app.recorder.max_notification_id() or 0)
    expected: dict[UUID, str] = {}
    """Each case's head hash so far: recomputed from the event store, and equal to the stored one (checked)."""
    versions: dict[UUID, int] = {}
    checked = position = 0
    for batch in _batches(_guarded(published_events(app, up_to=up_to)), page):
        rows, positions = _fetch(cursor, [e for e in batch if not isinstance(e, _Unreadable)])
        for event in batch:
            if isinstance(event, _Unreadable):
                return VerifyReport(checked, len(versions), _unreadable(app, position, event.error), up_to)
            row = rows.get((event.case_id, event.case_version))
            expected_prev = expected.get(event.case_id, GENESIS_HASH)
            divergence = _compare(event, row, expected_prev, expected_prev, positions.get(event.case_id),
                                  partial(_next_prev_hash, cursor, event.case_id, event.case_version))
            if divergence is not None:
                return VerifyReport(checked, len(versions | {event.case_id: 0}), divergence, up_to)
            assert row is not None
            expected[event.case_id] = row.hash
            versions[event.case_id] = event.case_version
            position = event.notification_id
            checked += 1
        if progress is not None:
            progress(checked, total)
    extra = _first_extra_row(cursor, versions, up_to)
    return VerifyReport(checked, len(versions), extra, up_to, dict(expected) if extra is None else {})


def _next_prev_hash(cursor: psycopg.Cursor[Any], case_id: UUID, case_version: int) -> str | None:
    """The ``prev_hash`` stored on the case's next row (None: this is the last row)."""
    row = cursor.execute("SELECT prev_hash FROM audit_trail WHERE case_id = %s AND case_version = %s",
                         (case_id, case_version + 1)).fetchone()
    return None if row is None else str(row[0])


def _first_extra_row(cursor: psycopg.Cursor[Any], versions: dict[UUID, int], up_to: int | None) -> Divergence | None:
    row = cursor.execute(
        "SELECT a.case_id, a.case_version, a.notification_id FROM audit_trail a"
        " LEFT JOIN unnest(%s::uuid[], %s::int[]) AS k(case_id, last_version) ON k.case_id = a.case_id"
        " WHERE (k.case_id IS NULL OR a.case_version > k.last_version)"
        "   AND (%s::bigint IS NULL OR a.notification_id <= %s::bigint)"
        " ORDER BY a.notification_id, a.case_id, a.case_version LIMIT 1",
        (list(versions), list(versions.values()), up_to, up_to)).fetchone()
    if row is None:
        return None
    return Divergence(DivergenceKind.EXTRA_ROW, row[0], row[1], row[2],
                      "in the audit trail but not in the event store")
