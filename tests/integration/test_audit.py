"""The audit read model on real PostgreSQL: the hash-chained trail, its append-only trigger, verification
against the event store (and tampering on either side), the supervisor's queries and time travel."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from contracts import commands as c
from contracts.events import EventEnvelopeV1
from contracts.mapping import PUBLISHED_TOPICS
from domain.errors import InvalidValue
from domain.values import Actor, AdultServiceHandover, Context, MemberType, Role, TeamMember
from projections.audit import queries as q
from projections.audit.hashing import GENESIS_HASH, canonical_json, contract_document, document_hash, payload_digest
from projections.audit.projection import AuditProjection
from services.audit.cli import verify_command
from services.audit.time_travel import case_as_of
from services.audit.verify import DivergenceKind, verify
from services.casework.application import Casework, CommandMeta
from services.consumers.rebuild import rebuild
from services.consumers.registry import load_projection
from services.consumers.replay import published_events
from services.consumers.store import Outcome, ReadModelStore
from services.infra.postgres_env import PgTarget
from services.settings import StoreSettings
from services.walkthrough import START, ensure_institution, iceland_lifecycle, norway_lifecycle
from tests.actors import acting

SCHOOL, COORD, LEAD, CM, MUM = "org:school-rvk-1", "person:coord-is-1", "person:lead-rvk", "person:cm-is-9", \
    "person:parent-is-9"


# ---- fixtures and helpers ---------------------------------------------------------------------------------
@pytest.fixture
def app(pg_schema: PgTarget) -> Iterator[Casework]:
    application = Casework(env=pg_schema.eventsourcing_env())
    try:
        yield application
    finally:
        application.close()


def published_before(app: Casework, notification_id: int) -> int:
    """Published facts stored before ``notification_id`` (the ids of never-published natural keys are skipped)."""
    return len(app.recorder.select_notifications(start=None, limit=10**9, stop=notification_id - 1,
                                                 topics=PUBLISHED_TOPICS))


def published_count(app: Casework) -> int:
    """Stored facts that are published (the natural-key index shares the log but is never published)."""
    return len(app.recorder.select_notifications(start=None, limit=10**9, topics=PUBLISHED_TOPICS))


def open_store(dsn: str, base_schema: str) -> ReadModelStore:
    store = ReadModelStore(dsn, AuditProjection(), base_schema=base_schema, pool_size=2)
    store.setup()
    return store


@pytest.fixture
def store(pg_schema: PgTarget) -> Iterator[ReadModelStore]:
    audit = open_store(pg_schema.dsn, pg_schema.schema)
    try:
        yield audit
    finally:
        audit.close()


def feed(store: ReadModelStore, events: list[EventEnvelopeV1]) -> None:
    for event in events:
        assert store.apply(event).outcome is Outcome.APPLIED


def trail_rows(store: ReadModelStore) -> list[tuple[Any, ...]]:
    with store.reading() as cur:
        return cur.execute("SELECT * FROM audit_trail ORDER BY case_id, case_version").fetchall()


def connect_to_serving(pg_schema: PgTarget, store: ReadModelStore) -> psycopg.Connection[Any]:
    return psycopg.connect(pg_schema.dsn, options=f"-c search_path={store.serving().schema}", autocommit=True)


def meta(person: str, role: Role, day: int, org: str | None = None) -> CommandMeta:
    return CommandMeta(acting(person, role, org), START + timedelta(days=day), "audit-test")


def iceland_team_case(app: Casework, child: str, birth_date: date) -> UUID:
    """Contact → request → level-3 service → case manager → support team (no plan yet)."""
    ensure_institution(app, SCHOOL, "secondary_school", "muni:reykjavik", "IS", COORD,
                       meta(LEAD, Role.MUNICIPALITY_LEAD, 0))
    case_id = app.register_contact(c.RegisterContact(
        child_ref=child, parent_refs=(MUM,), birth_date=birth_date, municipality_ref="muni:reykjavik",
        coordinator_ref=COORD, coordinator_org_ref=SCHOOL, life_stage="secondary",
        conflict_of_interest_declared_none=True), meta(COORD, Role.COORDINATOR, 0, SCHOOL)).case_id
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id="req-9", requested_by_refs=(MUM,), requester_roles=("parent",), written=True,
        form_doc_ref="doc:req-9"), meta(COORD, Role.COORDINATOR, 1, SCHOOL))
    app.record_service(c.RecordService(
        case_id=case_id, service_id="svc-9", provider_org_ref="org:social-rvk", service_level=3,
        service_type_code="family_support", start_date=date(2024, 1, 10)), meta(COORD, Role.COORDINATOR, 2, SCHOOL))
    app.notify_need_for_case_manager(c.NotifyNeedForCaseManager(case_id=case_id, municipality_ref="muni:reykjavik"),
                                     meta(COORD, Role.COORDINATOR, 3, SCHOOL))
    app.appoint_case_manager(c.AppointCaseManager(
        case_id=case_id, case_manager_ref=CM, municipality_ref="muni:reykjavik", org_unit_ref="org:social-rvk",
        needs_l2_l3_multilevel=True, long_term=True, works_in_social_services_or_area_of_needs=True),
        meta(LEAD, Role.MUNICIPALITY_LEAD, 4))
    app.establish_support_team(c.EstablishSupportTeam(case_id=case_id, team_id="team-9", members=(
        TeamMember("person:teacher-9", SCHOOL, MemberType.SERVICE_PROVIDER_REP),)),
        meta(CM, Role.CASE_MANAGER, 5, "org:social-rvk"))
    return case_id


def event_version(app: Casework, case_id: UUID, fact: str) -> int:
    return next(e.originator_version for e in app.events.get(case_id) if type(e).__name__ == fact)


def tamper_event_store(pg_schema: PgTarget, case_id: UUID, version: int, field: str, value: str) -> None:
    """Rewrite one stored fact's JSON state in place, as someone with write access to the store could."""
    with pg_schema.connect() as conn:
        row = conn.execute("SELECT state FROM casework_events WHERE originator_id = %s AND originator_version = %s",
                           (case_id, version)).fetchone()
        assert row is not None
        state = json.loads(bytes(row[0]))
        assert field in state
        state[field] = value
        conn.execute("UPDATE casework_events SET state = %s WHERE originator_id = %s AND originator_version = %s",
                     (json.dumps(state).encode(), case_id, version))
        conn.commit()


