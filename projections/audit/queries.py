"""The supervisor's questions (domain.md §5), answered from the audit trail's rows and their JSON payloads.

Every function takes a cursor whose search path is the audit generation's schema (``ReadModelStore.reading()``)
and returns typed, immutable results. Selection happens in SQL (by event type, by case); the per-case logic
(which basis was active, which notice belongs to which conclusion) is done by pure functions over
:class:`AuditEntry` lists, so it is unit-testable without a database. Times: ``occurred_at`` is when it
happened in the world (as the actor recorded it), ``recorded_at`` when the event store learned it.

Questions answered here: (1) processing basis, (5) closures without a plan, (6) age-outs, (10) Norwegian
decisions and lead times, complaint timelines in both countries, (12) a case's timeline up to a complaint,
plus the trail of one case and the daily digests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import psycopg

from projections.audit.hashing import ChainBreak, ChainLink, DigestEntry, check_chain, day_digest, utc_day

Cursor = psycopg.Cursor[Any]

COLUMNS = ("case_id, case_version, notification_id, event_type, occurred_at, recorded_at, actor_role,"
            " actor_person_ref, legal_basis, rule_id, payload, prev_hash, hash, payload_sha256, redacted_at")
"""The audit_trail columns in the order of :class:`AuditEntry`'s fields."""


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit trail."""

    case_id: UUID
    case_version: int
    notification_id: int
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    actor_role: str
    actor_person_ref: str
    legal_basis: str | None
    rule_id: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    payload_sha256: str | None = None
    redacted_at: datetime | None = None
    """Set when an archived case's row was redacted (its person references replaced; chain and digest unchanged)."""

    def get(self, name: str, default: Any = None) -> Any:
        """A field of the fact's contract."""
        return self.payload.get(name, default)

    @property
    def jurisdiction(self) -> str | None:
        value = self.payload.get("jurisdiction")
        return None if value is None else str(value)


def _entries(cursor: Cursor, where: str = "TRUE", params: Sequence[Any] = ()) -> list[AuditEntry]:
    rows = cursor.execute(f"SELECT {COLUMNS} FROM audit_trail WHERE {where} ORDER BY case_id, case_version",
                          params).fetchall()
    return [AuditEntry(*row) for row in rows]


def _by_case(entries: Iterable[AuditEntry]) -> dict[UUID, list[AuditEntry]]:
    cases: dict[UUID, list[AuditEntry]] = defaultdict(list)
    for entry in entries:
        cases[entry.case_id].append(entry)
    return cases


def _of_types(cursor: Cursor, types: Iterable[str], case_id: UUID | None = None) -> list[AuditEntry]:
    if case_id is None:
        return _entries(cursor, "event_type = ANY(%s)", (sorted(types),))
    return _entries(cursor, "event_type = ANY(%s) AND case_id = %s", (sorted(types), case_id))


def _date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(str(value))


