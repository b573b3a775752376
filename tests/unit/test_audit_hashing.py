"""The audit trail's pure core: canonical JSON, the per-case hash chain, daily digests, the projection's
statements, and the supervisor queries' per-case logic, all without a database."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from contracts.events import EventEnvelopeV1, parse_event
from projections.audit import queries as q
from projections.audit.hashing import (
    GENESIS_HASH,
    ChainBreak,
    ChainLink,
    DigestEntry,
    canonical_json,
    chain_hash,
    check_chain,
    contract_document,
    day_digest,
    document_hash,
    link_hash,
    payload_digest,
    redact_document,
    utc_day,
)
from projections.audit.projection import AuditProjection, ChainGapError

CASE = UUID("7b0c6a52-2f0e-5d43-9a4b-6a1e6f1f2c11")
T0 = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)


def envelope(event_type: str, version: int, *, case_id: UUID = CASE, jurisdiction: str = "IS",
             day: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"{case_id}:{version}", "notification_id": version, "case_id": str(case_id),
        "case_version": version, "event_type": event_type, "schema_version": "v1",
        "occurred_at": (T0 + timedelta(days=day)).isoformat(), "recorded_at": "2026-11-23T10:00:00.123456Z",
        "jurisdiction": jurisdiction, "municipality_ref": "muni:reykjavik", "actor_person_ref": "person:coord-1",
        "actor_role": "coordinator", "actor_org_ref": None, "correlation_id": "", "causation_id": "",
        "legal_basis": "Act 86/2021", "rule_id": None, **fields,
    }


def contract(event_type: str, version: int, **fields: Any) -> EventEnvelopeV1:
    return parse_event(canonical_json(envelope(event_type, version, **fields)))


def entry(event_type: str, version: int, **fields: Any) -> q.AuditEntry:
    """An audit row as the queries see it (hashes are irrelevant to the per-case logic)."""
    payload = envelope(event_type, version, **fields)
    return q.AuditEntry(UUID(payload["case_id"]), version, version, event_type,
                        datetime.fromisoformat(payload["occurred_at"]), datetime(2026, 11, 23, tzinfo=UTC),
                        "coordinator", "person:coord-1", "Act 86/2021", None, payload, GENESIS_HASH, GENESIS_HASH)


# ---- canonical JSON and the chain --------------------------------------------------------------------------
def test_canonical_json_sorts_keys_has_no_whitespace_and_keeps_unicode() -> None:
    assert canonical_json({"b": [1, {"d": None, "c": True}], "a": "Reykjavík"}) == \
        '{"a":"Reykjavík","b":[1,{"c":true,"d":null}]}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_chain_hash_is_sha256_of_prev_hash_then_the_payload_digest() -> None:
    digest = hashlib.sha256(b'{"a":1}').hexdigest()
    expected = hashlib.sha256(("0" * 64 + digest).encode()).hexdigest()
    assert GENESIS_HASH == "0" * 64 and payload_digest('{"a":1}') == digest
    assert chain_hash(GENESIS_HASH, '{"a":1}') == expected == link_hash(GENESIS_HASH, digest)
    assert document_hash(GENESIS_HASH, {"a": 1}) == expected
    assert chain_hash("1" * 64, '{"a":1}') != expected


def test_a_redacted_row_keeps_its_place_in_the_chain_by_its_digest() -> None:
    documents = [{"child_ref": "person:child-1", "v": 1}, {"parent_refs": ["person:p-1", "person:p-10"], "v": 2}]
    links = chain_of(documents)
    digests = [payload_digest(canonical_json(d)) for d in documents]
    redacted = [ChainLink(CASE, link.case_version, redact_document(link.payload), link.prev_hash, link.hash, digest,
                          True) for link, digest in zip(links, digests, strict=True)]
    assert redacted[1].payload == {"parent_refs": ["person:redacted", "person:redacted"], "v": 2}
    assert check_chain(redacted) is None
    forged = [redacted[0], ChainLink(CASE, 2, redacted[1].payload, redacted[1].prev_hash, redacted[1].hash,
                                     "f" * 64, True)]
    assert check_chain(forged) == ChainBreak(CASE, 2, "hash does not match the redacted row's digest")
    unredacted_but_wrong_digest = [ChainLink(CASE, 1, documents[0], GENESIS_HASH, links[0].hash, "e" * 64)]
    assert check_chain(unredacted_but_wrong_digest) == ChainBreak(CASE, 1, "payload_sha256 does not match the payload")


def test_contract_document_round_trips_through_json() -> None:
    event = contract("service_recorded", 2, service_id="svc-1", provider_org_ref="org:school-1", service_level=3,
                     service_type_code="family_support", start_date="2024-01-22")
    document = contract_document(event)
    assert document["start_date"] == "2024-01-22" and document["occurred_at"] == "2024-01-08T09:00:00Z"
    assert parse_event(canonical_json(document)) == event
    assert canonical_json(document) == canonical_json(contract_document(parse_event(canonical_json(document))))


def chain_of(documents: Sequence[dict[str, Any]]) -> list[ChainLink]:
    links, prev = [], GENESIS_HASH
    for version, document in enumerate(documents, start=1):
        link = ChainLink(CASE, version, document, prev, document_hash(prev, document))
        links.append(link)
        prev = link.hash
    return links


def test_check_chain_finds_the_first_break() -> None:
    links = chain_of([{"v": 1}, {"v": 2}, {"v": 3}])
    assert check_chain(links) is None
    changed = [links[0], ChainLink(CASE, 2, {"v": 99}, links[1].prev_hash, links[1].hash), links[2]]
    broken = check_chain(changed)
    assert broken is not None and (broken.case_version, broken.reason) == (2, "hash does not match the payload")
    rehashed = [links[0], ChainLink(CASE, 2, {"v": 99}, links[1].prev_hash, document_hash(links[1].prev_hash,
                                                                                          {"v": 99})), links[2]]
    broken = check_chain(rehashed)
    assert broken is not None and broken.case_version == 3 and "prev_hash" in broken.reason
    gap = check_chain([links[0], links[2]])
    assert gap is not None and gap.case_version == 3 and "version 2 expected" in gap.reason
    wrong_start = check_chain([ChainLink(CASE, 1, {"v": 1}, "f" * 64, document_hash("f" * 64, {"v": 1}))])
    assert wrong_start is not None and wrong_start.case_version == 1


# ---- daily digests -----------------------------------------------------------------------------------------
def test_day_digest_is_independent_of_order_and_sensitive_to_every_entry() -> None:
    entries = [DigestEntry(uuid4(), v, f"{v:064x}") for v in range(1, 6)]
    shuffled = entries[:]
    random.Random(3).shuffle(shuffled)
    assert day_digest(entries) == day_digest(shuffled)
    lines = "".join(f"{e.case_id}:{e.case_version}:{e.hash}\n"
                    for e in sorted(entries, key=lambda e: (str(e.case_id), e.case_version)))
    assert day_digest(entries) == hashlib.sha256(lines.encode()).hexdigest()
    altered = [*entries[:-1], DigestEntry(entries[-1].case_id, entries[-1].case_version, "e" * 64)]
    assert day_digest(altered) != day_digest(entries)
    assert day_digest([]) == hashlib.sha256(b"").hexdigest()


def test_digests_group_by_the_utc_day_of_recorded_at() -> None:
    reykjavik_midnight = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    oslo = timezone(timedelta(hours=1))
    rows = [(CASE, 1, "a" * 64, reykjavik_midnight),
            (CASE, 2, "b" * 64, datetime(2026, 3, 2, 0, 30, tzinfo=oslo)),  # 23:30 UTC on 1 March
            (CASE, 3, "c" * 64, datetime(2026, 3, 2, 0, 30, tzinfo=UTC))]
    digests = q.digests_from(rows)
    assert [(d.day, d.events) for d in digests] == [(date(2026, 3, 1), 2), (date(2026, 3, 2), 1)]
    assert digests[0].digest == day_digest([DigestEntry(CASE, 1, "a" * 64), DigestEntry(CASE, 2, "b" * 64)])
    with pytest.raises(ValueError):
        utc_day(datetime(2026, 3, 1))


# ---- the projection ----------------------------------------------------------------------------------------
class FakeView:
    def __init__(self, hashes: dict[tuple[str, int], str]) -> None:
        self.hashes = hashes

    def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> tuple[Any, ...] | None:
        assert isinstance(params, tuple)
        found = self.hashes.get((str(params[0]), params[1]))
        return None if found is None else (found,)

    def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        raise AssertionError("not used")

    def remembered(self, case_id: Any) -> dict[str, Any]:
        return {}  # remembers nothing: every apply reads what it needs, as in a transaction of its own


def test_projection_chains_each_case_from_genesis() -> None:
    first = contract("contact_registered", 1, child_ref="person:child-1", parent_refs=["person:parent-1"],
                     birth_year=2008, episode=1, coordinator_ref="person:coord-1", coordinator_org_ref="org:school-1",
                     life_stage="secondary", channel="in_person", initiated_by="parent")
    second = contract("integration_requested", 2, request_id="request-1", requested_by_refs=["person:parent-1"],
                      requester_roles=["parent"], form_doc_ref="doc:form-1")
    projection = AuditProjection()
    (insert_1,) = projection.apply(first, FakeView({}))
    params_1 = list(insert_1.params)
    assert insert_1.sql.startswith("INSERT INTO audit_trail") and "%s::json" in insert_1.sql
    assert params_1[0] == CASE and params_1[1] == 1 and params_1[3] == "contact_registered"
    assert params_1[6] == "coordinator" and params_1[10] == canonical_json(contract_document(first))
    assert params_1[11] == GENESIS_HASH and params_1[12] == chain_hash(GENESIS_HASH, params_1[10])
    (insert_2,) = projection.apply(second, FakeView({(str(CASE), 1): params_1[12]}))
    params_2 = list(insert_2.params)
    assert params_2[11] == params_1[12] and params_2[12] == document_hash(params_1[12], contract_document(second))
    with pytest.raises(ChainGapError):
        projection.apply(second, FakeView({}))
    assert AuditProjection.name == "audit" and AuditProjection.version == 3
    assert any("audit_trail_append_only" in ddl and "UPDATE OR DELETE" in ddl for ddl in AuditProjection.ddl)


# ---- the supervisor queries' per-case logic -----------------------------------------------------------------
def test_assess_basis_tracks_request_and_withdrawal() -> None:
    entries = [
        entry("contact_registered", 1),
        entry("service_recorded", 2),  # before the request: no basis
        entry("integration_requested", 3, day=3, request_id="request-1", requested_by_refs=["person:parent-1"],
              requester_roles=["parent"]),
        entry("service_recorded", 4),
        entry("integration_request_withdrawn", 5),
        entry("processing_stopped", 6),  # not processing: allowed after the withdrawal
        entry("support_plan_adopted", 7),  # after the withdrawal: no basis
    ]
    facts = q.assess_basis(entries)
    assert [(f.case_version, f.basis is None) for f in facts] == [(2, True), (4, False), (7, True)]
    basis = facts[1].basis
    assert basis is not None and (basis.kind, basis.id, basis.given_by, basis.case_version) == \
        ("integration_request", "request-1", ("person:parent-1",), 3)
    assert basis.given_at == T0 + timedelta(days=3)


def test_assess_basis_norway_needs_consent_only_for_coordination() -> None:
    entries = [
        entry("barnekoordinator_requested", 1, jurisdiction="NO"),
        entry("barnekoordinator_decision_issued", 2, jurisdiction="NO"),
        entry("barnekoordinator_appointed", 3, jurisdiction="NO"),
        entry("barnekoordinator_consent_recorded", 4, jurisdiction="NO", consent_id="consent-1",
              given_by_refs=["person:parent-1"], scope_service_org_refs=["org:school-1"]),
        entry("individual_plan_adopted", 5, jurisdiction="NO"),
        entry("consent_withdrawn", 6, jurisdiction="NO"),
        entry("coordination_instruction_issued", 7, jurisdiction="NO"),
    ]
    facts = q.assess_basis(entries)
    assert [(f.event_type, f.basis is None) for f in facts] == [
        ("barnekoordinator_appointed", True), ("individual_plan_adopted", False),
        ("coordination_instruction_issued", True)]
    assert facts[1].basis is not None and facts[1].basis.scope == ("org:school-1",)


def test_closures_pair_each_conclusion_with_its_notice() -> None:
    entries = [
        entry("support_team_concluded", 9, day=20, outcome="goals_met", team_id="team-0"),
        entry("support_team_concluded", 10, day=30, outcome="concluded_without_plan", team_id="team-1",
              justification_doc_ref="doc:why"),
        entry("team_conclusion_notified", 11, day=30, recipient_refs=["person:parent-1", "person:cm-1"],
              justification_doc_ref="doc:why", complaint_info_included=True, complaint_body="GEV"),
    ]
    (closure,) = q.closures_from(entries)
    assert (closure.case_version, closure.team_id, closure.notice_case_version) == (10, "team-1", 11)
    assert closure.notice_recipients == ("person:parent-1", "person:cm-1") and closure.complaint_info_included
    (unnotified,) = q.closures_from(entries[:2])
    assert unnotified.notice_at is None and not unnotified.complaint_info_included


def test_age_outs_only_for_case_manager_led_children() -> None:
    majority = entry("child_reached_majority", 9, on="2026-03-02", transition_plan_existed=True)
    plan = entry("adult_transition_plan_adopted", 8, plan_id="transition-1", child_age_years_at_adoption=17)
    appointed = entry("case_manager_appointed", 3, case_manager_ref="person:cm-1")
    assert q.age_outs_from([plan, majority]) == []  # coordinator-led: not a case-manager age-out
    (age_out,) = q.age_outs_from([appointed, plan, majority])
    assert age_out.plan_before_birthday and age_out.reached_majority_on == date(2026, 3, 2)
    late = entry("adult_transition_plan_adopted", 8, plan_id="transition-1", child_age_years_at_adoption=18)
    (late_age_out,) = q.age_outs_from([appointed, late, majority])
    assert not late_age_out.plan_before_birthday


def test_decisions_and_complaints_from_norwegian_entries() -> None:
    entries = [
        entry("barnekoordinator_requested", 1, jurisdiction="NO", request_id="r-1", channel="oral"),
        entry("barnekoordinator_decision_issued", 3, jurisdiction="NO", day=14, decision_id="d-1",
              decision="refused", justification_doc_ref="doc:d-1", appeal_body="Statsforvalteren",
              appeal_deadline="2024-02-20T09:00:00Z", delivered_at="2024-01-23T09:00:00Z"),
        entry("complaint_received", 4, jurisdiction="NO", day=20, complaint_id="k-1", decision_id="d-1",
              within_deadline=False),
        entry("complaint_reconsidered", 5, jurisdiction="NO", day=25, complaint_id="k-1", outcome="upheld"),
    ]
    (decision,) = q.decisions_from(entries)
    assert decision.lead_time == timedelta(days=14) and decision.appeal_info_complete
    assert decision.appeal_deadline == datetime(2024, 2, 20, 9, tzinfo=UTC)
    (complaint,) = q.complaints_from(entries)
    assert [s.stage for s in complaint.stages] == ["received", "reconsidered"]
    assert complaint.within_deadline is False and complaint.decided_at is None and complaint.days_to_decision is None
    assert complaint.at("reconsidered") == T0 + timedelta(days=25)