def tamper_audit(pg_schema: PgTarget, store: ReadModelStore, statement: str, params: tuple[Any, ...]) -> None:
    """Change the audit trail behind the append-only trigger's back (the owner can disable it)."""
    with connect_to_serving(pg_schema, store) as conn:
        conn.execute("ALTER TABLE audit_trail DISABLE TRIGGER audit_trail_append_only")
        conn.execute(statement.encode(), params)
        conn.execute("ALTER TABLE audit_trail ENABLE TRIGGER audit_trail_append_only")


# ---- the trail ----------------------------------------------------------------------------------------------
def test_one_hash_chained_row_per_event_and_verify_ok(app: Casework, store: ReadModelStore) -> None:
    is_case, no_case = iceland_lifecycle(app), norway_lifecycle(app)
    events = list(published_events(app))
    feed(store, events)
    with store.reading() as cur:
        entries = q._entries(cur)
        assert len(entries) == len(events) == published_count(app)
        by_key = {(e.case_id, e.case_version): e for e in entries}
        for event in events:
            entry = by_key[(event.case_id, event.case_version)]
            assert entry.payload == contract_document(event)
            assert (entry.notification_id, entry.event_type, entry.actor_role, entry.legal_basis, entry.rule_id) == \
                (event.notification_id, event.event_type, str(event.actor_role), event.legal_basis, event.rule_id)
            assert entry.occurred_at == event.occurred_at and entry.recorded_at == event.recorded_at
        for case_id in (is_case, no_case):
            trail = q.case_trail(cur, case_id)
            assert [e.case_version for e in trail] == list(range(1, len(trail) + 1))
            assert trail[0].prev_hash == GENESIS_HASH
            assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(trail))
            assert all(e.hash == document_hash(e.prev_hash, e.payload) for e in trail)
            assert q.chain_break(trail) is None
        report = verify(app, cur)
        head = q.case_trail(cur, is_case)[-1].hash
    assert report.ok, report.describe()
    assert report.events_checked == len(events)
    assert report.cases_checked == len({e.case_id for e in events})
    assert report.last_hashes[is_case] == head


