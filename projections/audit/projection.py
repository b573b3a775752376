"""The audit trail: one append-only, hash-chained row per published fact, per case (domain.md §5, §8.3.9).

Table ``audit_trail`` (unqualified; the runtime puts it in the generation's schema):

* one row per event: its position (``case_id``, ``case_version``, ``notification_id``), the envelope fields a
  supervisor filters on (``event_type``, ``occurred_at``, ``recorded_at``, ``actor_role``,
  ``actor_person_ref``, ``legal_basis``, ``rule_id``) and ``payload``: the whole v1 contract as its canonical JSON
  text (``json``, kept as written);
* ``prev_hash`` / ``hash``: the per-case chain of :mod:`projections.audit.hashing`
  (``hash = sha256(prev_hash || canonical JSON of the contract)``; version 1 links to ``GENESIS_HASH``).
  ``apply`` reads the previous version's hash through the view, inside the consumer's transaction; the
  runtime applies version *n* only on top of *n-1*, so the chain is the same under any cross-case order.

Append-only in the database too: the trigger ``audit_trail_append_only`` raises on every ``UPDATE`` and
``DELETE`` (row level) and on ``TRUNCATE`` (statement level). It stops the application, a mistaken script
or a consumer bug from rewriting history; it does not stop the table's owner or a superuser, who can
``ALTER TABLE … DISABLE TRIGGER`` (or ``SET session_replication_role = replica``). That is what the hash
chain, :func:`services.audit.verify.verify` and the daily digests are for: a change made behind the
trigger's back is *evident*. In production the consumer's role should own nothing and be granted only
``INSERT, SELECT`` on ``audit_trail``; auditors get ``SELECT`` (separately permissioned, domain.md §5).
Dropping a whole retired generation (schema) stays possible: that is deliberate, rebuild-friendly, and
leaves the event store, the source of truth, untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from contracts.events import CaseArchivedV1, EventEnvelopeV1, IdentityProtectedV1, IdentityProtectionLiftedV1
from projections.audit.hashing import (
    GENESIS_HASH,
    PERSON_REF_PATTERN,
    REDACTED_PERSON,
    canonical_json,
    contract_document,
    link_hash,
    payload_digest,
)
from projections.base import ReadView, Statement
from projections.dates import instant, text

TABLE = "audit_trail"

_INSERT = (
    "INSERT INTO audit_trail (case_id, case_version, notification_id, event_type, occurred_at, recorded_at,"
    " actor_role, actor_person_ref, legal_basis, rule_id, payload, prev_hash, hash, payload_sha256)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::json, %s, %s, %s)"
)
_REDACT = (
    "UPDATE audit_trail SET payload = regexp_replace(payload::text, %(person)s, %(redacted)s, 'g')::json,"
    " actor_person_ref = regexp_replace(actor_person_ref, %(person)s, %(redacted)s, 'g'), redacted_at = now()"
    " WHERE case_id = %(case)s AND redacted_at IS NULL"
)


class ChainGapError(RuntimeError):
    """The previous version's row is missing: the runtime's version gating should make this impossible."""


class AuditProjection:
    name: ClassVar[str] = "audit"
    version: ClassVar[int] = 3
    """2: ``payload`` is ``json`` (the canonical text as it is, which ``jsonb`` cannot hold when a string has a NUL),
    total over every recorded fact (``columns``), versions in ``bigint``. 3: the chain links ``payload_sha256``
    (redaction-stable, :mod:`projections.audit.hashing`); an archived case's rows are redacted (``redacted_at``);
    ``audit_forgotten`` (archived cases and protected identities, left out of :mod:`projections.audit.people`)."""
    ddl: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE IF NOT EXISTS audit_trail (
            case_id uuid NOT NULL,
            case_version bigint NOT NULL CHECK (case_version >= 1),
            notification_id bigint NOT NULL,
            event_type text NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            actor_role text NOT NULL,
            actor_person_ref text NOT NULL,
            legal_basis text,
            rule_id text,
            payload json NOT NULL,
            prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
            hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
            payload_sha256 text NOT NULL CHECK (payload_sha256 ~ '^[0-9a-f]{64}$'),
            redacted_at timestamptz,
            PRIMARY KEY (case_id, case_version)
        )""",
        "CREATE INDEX IF NOT EXISTS audit_trail_recorded_at ON audit_trail (recorded_at)",
        "CREATE INDEX IF NOT EXISTS audit_trail_event_type ON audit_trail (event_type, case_id)",
        "CREATE INDEX IF NOT EXISTS audit_trail_notification_id ON audit_trail (notification_id)",
        """CREATE OR REPLACE FUNCTION audit_trail_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- The one change allowed: redacting a row once (archiving), its chain and digest untouched.
            IF TG_OP = 'UPDATE' AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL
               AND (NEW.case_id, NEW.case_version, NEW.notification_id, NEW.event_type, NEW.occurred_at,
                    NEW.recorded_at, NEW.actor_role, NEW.legal_basis, NEW.rule_id, NEW.prev_hash, NEW.hash,
                    NEW.payload_sha256)
                   IS NOT DISTINCT FROM
                   (OLD.case_id, OLD.case_version, OLD.notification_id, OLD.event_type, OLD.occurred_at,
                    OLD.recorded_at, OLD.actor_role, OLD.legal_basis, OLD.rule_id, OLD.prev_hash, OLD.hash,
                    OLD.payload_sha256) THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'audit_trail is append-only: % refused', TG_OP
                USING HINT = 'Facts are corrected by new facts, never by rewriting the audit trail.';
        END
        $$""",
        """CREATE OR REPLACE TRIGGER audit_trail_append_only BEFORE UPDATE OR DELETE ON audit_trail
            FOR EACH ROW EXECUTE FUNCTION audit_trail_refuse_change()""",
        """CREATE OR REPLACE TRIGGER audit_trail_no_truncate BEFORE TRUNCATE ON audit_trail
            FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_refuse_change()""",
        """CREATE TABLE IF NOT EXISTS audit_forgotten (
            case_id uuid NOT NULL,
            subject_ref text NOT NULL,
            reason text NOT NULL CHECK (reason IN ('archived', 'protected')),
            PRIMARY KEY (case_id, subject_ref, reason)
        )""",
    )

    def apply(self, event: EventEnvelopeV1, view: ReadView) -> Sequence[Statement]:
        """One INSERT: the fact, chained to the hash of the case's previous version (the link this transaction
        wrote a fact ago, when it did; else read from the trail)."""
        memory = view.remembered(event.case_id)
        if event.case_version == 1:
            prev_hash = GENESIS_HASH
        elif memory.get("version") == event.case_version - 1:
            prev_hash = memory["hash"]
        else:
            row = view.fetchone("SELECT hash FROM audit_trail WHERE case_id = %s AND case_version = %s",
                                (event.case_id, event.case_version - 1))
            if row is None:
                raise ChainGapError(f"audit_trail has no row for case {event.case_id} version "
                                    f"{event.case_version - 1}; cannot chain version {event.case_version}")
            prev_hash = str(row[0])
        canonical = canonical_json(contract_document(event))
        digest = payload_digest(canonical)
        link = link_hash(prev_hash, digest)
        memory["version"], memory["hash"] = event.case_version, link
        return [Statement(_INSERT, (*columns(event), canonical, prev_hash, link, digest)), *forgetting(event)]


