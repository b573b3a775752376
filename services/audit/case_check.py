"""One case's audit trail checked against the event store: the badge on the supervisor's trail page.

``prosperity audit verify`` (:mod:`services.audit.verify`) proves the whole trail by replaying the whole store;
a page needs the same proof for one case, at once. This replays only the case's own stored facts through the same
mapping the relay publishes with (``contracts.mapping``), with their notification ids from the store, and
recomputes the case's hash chain (:mod:`projections.audit.hashing`) row by row. The trail is verified when every
fact has its row, each row's payload is the fact's contract, and each ``prev_hash``/``hash`` is the chain recomputed
from the event store; otherwise the first difference is named. What it cannot see is a consistent rewrite of the
event store itself together with the trail (the anchored daily digest is for that).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Identifier

from contracts.mapping import MunicipalityTracker, mapped_event_classes, repository_lookup
from projections.audit.hashing import GENESIS_HASH, canonical_json, chain_hash, contract_document, payload_digest
from projections.audit.queries import AuditEntry
from services.casework.application import Casework


@dataclass(frozen=True)
class CaseCheck:
    ok: bool
    facts: int
    """Facts of the case in the event store."""
    head_hash: str | None
    """The recomputed hash of the case's last fact (what an anchor records), when verified."""
    version: int | None = None
    """Where the first difference is."""
    detail: str = ""


def _notification_ids(app: Casework, case_id: UUID) -> dict[int, int]:
    recorder: Any = app.recorder
    datastore = recorder.datastore
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(SQL("SELECT originator_version, notification_id FROM {}.{} WHERE originator_id = %s").format(
            Identifier(datastore.schema), Identifier(recorder.events_table_name)), (case_id,))
        return {int(row["originator_version"]): int(row["notification_id"]) for row in cursor.fetchall()}


def check_case(app: Casework, case_id: UUID, entries: Sequence[AuditEntry]) -> CaseCheck:
    """Compare the case's audit rows (``entries``, in version order) with its facts in the event store."""
    mapped = mapped_event_classes()
    ids = _notification_ids(app, case_id)
    tracker = MunicipalityTracker(lookup=repository_lookup(app.repository))
    rows = {entry.case_version: entry for entry in entries}
    previous, count = GENESIS_HASH, 0
    for event in app.events.get(case_id):
        if not isinstance(event, mapped):
            continue
        count += 1
        version = int(event.originator_version)
        document = contract_document(tracker.to_published(event, ids[version], app.name).contract)
        row = rows.pop(version, None)
        if row is None:
            return CaseCheck(False, count, None, version, "the fact has no row in the audit trail (the audit "
                             "consumer may not have applied it yet; look again shortly)")
        if row.redacted_at is not None:
            if row.payload_sha256 != payload_digest(canonical_json(document)):
                return CaseCheck(False, count, None, version, "the redacted row's digest differs from the stored fact")
        elif row.payload != document:
            differing = sorted(k for k in set(document) | set(row.payload) if document.get(k) != row.payload.get(k))
            return CaseCheck(False, count, None, version, "the row's payload differs from the stored fact: "
                             + ", ".join(differing))
        expected = chain_hash(previous, canonical_json(document))
        if row.prev_hash != previous or row.hash != expected:
            return CaseCheck(False, count, None, version, "the hash chain is broken at this row")
        previous = expected
    if rows:
        extra = min(rows)
        return CaseCheck(False, count, None, extra, "the audit trail has a row for a fact the event store lacks")
    return CaseCheck(True, count, previous if count else None)