def test_the_trail_is_append_only_in_the_database(app: Casework, store: ReadModelStore,
                                                   pg_schema: PgTarget) -> None:
    case_id = iceland_lifecycle(app)
    feed(store, list(published_events(app)))
    with connect_to_serving(pg_schema, store) as conn:
        for statement in ("UPDATE audit_trail SET hash = repeat('f', 64) WHERE case_id = %s",
                          "UPDATE audit_trail SET payload = '{}'::json WHERE case_id = %s",
                          "DELETE FROM audit_trail WHERE case_id = %s"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement.encode(), (case_id,))
        with pytest.raises(psycopg.errors.RaiseException, match="append-only: TRUNCATE"):
            conn.execute("TRUNCATE audit_trail")
    assert len(trail_rows(store)) == published_count(app)


# ---- verification: tampering on either side -----------------------------------------------------------------
def test_verify_names_a_fact_changed_in_the_event_store(app: Casework, store: ReadModelStore,
                                                        pg_schema: PgTarget) -> None:
    case_id = iceland_lifecycle(app)
    norway_lifecycle(app)
    feed(store, list(published_events(app)))
    version = event_version(app, case_id, "SupportPlanEvaluated")
    tamper_event_store(pg_schema, case_id, version, "progress_doc_ref", "doc:forged-progress")
    with store.reading() as cur:
        report = verify(app, cur)
    divergence = report.divergence
    assert divergence is not None
    assert (divergence.kind, divergence.case_id, divergence.case_version) == \
        (DivergenceKind.PAYLOAD_DIFFERS, case_id, version)
    assert divergence.fields == ("progress_doc_ref",)
    assert divergence.audit_row_consistent is True
    assert "event store was changed" in divergence.detail
    stored_notification = next(e.notification_id for e in published_events(app)
                               if (e.case_id, e.case_version) == (case_id, version))
    assert divergence.notification_id == stored_notification
    assert report.events_checked == published_before(app, stored_notification)  # everything before it matched
    assert f"case {case_id} version {version}" in report.describe()


def test_verify_names_a_stored_fact_changed_into_something_unreadable(app: Casework, store: ReadModelStore,
                                                                      pg_schema: PgTarget) -> None:
    case_id = iceland_lifecycle(app)
    feed(store, list(published_events(app)))
    version = event_version(app, case_id, "SupportPlanEvaluated")
    tamper_event_store(pg_schema, case_id, version, "progress_doc_ref", "Jón Jónsson, kt. 010101-2389")
    with store.reading() as cur:
        report = verify(app, cur)
    divergence = report.divergence
    assert divergence is not None
    assert (divergence.kind, divergence.case_id, divergence.case_version) == \
        (DivergenceKind.UNREADABLE_FACT, case_id, version)
    assert report.events_checked == published_before(app, divergence.notification_id)
    assert "ValidationError" in divergence.detail


def test_verify_names_an_audit_row_whose_payload_was_changed(app: Casework, store: ReadModelStore,
                                                             pg_schema: PgTarget) -> None:
    case_id = iceland_lifecycle(app)
    feed(store, list(published_events(app)))
    version = event_version(app, case_id, "SupportTeamConcluded")
    tamper_audit(pg_schema, store,
                 "UPDATE audit_trail SET payload ="
                 " jsonb_set(payload::jsonb, '{outcome}', '\"referred_back_to_coordinator\"')::json"
                 " WHERE case_id = %s AND case_version = %s", (case_id, version))
    with store.reading() as cur:
        report = verify(app, cur)
        divergence = report.divergence
        assert divergence is not None
        assert (divergence.kind, divergence.case_id, divergence.case_version, divergence.fields) == \
            (DivergenceKind.PAYLOAD_DIFFERS, case_id, version, ("outcome",))
        assert divergence.audit_row_consistent is False
        assert "audit row was changed" in divergence.detail
        # The stored chain alone (no event store needed) shows the same break.
        broken = q.chain_break(q.case_trail(cur, case_id))
        assert broken is not None and broken.case_version == version