def forgetting(event: EventEnvelopeV1) -> list[Statement]:
    """What the people indexes must leave out from now on: a whole archived case (``*``), a protected subject."""
    match event:
        case CaseArchivedV1():
            return [Statement("INSERT INTO audit_forgotten VALUES (%s, '*', 'archived') ON CONFLICT DO NOTHING",
                              (event.case_id,)),
                    Statement(_REDACT, {"person": PERSON_REF_PATTERN, "redacted": REDACTED_PERSON,
                                        "case": event.case_id})]
        case IdentityProtectedV1():
            return [Statement("INSERT INTO audit_forgotten VALUES (%s, %s, 'protected') ON CONFLICT DO NOTHING",
                              (event.case_id, event.subject_ref))]
        case IdentityProtectionLiftedV1():
            return [Statement("DELETE FROM audit_forgotten WHERE case_id = %s AND subject_ref = %s"
                              " AND reason = 'protected'", (event.case_id, event.subject_ref))]
    return []


def columns(event: EventEnvelopeV1) -> tuple[Any, ...]:
    """The envelope columns of the fact's row, as PostgreSQL holds them (``projections.dates``: an instant beyond
    what Python reads back, or a NUL in a text, becomes the nearest value the column holds; ``payload`` keeps the
    fact exactly, and the hash is computed over it)."""
    return (event.case_id, event.case_version, event.notification_id, event.event_type, instant(event.occurred_at),
            instant(event.recorded_at), str(event.actor_role), event.actor_person_ref,
            None if event.legal_basis is None else text(event.legal_basis),
            None if event.rule_id is None else text(event.rule_id))
