"""The pure core of the audit trail: canonical JSON, the per-case hash chain and the daily digest.

Kept free of I/O so the projection, the verifier and anyone outside the system (a supervisor's own script,
given an export of the rows) compute exactly the same values:

* **canonical JSON** of a contract: ``contract.model_dump(mode="json")`` written with sorted keys, no
  whitespace, UTF-8 (``ensure_ascii=False``), NaN refused. Dates and datetimes are pydantic's ISO 8601 text
  (``2024-01-08T09:00:00Z``); the v1 contracts carry no floats. The stored ``payload`` (``json``) is this JSON
  parsed back, so re-encoding a stored payload canonically gives back the same bytes;
* **payload digest**: ``payload_sha256 = sha256(canonical_json)`` (lowercase hex), stored with each row;
* **chain hash**: ``hash = sha256(prev_hash || payload_sha256)``: the previous link's lowercase hex digest
  (ASCII), immediately followed by the payload digest (ASCII), hex-encoded. The chain runs over the digest, not
  the payload itself, so that a row whose personal references were **redacted** (an archived case, docs/privacy.md)
  keeps its place in the chain verifiable: its digest still links it, and the original (the event store, or the
  archive's copy) still proves its content against the digest. Each case (aggregate) has its own chain:
  version 1 links to :data:`GENESIS_HASH`, version *n* to the hash of version *n-1*. The runtime guarantees
  per-case order, so a chain does not depend on how cases were interleaved;
* **redaction**: every person reference in the payload becomes :data:`REDACTED_PERSON`
  (:data:`PERSON_REF_PATTERN`, the same regular expression in Python and in PostgreSQL);
* **daily digest**: for one UTC day of ``recorded_at``, ``sha256`` over the lines
  ``<case_id>:<case_version>:<hash>\\n`` sorted by (case id as text, version). Publishing (anchoring) each
  day's digest outside the system makes even a consistent rewrite of whole chains evident.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from contracts.events import EventEnvelopeV1

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of every case's first event: a fixed value, so chains start the same everywhere."""
PERSON_REF_PATTERN = r"person:[a-z0-9]+(?:[-_][a-z0-9]+)*"
"""A person reference (PRIV-1's token grammar; a UUID token matches it too)."""
REDACTED_PERSON = "person:redacted"
_PERSON_REF = re.compile(PERSON_REF_PATTERN)


def contract_document(event: EventEnvelopeV1) -> dict[str, Any]:
    """The contract as JSON-ready data: what is stored in ``payload`` and hashed."""
    return event.model_dump(mode="json")


def canonical_json(document: Mapping[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 text, no NaN: one text for one document."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def payload_digest(canonical: str) -> str:
    """``sha256(canonical JSON)`` as lowercase hex: what the chain links, and what a redacted row keeps."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def link_hash(prev_hash: str, digest: str) -> str:
    """``sha256(prev_hash || payload_sha256)`` as lowercase hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + digest.encode("ascii")).hexdigest()


def chain_hash(prev_hash: str, canonical: str) -> str:
    """The link of a payload given as canonical JSON: ``link_hash(prev_hash, payload_digest(canonical))``."""
    return link_hash(prev_hash, payload_digest(canonical))


def redact_document(document: Any) -> Any:
    """The payload with every person reference replaced by :data:`REDACTED_PERSON` (what PostgreSQL's
    ``regexp_replace`` with :data:`PERSON_REF_PATTERN` does to the stored text)."""
    if isinstance(document, dict):
        return {key: redact_document(value) for key, value in document.items()}
    if isinstance(document, list):
        return [redact_document(value) for value in document]
    return _PERSON_REF.sub(REDACTED_PERSON, document) if isinstance(document, str) else document


def document_hash(prev_hash: str, document: Mapping[str, Any]) -> str:
    """The chain hash of a document (a contract's JSON or a stored payload) after ``prev_hash``."""
    return chain_hash(prev_hash, canonical_json(document))


@dataclass(frozen=True)
class ChainLink:
    """One stored link: enough to check a chain without the database."""

    case_id: UUID
    case_version: int
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str
    payload_sha256: str | None = None
    """The stored digest; for a redacted row it is what links the row (its payload no longer hashes to it)."""
    redacted: bool = False


@dataclass(frozen=True)
class ChainBreak:
    """Where a stored chain stops being consistent, and why."""

    case_id: UUID
    case_version: int
    reason: str


def check_chain(links: Sequence[ChainLink]) -> ChainBreak | None:
    """Check one case's links (in version order, starting at 1): versions contiguous, each ``prev_hash`` the
    previous ``hash`` (genesis first), each ``hash`` recomputed from its own payload (a redacted row: from its
    stored digest; a row that is not redacted must also match its stored digest). The first break, or None."""
    expected_prev = GENESIS_HASH
    for expected_version, link in enumerate(links, start=1):
        if link.case_version != expected_version:
            return ChainBreak(link.case_id, link.case_version,
                              f"version {expected_version} expected, found {link.case_version}")
        if link.prev_hash != expected_prev:
            return ChainBreak(link.case_id, link.case_version,
                              "prev_hash does not match the previous link's hash")
        digest = payload_digest(canonical_json(link.payload))
        if link.redacted:
            if link.payload_sha256 is None or link_hash(link.prev_hash, link.payload_sha256) != link.hash:
                return ChainBreak(link.case_id, link.case_version, "hash does not match the redacted row's digest")
        elif link_hash(link.prev_hash, digest) != link.hash:
            return ChainBreak(link.case_id, link.case_version, "hash does not match the payload")
        elif link.payload_sha256 is not None and link.payload_sha256 != digest:
            return ChainBreak(link.case_id, link.case_version, "payload_sha256 does not match the payload")
        expected_prev = link.hash
    return None


@dataclass(frozen=True)
class DigestEntry:
    case_id: UUID
    case_version: int
    hash: str


def utc_day(instant: datetime) -> date:
    """The UTC calendar day of an instant (naive instants are refused: the store's are aware)."""
    if instant.tzinfo is None:
        raise ValueError("recorded_at must be timezone-aware")
    return instant.astimezone(UTC).date()


def day_digest(entries: Iterable[DigestEntry]) -> str:
    """sha256 over ``<case_id>:<case_version>:<hash>\\n`` for the entries sorted by (case id text, version):
    independent of the order the entries are given in."""
    ordered = sorted(entries, key=lambda e: (str(e.case_id), e.case_version))
    digest = hashlib.sha256()
    for entry in ordered:
        digest.update(f"{entry.case_id}:{entry.case_version}:{entry.hash}\n".encode("ascii"))
    return digest.hexdigest()