def test_verify_names_an_audit_row_rewritten_with_a_fresh_hash(app: Casework, store: ReadModelStore,
                                                               pg_schema: PgTarget) -> None:
    """The forger recomputes the row's own hash: the next row's prev_hash still gives it away."""
    case_id = iceland_lifecycle(app)
    feed(store, list(published_events(app)))
    version = event_version(app, case_id, "SupportPlanAdopted")
    with store.reading() as cur:
        row = next(e for e in q.case_trail(cur, case_id) if e.case_version == version)
    forged = {**row.payload, "actor_person_ref": "person:someone-else"}
    tamper_audit(pg_schema, store, "UPDATE audit_trail SET payload = %s::json, hash = %s, actor_person_ref = %s"
                 " WHERE case_id = %s AND case_version = %s",
                 (json.dumps(forged), document_hash(row.prev_hash, forged), "person:someone-else", case_id, version))
    with store.reading() as cur:
        divergence = verify(app, cur).divergence
    assert divergence is not None
    assert (divergence.kind, divergence.case_version, divergence.fields) == \
        (DivergenceKind.PAYLOAD_DIFFERS, version, ("actor_person_ref",))
    assert divergence.audit_row_consistent is False


def test_verify_names_a_broken_hash_chain(app: Casework, store: ReadModelStore, pg_schema: PgTarget) -> None:
    norway_lifecycle(app)
    case_id = iceland_lifecycle(app)
    feed(store, list(published_events(app)))
    tamper_audit(pg_schema, store, "UPDATE audit_trail SET hash = repeat('a', 64) WHERE case_id = %s"
                 " AND case_version = 7", (case_id,))
    with store.reading() as cur:
        divergence = verify(app, cur).divergence
    assert divergence is not None
    assert (divergence.kind, divergence.case_id, divergence.case_version, divergence.fields) == \
        (DivergenceKind.HASH_CHAIN_BROKEN, case_id, 7, ("hash",))


def test_verify_tells_a_removed_row_from_a_lagging_consumer(app: Casework, store: ReadModelStore,
                                                            pg_schema: PgTarget) -> None:
    case_id = iceland_lifecycle(app)
    events = list(published_events(app))
    feed(store, events[:-1])  # the consumer has not applied the last fact yet
    with store.reading() as cur:
        lagging = verify(app, cur).divergence
        assert verify(app, cur, up_to=events[-2].notification_id).ok
    assert lagging is not None and lagging.kind is DivergenceKind.MISSING_ROW
    assert (lagging.case_id, lagging.case_version) == (events[-1].case_id, events[-1].case_version)
    assert "lag" in lagging.detail
    feed(store, events[-1:])
    tamper_audit(pg_schema, store, "DELETE FROM audit_trail WHERE case_id = %s AND case_version = 3", (case_id,))
    with store.reading() as cur:
        removed = verify(app, cur).divergence
    assert removed is not None
    assert (removed.kind, removed.case_id, removed.case_version) == (DivergenceKind.MISSING_ROW, case_id, 3)
    assert "removed" in removed.detail


def test_verify_names_an_extra_row(app: Casework, store: ReadModelStore, pg_schema: PgTarget) -> None:
    case_id = iceland_lifecycle(app)
    feed(store, list(published_events(app)))
    with store.reading() as cur:
        last = q.case_trail(cur, case_id)[-1]
    forged = {**last.payload, "case_version": last.case_version + 1}
    with connect_to_serving(pg_schema, store) as conn:  # inserting needs no trigger bypass: append-only
        conn.execute("INSERT INTO audit_trail SELECT case_id, case_version + 1, notification_id + 1000, event_type,"
                     " occurred_at, recorded_at, actor_role, actor_person_ref, legal_basis, rule_id, %s::json,"
                     " hash, %s, %s, NULL FROM audit_trail WHERE case_id = %s AND case_version = %s",
                     (json.dumps(forged), document_hash(last.hash, forged), payload_digest(canonical_json(forged)),
                      case_id, last.case_version))
    with store.reading() as cur:
        divergence = verify(app, cur).divergence
    assert divergence is not None
    assert (divergence.kind, divergence.case_id, divergence.case_version) == \
        (DivergenceKind.EXTRA_ROW, case_id, last.case_version + 1)