def _datetime(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _refs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


# ---- the trail of one case ------------------------------------------------------------------------------
def case_trail(cursor: Cursor, case_id: UUID, *, up_to_version: int | None = None) -> list[AuditEntry]:
    """Every audited fact of one case, in version order (up to ``up_to_version``)."""
    if up_to_version is None:
        return _entries(cursor, "case_id = %s", (case_id,))
    return _entries(cursor, "case_id = %s AND case_version <= %s", (case_id, up_to_version))


def chain_break(entries: Sequence[AuditEntry]) -> ChainBreak | None:
    """Check the stored chain of one case's entries (from version 1, in order); the first break or None."""
    return check_chain([ChainLink(e.case_id, e.case_version, e.payload, e.prev_hash, e.hash, e.payload_sha256,
                                  e.redacted_at is not None) for e in entries])


# ---- (1) basis for processing ---------------------------------------------------------------------------
IS_PROCESSING = frozenset({
    "initial_assessment_arranged", "service_recorded", "level_raised", "service_ended", "level1_plan_recorded",
    "case_manager_need_notified", "case_manager_appointed", "child_views_recorded", "support_team_established",
    "support_team_member_invited", "support_team_member_removed", "team_meeting_invitation_sent",
    "support_team_meeting_held", "support_plan_adopted", "support_plan_evaluated", "support_plan_revised",
    "adult_transition_plan_adopted", "support_team_concluded", "team_conclusion_notified",
    "level_lowered",
})
"""Icelandic facts that process the child's data and need an active integration request (IS-G0). Contact,
information sharing under a signed request, the offer, the request itself and its withdrawal, coordinator
changes, complaints, domicile, majority and closing need none (domain.md §2.3)."""
NO_PROCESSING = frozenset({"barnekoordinator_appointed", "coordination_instruction_issued", "individual_plan_adopted",
                           "coordinator_guidance_given", "referral_communicated", "service_followed_up",
                           "reassessment_initiated", "family_views_recorded", "specialist_coordinator_linked"})
"""Norwegian facts that need the family's consent (NO-G0, NO-R4): appointment, coordination and the
coordinator's duties after the decision (seed 002)."""
_BASIS_TYPES = frozenset({"integration_requested", "integration_request_withdrawn", "processing_stopped",
                          "barnekoordinator_consent_recorded", "consent_withdrawn"})


@dataclass(frozen=True)
class Basis:
    """The request (Iceland) or consent (Norway) a fact was processed under."""

    kind: Literal["integration_request", "consent"]
    id: str
    given_by: tuple[str, ...]
    given_at: datetime
    """When it was given (occurred_at of the fact that recorded it)."""
    case_version: int
    scope: tuple[str, ...]
    """Norway: the services the confidentiality waiver covers; Iceland: the requester roles."""


@dataclass(frozen=True)
class ProcessingFact:
    case_id: UUID
    case_version: int
    event_type: str
    jurisdiction: str | None
    occurred_at: datetime
    recorded_at: datetime
    actor_role: str
    actor_person_ref: str
    basis: Basis | None
    """None: processed with no active basis (should never happen)."""


def assess_basis(entries: Sequence[AuditEntry]) -> list[ProcessingFact]:
    """For one case's entries in version order: each processing fact with the basis active when it was
    recorded. A withdrawal ends the basis at once."""
    active: Basis | None = None
    facts: list[ProcessingFact] = []
    for entry in entries:
        if entry.event_type == "integration_requested":
            active = Basis("integration_request", str(entry.get("request_id")), _refs(entry.get("requested_by_refs")),
                           entry.occurred_at, entry.case_version, _refs(entry.get("requester_roles")))
        elif entry.event_type == "barnekoordinator_consent_recorded":
            active = Basis("consent", str(entry.get("consent_id")), _refs(entry.get("given_by_refs")),
                           entry.occurred_at, entry.case_version, _refs(entry.get("scope_service_org_refs")))
        elif entry.event_type in ("integration_request_withdrawn", "consent_withdrawn"):
            active = None
        processing = IS_PROCESSING if entry.jurisdiction == "IS" else NO_PROCESSING
        if entry.event_type in processing:
            facts.append(ProcessingFact(entry.case_id, entry.case_version, entry.event_type, entry.jurisdiction,
                                        entry.occurred_at, entry.recorded_at, entry.actor_role,
                                        entry.actor_person_ref, active))
    return facts


def processing_basis(cursor: Cursor, case_id: UUID | None = None) -> list[ProcessingFact]:
    """Every processing fact (of one case, or all) with the request or consent that was active for it."""
    entries = _of_types(cursor, IS_PROCESSING | NO_PROCESSING | _BASIS_TYPES, case_id)
    return [fact for case in _by_case(entries).values() for fact in assess_basis(case)]


def processing_without_basis(cursor: Cursor, case_id: UUID | None = None) -> list[ProcessingFact]:
    """§5 (1): processing recorded while no integration request (IS) / consent (NO) was active. Should be none."""
    return [fact for fact in processing_basis(cursor, case_id) if fact.basis is None]


# ---- (5) closures without a plan ------------------------------------------------------------------------
@dataclass(frozen=True)
class ClosureWithoutPlan:
    case_id: UUID
    case_version: int
    team_id: str
    concluded_at: datetime
    concluded_by: str
    justification_doc_ref: str | None
    notice_case_version: int | None
    notice_at: datetime | None
    """When the parents and the case manager were told (None: no notice on record, a breach of IS-INV-6)."""
    notice_recipients: tuple[str, ...]
    notice_justification_doc_ref: str | None
    complaint_info_included: bool
    complaint_body: str | None


def closures_from(entries: Sequence[AuditEntry]) -> list[ClosureWithoutPlan]:
    """For one case's entries: each conclusion without a plan, with the notice that followed it."""
    closures: list[ClosureWithoutPlan] = []
    for index, entry in enumerate(entries):
        if entry.event_type != "support_team_concluded" or entry.get("outcome") != "concluded_without_plan":
            continue
        notice = next((later for later in entries[index + 1:] if later.event_type == "team_conclusion_notified"),
                      None)
        closures.append(ClosureWithoutPlan(
            entry.case_id, entry.case_version, str(entry.get("team_id", "")), entry.occurred_at,
            entry.actor_person_ref, entry.get("justification_doc_ref"),
            None if notice is None else notice.case_version, None if notice is None else notice.occurred_at,
            () if notice is None else _refs(notice.get("recipient_refs")),
            None if notice is None else notice.get("justification_doc_ref"),
            False if notice is None else bool(notice.get("complaint_info_included")),
            None if notice is None else notice.get("complaint_body")))
    return closures


def closures_without_plan(cursor: Cursor) -> list[ClosureWithoutPlan]:
    """§5 (5): each support team concluded without a plan, its justification, notice date, recipients, and
    whether complaint information was included."""
    entries = _of_types(cursor, {"support_team_concluded", "team_conclusion_notified"})
    return [closure for case in _by_case(entries).values() for closure in closures_from(case)]


# ---- (6) age-outs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgeOut:
    case_id: UUID
    case_version: int
    reached_majority_on: date
    case_manager_ref: str | None
    """The case manager in office when the child turned 18."""
    transition_plan_id: str | None
    transition_plan_adopted_at: datetime | None
    child_age_at_adoption: int | None
    plan_before_birthday: bool
    """An adult transition plan was adopted while the child was under 18 (IS-INV-7)."""
    transition_plan_existed: bool
    """What the majority fact itself recorded (domain's view at the time)."""
    age_out_override_reason: str | None
    """If the team was concluded as ``age_out`` without a plan: the recorded override reason."""


def age_outs_from(entries: Sequence[AuditEntry]) -> list[AgeOut]:
    """For one Icelandic case: each majority reached while a case manager led the case."""
    results: list[AgeOut] = []
    case_manager: str | None = None
    plan: AuditEntry | None = None
    override: str | None = None
    for entry in entries:
        if entry.event_type == "case_manager_appointed":
            case_manager = str(entry.get("case_manager_ref"))
        elif entry.event_type == "adult_transition_plan_adopted":
            plan = entry
        elif entry.event_type == "support_team_concluded" and entry.get("outcome") == "age_out":
            override = entry.get("override_reason_code")
        elif entry.event_type == "child_reached_majority" and entry.jurisdiction == "IS" and case_manager:
            age = None if plan is None else int(plan.get("child_age_years_at_adoption"))
            results.append(AgeOut(
                entry.case_id, entry.case_version, _date(entry.get("on")) or entry.occurred_at.date(), case_manager,
                None if plan is None else str(plan.get("plan_id")), None if plan is None else plan.occurred_at,
                age, age is not None and age < 18, bool(entry.get("transition_plan_existed")), override))
    return results


def age_outs(cursor: Cursor) -> list[AgeOut]:
    """§5 (6): case-manager-led Icelandic children who turned 18, and whether an adult transition plan was
    adopted before the birthday (the plan records the child's age at adoption: under 18 means before)."""
    entries = _of_types(cursor, {"case_manager_appointed", "adult_transition_plan_adopted", "support_team_concluded",
                                 "child_reached_majority"})
    return [result for case in _by_case(entries).values() for result in age_outs_from(case)]


# ---- (10) Norwegian decisions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NorwayDecision:
    case_id: UUID
    case_version: int
    decision_id: str
    decision: str
    request_id: str | None
    request_channel: str | None
    requested_at: datetime | None
    issued_at: datetime
    delivered_at: datetime | None
    lead_time: timedelta | None
    """From the request (occurred_at) to the decision (occurred_at)."""
    justification_doc_ref: str | None
    appeal_body: str | None
    appeal_deadline: datetime | None
    legal_basis: str | None
    appeal_info_complete: bool
    """A justification, an appeal body and an appeal deadline are all on record."""


def decisions_from(entries: Sequence[AuditEntry]) -> list[NorwayDecision]:
    request: AuditEntry | None = None
    results: list[NorwayDecision] = []
    for entry in entries:
        if entry.event_type == "barnekoordinator_requested":
            request = entry
        elif entry.event_type == "barnekoordinator_decision_issued":
            body, deadline = entry.get("appeal_body"), _datetime(entry.get("appeal_deadline"))
            results.append(NorwayDecision(
                entry.case_id, entry.case_version, str(entry.get("decision_id")), str(entry.get("decision")),
                None if request is None else str(request.get("request_id")),
                None if request is None else str(request.get("channel")),
                None if request is None else request.occurred_at, entry.occurred_at,
                _datetime(entry.get("delivered_at")),
                None if request is None else entry.occurred_at - request.occurred_at,
                entry.get("justification_doc_ref"), body, deadline, entry.legal_basis,
                bool(entry.get("justification_doc_ref")) and bool(body) and deadline is not None))
    return results


def norway_decisions(cursor: Cursor) -> list[NorwayDecision]:
    """§5 (10): every barnekoordinator decision with its appeal information, deadline and lead time."""
    entries = _of_types(cursor, {"barnekoordinator_requested", "barnekoordinator_decision_issued"})
    return [decision for case in _by_case(entries).values() for decision in decisions_from(case)]


def requests_without_decision(cursor: Cursor) -> list[UUID]:
    """§5 (10): Norwegian cases whose request (oral ones included) has no written decision yet."""
    rows = cursor.execute(
        "SELECT r.case_id FROM audit_trail r WHERE r.event_type = 'barnekoordinator_requested' AND NOT EXISTS"
        " (SELECT 1 FROM audit_trail d WHERE d.case_id = r.case_id"
        "  AND d.event_type = 'barnekoordinator_decision_issued') ORDER BY r.case_id").fetchall()
    return [row[0] for row in rows]


# ---- complaints in both countries ------------------------------------------------------------------------
@dataclass(frozen=True)
class ComplaintStage:
    stage: str
    """``lodged`` (IS) / ``received`` (NO), ``reconsidered``, ``forwarded``, ``decided``."""
    case_version: int
    at: datetime
    """occurred_at of the fact."""
    outcome: str | None = None


@dataclass(frozen=True)
class ComplaintTimeline:
    case_id: UUID
    jurisdiction: str | None
    complaint_id: str
    body: str | None
    """GEV or Statsforvalteren."""
    decision_id: str | None
    """Norway: the decision complained about."""
    subject: str | None
    """What the complaint is about: Iceland its subject, Norway its ground (none on one recorded before grounds)."""
    within_deadline: bool | None
    """Norway: received within the four weeks."""
    stages: tuple[ComplaintStage, ...]

    def at(self, stage: str) -> datetime | None:
        return next((s.at for s in self.stages if s.stage == stage), None)

    @property
    def lodged_at(self) -> datetime:
        return self.stages[0].at

    @property
    def decided_at(self) -> datetime | None:
        return self.at("decided")

    @property
    def outcome(self) -> str | None:
        return next((s.outcome for s in self.stages if s.stage == "decided"), None)

    @property
    def days_to_decision(self) -> int | None:
        decided = self.decided_at
        return None if decided is None else (decided - self.lodged_at).days


_COMPLAINT_STAGE = {
    "complaint_lodged": "lodged", "complaint_received": "received", "complaint_reconsidered": "reconsidered",
    "complaint_forwarded_to_statsforvalteren": "forwarded", "statsforvalteren_decision_recorded": "decided",
    "complaint_outcome_recorded": "decided",
}


def complaints_from(entries: Sequence[AuditEntry]) -> list[ComplaintTimeline]:
    opened: dict[str, AuditEntry] = {}
    stages: dict[str, list[ComplaintStage]] = defaultdict(list)
    body: dict[str, str | None] = {}
    for entry in entries:
        stage = _COMPLAINT_STAGE.get(entry.event_type)
        if stage is None:
            continue
        complaint_id = str(entry.get("complaint_id"))
        if stage in ("lodged", "received"):
            opened[complaint_id] = entry
            body[complaint_id] = entry.get("body") if stage == "lodged" else None
        outcome = entry.get("outcome")
        if entry.event_type == "complaint_outcome_recorded":
            outcome = entry.get("outcome_summary_ref")
        if stage == "forwarded":
            body[complaint_id] = entry.get("forwarded_to")
        stages[complaint_id].append(ComplaintStage(stage, entry.case_version, entry.occurred_at,
                                                   None if outcome is None else str(outcome)))
    return [ComplaintTimeline(first.case_id, first.jurisdiction, complaint_id, body.get(complaint_id),
                              first.get("decision_id"), first.get("subject") or first.get("ground"),
                              first.get("within_deadline"),
                              tuple(stages[complaint_id]))
            for complaint_id, first in opened.items()]


def complaint_timelines(cursor: Cursor, case_id: UUID | None = None) -> list[ComplaintTimeline]:
    """Complaints (IS: lodged with GEV → outcome; NO: received → reconsidered → forwarded to Statsforvalteren →
    decided), each with the dates of its stages."""
    entries = _of_types(cursor, set(_COMPLAINT_STAGE), case_id)
    return [timeline for case in _by_case(entries).values() for timeline in complaints_from(case)]


# ---- (12) a case's timeline up to a complaint ------------------------------------------------------------
@dataclass(frozen=True)
class CaseTimeline:
    case_id: UUID
    complaint_id: str
    complaint_version: int
    entries: tuple[AuditEntry, ...]
    """Versions 1 … the complaint's, in order."""
    chain_break: ChainBreak | None
    """None: the stored chain of these entries is intact (each hash recomputed from its payload)."""
    head_hash: str | None
    """The complaint fact's hash: commits to the whole timeline before it (compare with a daily digest)."""

    @property
    def tamper_evident_ok(self) -> bool:
        return self.chain_break is None


class ComplaintNotFound(LookupError):
    pass


def timeline_to_complaint(cursor: Cursor, case_id: UUID, complaint_id: str) -> CaseTimeline:
    """§5 (12): the full timeline of a case up to (and including) the fact that opened a complaint, with the
    stored hash chain checked."""
    row = cursor.execute(
        "SELECT case_version FROM audit_trail WHERE case_id = %s"
        " AND event_type IN ('complaint_lodged', 'complaint_received') AND payload->>'complaint_id' = %s",
        (case_id, complaint_id)).fetchone()
    if row is None:
        raise ComplaintNotFound(f"No complaint {complaint_id!r} on case {case_id}")
    entries = case_trail(cursor, case_id, up_to_version=row[0])
    return CaseTimeline(case_id, complaint_id, row[0], tuple(entries), chain_break(entries),
                        entries[-1].hash if entries else None)


# ---- daily digests --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DailyDigest:
    day: date
    """The UTC day of ``recorded_at``."""
    events: int
    digest: str


def digests_from(entries: Iterable[tuple[UUID, int, str, datetime]]) -> list[DailyDigest]:
    """Group (case_id, case_version, hash, recorded_at) by UTC day and digest each day (pure)."""
    days: dict[date, list[DigestEntry]] = defaultdict(list)
    for case_id, case_version, hash_, recorded_at in entries:
        days[utc_day(recorded_at)].append(DigestEntry(case_id, case_version, hash_))
    return [DailyDigest(day, len(items), day_digest(items)) for day, items in sorted(days.items())]


def daily_digests(cursor: Cursor, *, since: date | None = None, until: date | None = None) -> list[DailyDigest]:
    """Per UTC day of ``recorded_at`` (``since`` … ``until`` inclusive), the digest over that day's
    (case_id, case_version, hash), sorted: identical however the events were interleaved when applied."""
    rows = cursor.execute(
        "SELECT case_id, case_version, hash, recorded_at FROM audit_trail"
        " WHERE (%(since)s::date IS NULL OR recorded_at >= (%(since)s::date::timestamp AT TIME ZONE 'UTC'))"
        "   AND (%(until)s::date IS NULL OR recorded_at < ((%(until)s::date + 1)::timestamp AT TIME ZONE 'UTC'))",
        {"since": since, "until": until}).fetchall()
    return digests_from((r[0], r[1], r[2], r[3]) for r in rows)