def test_verify_command_exit_codes(app: Casework, store: ReadModelStore, pg_schema: PgTarget) -> None:
    settings = StoreSettings(pg_dsn=pg_schema.dsn, pg_schema=pg_schema.schema)
    case_id = iceland_lifecycle(app)
    feed(store, list(published_events(app)))
    out, err = io.StringIO(), io.StringIO()
    assert verify_command(settings, out=out, err=err) == 0
    assert out.getvalue().startswith("ok:") and "verifying audit generation 1" in err.getvalue()
    tamper_event_store(pg_schema, case_id, 1, "coordinator_ref", "person:coord-forged")
    out = io.StringIO()
    assert verify_command(settings, out=out, err=io.StringIO()) == 1
    assert f"case {case_id} version 1" in out.getvalue() and "payload_differs" in out.getvalue()
    empty = StoreSettings(pg_dsn=pg_schema.dsn, pg_schema=f"{pg_schema.schema}__none")
    assert verify_command(empty, out=io.StringIO(), err=io.StringIO()) == 2


# ---- determinism under any interleaving -----------------------------------------------------------------------
def feed_interleaved(store: ReadModelStore, events: list[EventEnvelopeV1], seed: int) -> dict[Outcome, int]:
    """Shuffle across (and within) cases and add duplicates, as N replicas and redelivery would: a version that
    comes before its predecessor is held (parked) and applied as soon as the predecessor is."""
    rng = random.Random(seed)
    queue = events + rng.sample(events, len(events) // 3)
    rng.shuffle(queue)
    outcomes = dict.fromkeys(Outcome, 0)
    for event in queue:
        outcomes[store.apply(event).outcome] += 1
    return outcomes


def test_two_interleavings_with_duplicates_and_gaps_give_identical_trails(app: Casework,
                                                                          pg_schema: PgTarget) -> None:
    iceland_lifecycle(app, child="person:child-a")
    norway_lifecycle(app, child="person:child-b")
    iceland_lifecycle(app, child="person:child-c")
    events = list(published_events(app))
    first = open_store(pg_schema.dsn, f"{pg_schema.schema}__one")
    second = open_store(pg_schema.dsn, f"{pg_schema.schema}__two")
    in_order = open_store(pg_schema.dsn, f"{pg_schema.schema}__ordered")
    try:
        outcomes_one = feed_interleaved(first, events, seed=1)
        outcomes_two = feed_interleaved(second, events, seed=2)
        feed(in_order, events)
        for outcomes in (outcomes_one, outcomes_two):
            assert outcomes[Outcome.HELD] > 0 and outcomes[Outcome.DUPLICATE] > 0
            assert outcomes[Outcome.QUARANTINED] == outcomes[Outcome.FAILED] == 0
        assert trail_rows(first) == trail_rows(second) == trail_rows(in_order)
        digests = []
        for audit in (first, second, in_order):
            with audit.reading() as cur:
                digests.append(q.daily_digests(cur))
                assert verify(app, cur).ok
        assert digests[0] == digests[1] == digests[2]
        assert sum(d.events for d in digests[0]) == len(events)
    finally:
        for audit in (first, second, in_order):
            audit.close()


def test_a_rebuilt_generation_reproduces_the_trail_exactly(app: Casework, store: ReadModelStore) -> None:
    assert isinstance(load_projection("audit"), AuditProjection)
    iceland_lifecycle(app)
    norway_lifecycle(app)
    feed(store, list(published_events(app)))
    old = store.serving()
    before = trail_rows(store)
    report = rebuild(store, app)
    assert report.generation.number == old.number + 1 and store.serving().number == report.generation.number
    assert trail_rows(store) == before
    with store.reading(old) as cur:  # the retired generation is kept, untouched
        assert cur.execute("SELECT count(*) FROM audit_trail").fetchone() == (len(before),)


def test_daily_digest_matches_an_independent_computation(app: Casework, store: ReadModelStore) -> None:
    iceland_lifecycle(app)
    feed(store, list(published_events(app)))
    with store.reading() as cur:
        (today,) = q.daily_digests(cur)
        rows = cur.execute("SELECT case_id::text, case_version, hash FROM audit_trail").fetchall()
        assert q.daily_digests(cur, since=today.day, until=today.day) == [today]
        assert q.daily_digests(cur, since=today.day + timedelta(days=1)) == []
    lines = "".join(f"{cid}:{v}:{h}\n" for cid, v, h in sorted(rows))
    assert today.digest == hashlib.sha256(lines.encode()).hexdigest()
    assert today.day == datetime.now(UTC).date() and today.events == len(rows)


# ---- the supervisor's questions -------------------------------------------------------------------------------
def test_basis_no_processing_without_request_or_consent(app: Casework, store: ReadModelStore,
                                                        pg_schema: PgTarget) -> None:
    is_case, no_case = iceland_lifecycle(app), norway_lifecycle(app)
    events = list(published_events(app))
    feed(store, events)
    with store.reading() as cur:
        assert q.processing_without_basis(cur) == []
        iceland = q.processing_basis(cur, is_case)
        norway = q.processing_basis(cur, no_case)
    assert iceland and all(f.basis is not None and f.basis.kind == "integration_request" and
                           f.basis.id == "request-1" for f in iceland)
    assert {f.event_type for f in iceland} >= {"service_recorded", "support_team_established", "support_plan_adopted"}
    assert norway and all(f.basis is not None and f.basis.id == "consent-1" and
                          f.basis.scope == ("org:school-bodo-1", "org:health-bodo-1") for f in norway)

    # A forged history without the request (fed to a separate trail) is reported fact by fact.
    forged_id = uuid.uuid4()
    forged = [e for e in events if e.case_id == is_case and e.event_type != "integration_requested"]
    forged = [e.model_copy(update={"case_id": forged_id, "case_version": i, "event_id": f"{forged_id}:{i}"})
              for i, e in enumerate(forged, start=1)]
    other = open_store(pg_schema.dsn, f"{pg_schema.schema}__forged")
    try:
        feed(other, forged)
        with other.reading() as cur:
            missing = q.processing_without_basis(cur)
    finally:
        other.close()
    assert missing and {f.case_id for f in missing} == {forged_id}
    assert {f.event_type for f in missing} <= q.IS_PROCESSING
    assert missing[0].event_type == "service_recorded"


def test_closures_without_plan_and_age_outs(app: Casework, store: ReadModelStore) -> None:
    closed = iceland_team_case(app, "person:child-closed", date(2008, 5, 5))
    app.conclude_support_team(c.ConcludeSupportTeam(case_id=closed, outcome="concluded_without_plan",
                                                    justification_doc_ref="doc:why-no-plan"),
                              meta(CM, Role.CASE_MANAGER, 20, "org:social-rvk"))
    planned = iceland_team_case(app, "person:child-planned", date(2008, 3, 1))
    app.adopt_adult_transition_plan(c.AdoptAdultTransitionPlan(
        case_id=planned, plan_id="transition-9", adult_service_handovers=(
            AdultServiceHandover("org:adult-social-rvk", "case_worker"),), young_person_participated=True),
        meta(CM, Role.CASE_MANAGER, 600, "org:social-rvk"))
    unplanned = iceland_team_case(app, "person:child-unplanned", date(2008, 4, 1))
    for case_id, birthday in ((planned, date(2026, 3, 1)), (unplanned, date(2026, 4, 1))):
        app.record_majority(c.RecordMajority(case_id=case_id),
                            CommandMeta(Actor("person:system", Role.SYSTEM), datetime(2026, birthday.month, 2,
                                                                                       6, tzinfo=UTC)))
    iceland_lifecycle(app)  # concluded with goals met: neither a closure without plan nor an age-out
    feed(store, list(published_events(app)))
    with store.reading() as cur:
        closures = q.closures_without_plan(cur)
        ages = {a.case_id: a for a in q.age_outs(cur)}
    (closure,) = closures
    assert closure.case_id == closed and closure.justification_doc_ref == "doc:why-no-plan"
    assert closure.notice_at == START + timedelta(days=20)
    assert closure.notice_case_version == closure.case_version + 1
    assert set(closure.notice_recipients) == {MUM, CM}
    assert closure.complaint_info_included and closure.complaint_body == "GEV"
    assert set(ages) == {planned, unplanned}
    assert ages[planned].plan_before_birthday and ages[planned].transition_plan_existed
    assert ages[planned].child_age_at_adoption == 17 and ages[planned].transition_plan_id == "transition-9"
    assert ages[planned].reached_majority_on == date(2026, 3, 2) and ages[planned].case_manager_ref == CM
    assert not ages[unplanned].plan_before_birthday and not ages[unplanned].transition_plan_existed
    assert ages[unplanned].transition_plan_adopted_at is None


def test_norway_decisions_and_complaint_timelines(app: Casework, store: ReadModelStore) -> None:
    no_case, is_case = norway_lifecycle(app), iceland_lifecycle(app)
    feed(store, list(published_events(app)))
    with store.reading() as cur:
        decisions = q.norway_decisions(cur)
        complaints = {t.complaint_id: t for t in q.complaint_timelines(cur)}
        assert q.requests_without_decision(cur) == []
    assert [(d.decision_id, d.decision, d.lead_time) for d in decisions] == [
        ("decision-1", "granted", timedelta(days=14)), ("decision-2", "terminated", timedelta(days=299)),
        ("decision-3", "granted", timedelta(days=385))]
    first = decisions[0]
    assert first.case_id == no_case and first.request_id == "no-request-1" and first.request_channel == "oral"
    assert first.appeal_body == "Statsforvalteren" and first.appeal_info_complete
    assert first.delivered_at == START + timedelta(days=15)
    assert first.appeal_deadline == START + timedelta(days=15 + 28)
    assert first.legal_basis is not None and "2-5 c" in first.legal_basis
    klage = complaints["klage-1"]
    assert (klage.case_id, klage.jurisdiction, klage.decision_id, klage.within_deadline) == \
        (no_case, "NO", "decision-2", True)
    assert [(s.stage, s.at, s.outcome) for s in klage.stages] == [
        ("received", START + timedelta(days=310), None),
        ("reconsidered", START + timedelta(days=320), "not_upheld"),
        ("forwarded", START + timedelta(days=321), None),
        ("decided", START + timedelta(days=380), "decision_reversed")]
    assert klage.body == "Statsforvalteren" and klage.days_to_decision == 70
    gev = complaints["gev-1"]
    assert (gev.case_id, gev.jurisdiction, gev.body, gev.subject) == (is_case, "IS", "GEV", "service_quality")
    assert gev.lodged_at == START + timedelta(days=960) and gev.decided_at is None


def test_timeline_up_to_a_complaint_is_tamper_evident(app: Casework, store: ReadModelStore,
                                                      pg_schema: PgTarget) -> None:
    no_case = norway_lifecycle(app)
    feed(store, list(published_events(app)))
    received = event_version(app, no_case, "ComplaintReceived")
    with store.reading() as cur:
        timeline = q.timeline_to_complaint(cur, no_case, "klage-1")
        with pytest.raises(q.ComplaintNotFound):
            q.timeline_to_complaint(cur, no_case, "no-such-complaint")
    assert timeline.complaint_version == received
    assert [e.case_version for e in timeline.entries] == list(range(1, received + 1))
    assert timeline.entries[0].event_type == "barnekoordinator_requested"
    assert timeline.entries[-1].event_type == "complaint_received"
    assert timeline.tamper_evident_ok and timeline.head_hash == timeline.entries[-1].hash
    tamper_audit(pg_schema, store, "UPDATE audit_trail SET payload ="
                 " jsonb_set(payload::jsonb, '{decision}', '\"refused\"')::json"
                 " WHERE case_id = %s AND event_type = 'barnekoordinator_decision_issued' AND case_version < %s",
                 (no_case, received))
    with store.reading() as cur:
        tampered = q.timeline_to_complaint(cur, no_case, "klage-1")
    assert tampered.chain_break is not None
    assert tampered.chain_break.case_version == next(e.case_version for e in timeline.entries
                                                     if e.event_type == "barnekoordinator_decision_issued")


# ---- time travel ---------------------------------------------------------------------------------------------
def test_case_as_of_world_time_through_the_iceland_lifecycle(app: Casework) -> None:
    case_id = iceland_lifecycle(app)
    versions = {type(e).__name__: e.originator_version for e in app.events.get(case_id)}
    assert case_as_of(app, case_id, START - timedelta(seconds=1), by="occurred") is None

    contact = case_as_of(app, case_id, START + timedelta(days=1), by="occurred")
    assert contact is not None and (contact.version, contact.status, contact.consent_active) == (1, "contact", False)

    requested = case_as_of(app, case_id, START + timedelta(days=9), by="occurred")  # the request's own instant
    assert requested is not None
    assert (requested.version, requested.status, requested.consent_active) == \
        (versions["IntegrationRequested"], "integration_active_l1", True)
    assert requested.last_fact.fact == "IntegrationRequested" and requested.case_manager_ref is None

    appointed = case_as_of(app, case_id, START + timedelta(days=31), by="occurred")
    assert appointed is not None
    assert (appointed.status, appointed.case_manager_ref, appointed.highest_level) == \
        ("team_forming", "person:cm-is-1", 3)

    planned = case_as_of(app, case_id, START + timedelta(days=100), by="occurred")
    assert planned is not None
    assert (planned.status, planned.plan_id, planned.plan_version, planned.team_id) == \
        ("plan_active", "plan-1", 1, "team-1")

    revised = case_as_of(app, case_id, START + timedelta(days=300), by="occurred")
    assert revised is not None and revised.plan_version == 2

    closed = case_as_of(app, case_id, START + timedelta(days=955), by="occurred")
    assert closed is not None
    assert (closed.status, closed.closed_on) == ("closed", (START + timedelta(days=950)).date())
    assert closed.version == versions["SupportTeamConcluded"] == closed.latest_version - 1
    assert closed.backdated_after == ()


def test_case_as_of_knowledge_time_and_backdated_facts(app: Casework) -> None:
    case_id = norway_lifecycle(app)
    facts: list[Any] = list(app.events.get(case_id))
    recorded = {e.originator_version: e.timestamp for e in facts}
    latest = facts[-1].originator_version

    assert case_as_of(app, case_id, recorded[1] - timedelta(microseconds=1)) is None
    for version in (1, 5, latest):
        at = case_as_of(app, case_id, recorded[version])
        assert at is not None and at.version == version and at.by == "recorded"
    before_appointment = case_as_of(app, case_id, recorded[5] - timedelta(microseconds=1))
    assert before_appointment is not None
    assert (before_appointment.version, before_appointment.status, before_appointment.consent_active) == \
        (4, "granted", True)
    appointed = case_as_of(app, case_id, recorded[5])
    assert appointed is not None and (appointed.status, appointed.coordinator_ref) == ("active", "person:bk-bodo-1")
    # Knowledge time vs world time: everything in this test was recorded "now", long after it occurred.
    world = case_as_of(app, case_id, START + timedelta(days=300), by="occurred")
    known = case_as_of(app, case_id, START + timedelta(days=300), by="recorded")
    assert world is not None and world.status == "terminated" and known is None

    iceland = iceland_lifecycle(app)
    outcome = c.RecordComplaintOutcome(case_id=iceland, complaint_id="gev-1", outcome_summary_ref="doc:gev-report-1")
    stored = app.recorder.max_notification_id()
    with pytest.raises(InvalidValue, match="TIME-1"):  # backdated before the complaint: refused now
        app.record_complaint_outcome(outcome, meta("person:lead-rvk", Role.MUNICIPALITY_LEAD, 955))
    assert app.recorder.max_notification_id() == stored
    # Recorded by v1 (or on a case restored from a snapshot older than the clock): history can hold such a fact.
    case: Any = app.get_case(iceland)
    case.latest_occurred_at = None
    lead = Actor("person:lead-rvk", Role.MUNICIPALITY_LEAD)
    case.record_complaint_outcome(Context(lead, START + timedelta(days=955)), complaint_id="gev-1",
                                  outcome_summary_ref="doc:gev-report-1")
    app.save(case)
    snapshot = case_as_of(app, iceland, START + timedelta(days=957), by="occurred")
    assert snapshot is not None
    assert snapshot.version == event_version(app, iceland, "SupportTeamConcluded")
    assert [f.fact for f in snapshot.backdated_after] == ["ComplaintOutcomeRecorded"]
    with pytest.raises(ValueError):
        case_as_of(app, iceland, datetime(2025, 1, 1))
