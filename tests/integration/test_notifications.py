"""Notifications end to end on real servers: events → outbox (PostgreSQL) → SMTP (aiosmtpd) and signed webhooks
(http.server), with restarts, retries and the deadline scheduler."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg_pool
import pytest
from psycopg import sql
from pydantic import SecretStr

from contracts import commands as c
from contracts.events import BarnekoordinatorDecisionIssuedV1, EventEnvelopeV1, TeamConclusionNotifiedV1
from domain.values import AdultServiceHandover, ProviderRole, Role, SupportPlanContent
from projections.notifications import NotificationsProjection
from projections.notifications.projection import local_date
from projections.notifications.templates import format_date
from services.casework.application import Casework
from services.consumers.rebuild import rebuild
from services.consumers.store import ReadModelStore
from services.infra.postgres_env import PgTarget
from services.notifier import (
    DeadlineScheduler,
    DeliveryWorker,
    MappingDirectory,
    Message,
    PostgresDirectory,
    Recipient,
    RunReport,
    SmtpChannel,
    WebhookChannel,
    WorkerSettings,
)
from services.notifier.channels import Channel, message_id_for
from services.notifier.run import NotifierSettings
from services.notifier.run import run as run_notifier
from services.vault import Keyring, PostgresVaultStore, ShredBasis, Vault, open_vault, shred_subject
from services.walkthrough import iceland_lifecycle, norway_lifecycle
from tests.integration.notifier_support import (
    CM_IS,
    DAD_IS,
    MUM_IS,
    MUM_NO,
    Feeder,
    cm_meta,
    free_port,
    iceland_closure_without_plan,
    iceland_team,
    norway_refusal,
    smtp_server,
    webhook_server,
)

SENDER = "noreply@prosperity.test"
FAST = WorkerSettings(batch_size=50, lease=timedelta(seconds=1), backoff_base=timedelta(milliseconds=200),
                      poll_interval=0.05)


@dataclass
class Rig:
    app: Casework
    store: ReadModelStore
    feeder: Feeder
    directory: MappingDirectory
    target: PgTarget

    def worker(self, port: int, settings: WorkerSettings = FAST, **channels: Channel) -> DeliveryWorker:
        worker = DeliveryWorker(self.target.dsn, base_schema=self.target.schema, directory=self.directory,
                                channels={"email": SmtpChannel("127.0.0.1", port, SENDER), **channels},
                                settings=settings)
        worker.setup()
        return worker

    def outbox(self, where: str = "true") -> list[tuple[Any, ...]]:
        with self.store.reading() as cur:
            return cur.execute("SELECT notification_key, kind, recipient_ref, status, attempts, mandatory"
                                f" FROM outbox WHERE {where} ORDER BY notification_key").fetchall()


def address(ref: str) -> str:
    return f"{ref.split(':', 1)[1]}@example.test"


@pytest.fixture
def rig(pg_schema: PgTarget) -> Iterator[Rig]:
    app = Casework(env=pg_schema.eventsourcing_env())
    store = ReadModelStore(pg_schema.dsn, NotificationsProjection(), base_schema=pg_schema.schema)
    store.setup()
    try:
        yield Rig(app, store, Feeder(app, store), MappingDirectory(), pg_schema)
    finally:
        store.close()
        app.close()


def drain(worker: DeliveryWorker, rounds: int = 20) -> RunReport:
    total = RunReport()
    for _ in range(rounds):
        report = worker.run_once()
        total.claimed += report.claimed
        total.sent += report.sent
        total.undeliverable += report.undeliverable
        total.failed += report.failed
        total.dead += report.dead
        if report.claimed == 0:
            break
    return total


def person_refs(events: list[EventEnvelopeV1]) -> set[str]:
    """Every ``person:`` reference in the recorded facts (the directory knows them all, but the children)."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str) and value.startswith("person:") and "child" not in value:
            found.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    for event in events:
        walk(event.model_dump())
    return found


def test_every_mandatory_notice_is_sent_once_to_the_right_people_with_what_the_law_requires(rig: Rig) -> None:
    iceland_closure_without_plan(rig.app)
    norway_refusal(rig.app)
    iceland_lifecycle(rig.app)
    norway_lifecycle(rig.app)
    events = rig.feeder.feed()
    for event in events:  # redelivered by the broker: no second row
        rig.store.apply(event)
    for ref in person_refs(events):
        rig.directory.add(Recipient(ref, "email", address(ref), "en" if ref == DAD_IS else None))

    with smtp_server() as (inbox, port):
        worker = rig.worker(port)
        try:
            waiting = {status: count for status, count, _ in worker.outbox_figures()}
            drain(worker)
            assert drain(worker).claimed == 0  # nothing left, nothing sent twice
            figures = {status: (count, age) for status, count, age in worker.outbox_figures()}  # what /metrics says
        finally:
            worker.close()
        assert sum(count for count, _ in figures.values()) == sum(waiting.values()) and "pending" not in figures
        assert waiting["pending"] > 0 and figures["sent"][0] > 0
        received = inbox.snapshot()

    assert all(count == 1 for count in inbox.count_by_message_id().values())
    by_key = Counter(r.key for r in received)
    assert all(count == 1 for count in by_key.values())

    # Iceland: the fact names the parents and the case manager; each gets the justification and GEV's route.
    concluded = [e for e in events if isinstance(e, TeamConclusionNotifiedV1)]
    assert len(concluded) == 1 and set(concluded[0].recipient_refs) == {MUM_IS, DAD_IS, CM_IS}
    notices = [r for r in received if r.kind == "team_concluded_without_plan"]
    assert sorted(r.rcpt_tos[0] for r in notices) == sorted(address(x) for x in (MUM_IS, DAD_IS, CM_IS))
    for notice in notices:
        assert notice.message["Message-ID"] == message_id_for(notice.key, "prosperity.invalid")
        assert notice.message["To"] == notice.rcpt_tos[0]
        assert "doc:why-no-plan-7" in notice.body and "gev.is" in notice.body and "Mínar síður" in notice.body
        if notice.rcpt_tos[0] == address(DAD_IS):  # the directory says he reads English
            assert notice.message["Content-Language"] == "en"
            assert "Quality and Supervisory Authority of Welfare (GEV" in notice.body
        else:
            assert notice.message["Content-Language"] == "is"
            assert "Gæða- og eftirlitsstofnunar velferðarmála (GEV)" in notice.body
            assert notice.message["Subject"] == "Stuðningsteymi hefur lokið störfum án stuðningsáætlunar"

    # Norway: every decision (one refusal, and grant / termination / grant in the lifecycle) to the family.
    decisions = [e for e in events if isinstance(e, BarnekoordinatorDecisionIssuedV1)]
    assert len(decisions) == 4
    letters = {r.key.split(":")[0] + ":" + r.key.split(":")[1]: r for r in received
               if r.kind == "barnekoordinator_decision"}
    assert len(letters) == 4
    for decision in decisions:
        letter = letters[decision.event_id]
        family = MUM_NO if decision.decision_id == "decision-7" else "person:parent-no-1"
        assert letter.rcpt_tos == [address(family)]
        assert letter.message["Content-Language"] == "nb"
        deadline = local_date(decision.appeal_deadline, "NO")
        assert decision.appeal_deadline - decision.delivered_at == timedelta(weeks=4)
        for needed in (decision.justification_doc_ref, "Statsforvalteren", "fire uker", "pbrl. § 7-5",
                       format_date(deadline, "nb"), decision.legal_basis or "-"):
            assert needed in letter.body, needed
    refusal = letters[next(d.event_id for d in decisions if d.decision_id == "decision-7")]
    assert refusal.message["Subject"] == "Avgjørelse om barnekoordinator: avslått"
    assert format_date(date(2024, 2, 17), "nb") in refusal.body  # delivered 20 January 2024 + 4 weeks

    # Mandatory rows are recorded as sent, and were claimed before the informational ones.
    assert {row[3] for row in rig.outbox("mandatory")} == {"sent"}


def test_a_rebuilt_generation_does_not_send_again(rig: Rig) -> None:
    iceland_closure_without_plan(rig.app)
    rig.feeder.feed()
    for ref in (MUM_IS, DAD_IS, CM_IS):
        rig.directory.add(Recipient(ref, "email", address(ref)))
    with smtp_server() as (inbox, port):
        worker = rig.worker(port)
        try:
            drain(worker)
            first = len(inbox.snapshot())
            report = rebuild(rig.store, rig.app)
            assert rig.store.serving().number == report.generation.number == 2
            assert {row[3] for row in rig.outbox("mandatory")} == {"pending"}  # a fresh outbox
            drain(worker)
            assert len(inbox.snapshot()) == first
            assert {row[3] for row in rig.outbox("mandatory")} == {"sent"}
        finally:
            worker.close()


class _Crash(BaseException):
    """A process dying: not an ``Exception``, so the worker cannot catch and record it."""


class Tripwire:
    """Wraps a channel: after ``after`` messages, stop the worker (graceful) or kill it before/after sending."""

    def __init__(self, inner: Channel, after: int, mode: str, stop: threading.Event | None = None) -> None:
        self.inner, self.after, self.mode, self.stop, self.count = inner, after, mode, stop, 0
        self.name = inner.name

    def send(self, message: Message, address: str) -> str:
        if self.count == self.after and self.mode == "crash_before_send":
            raise _Crash
        result = self.inner.send(message, address)
        self.count += 1
        if self.count == self.after:
            if self.mode == "crash_after_accept":
                raise _Crash
            if self.mode == "stop" and self.stop is not None:
                self.stop.set()
        return result


def _many_notices(rig: Rig) -> int:
    iceland_lifecycle(rig.app)
    norway_lifecycle(rig.app)
    rig.feeder.feed()
    for _, _, ref, *_ in rig.outbox():
        rig.directory.add(Recipient(ref, "email", address(ref)))
    return len(rig.outbox())


@pytest.mark.parametrize("mode", ["stop", "crash_before_send"])
def test_a_worker_stopped_or_killed_mid_batch_is_replaced_without_a_duplicate(rig: Rig, mode: str) -> None:
    total = _many_notices(rig)
    assert total > 10
    with smtp_server() as (inbox, port):
        stop = threading.Event()
        first = rig.worker(port)
        first.channels["email"] = Tripwire(first.channels["email"], 4, mode, stop)
        try:
            if mode == "stop":
                report = first.run_once(stop)
                assert len(report.sent) == 4 and report.released
            else:
                with pytest.raises(_Crash):
                    first.run_once()
        finally:
            first.close()
        assert len(inbox.snapshot()) == 4
        time.sleep(1.1)  # the dead worker's lease runs out
        second = rig.worker(port)
        try:
            drain(second)
        finally:
            second.close()
        received = inbox.snapshot()
    assert len(received) == total
    assert all(count == 1 for count in inbox.count_by_message_id().values())
    assert {row[3] for row in rig.outbox()} == {"sent"}


def test_a_crash_between_smtp_accept_and_recording_resends_once_with_the_same_message_id(rig: Rig) -> None:
    """The documented at-least-once window: one message, twice, identical Message-ID, marked in doubt."""
    total = _many_notices(rig)
    with smtp_server() as (inbox, port):
        first = rig.worker(port)
        first.channels["email"] = Tripwire(first.channels["email"], 3, "crash_after_accept")
        try:
            with pytest.raises(_Crash):
                first.run_once()
        finally:
            first.close()
        time.sleep(1.1)
        second = rig.worker(port)
        try:
            drain(second)
        finally:
            second.close()
        received = inbox.snapshot()
    counts = inbox.count_by_message_id()
    assert len(counts) == total and sorted(counts.values())[-1] == 2 and sum(counts.values()) == total + 1
    twice = [r for r in received if counts[str(r.message["Message-ID"])] == 2]
    assert twice[0].key == twice[1].key and twice[1].message["X-Prosperity-Redelivery"] == "in-doubt"


def test_in_doubt_rows_are_held_for_a_person_when_configured(rig: Rig) -> None:
    total = _many_notices(rig)
    with smtp_server() as (inbox, port):
        first = rig.worker(port)
        first.channels["email"] = Tripwire(first.channels["email"], 3, "crash_after_accept")
        try:
            with pytest.raises(_Crash):
                first.run_once()
        finally:
            first.close()
        time.sleep(1.1)
        careful = WorkerSettings(batch_size=50, lease=timedelta(seconds=1), in_doubt_policy="hold")
        second = rig.worker(port, careful)
        try:
            drain(second)
        finally:
            second.close()
        counts = inbox.count_by_message_id()
    assert set(counts.values()) == {1}
    statuses = Counter(row[3] for row in rig.outbox())
    assert statuses["held"] == 1 and statuses["sent"] == total - 1


def test_webhooks_are_signed_and_a_wrong_secret_is_refused(rig: Rig) -> None:
    iceland_closure_without_plan(rig.app)
    rig.feeder.feed()
    secret = b"shared-secret-for-kopavogur"
    with webhook_server(secret) as (hooks, url):
        rig.directory.add(Recipient("muni:kopavogur", "webhook", url))
        rig.directory.add(Recipient(CM_IS, "webhook", url))
        worker = rig.worker(free_port(), webhook=WebhookChannel(secret))
        try:
            drain(worker)
        finally:
            worker.close()
        kinds = sorted(body["kind"] for body in hooks.accepted)
        assert kinds.count("case_manager_needed") == 1 and kinds.count("team_concluded_without_plan") == 1
        conclusion = next(b for b in hooks.accepted if b["kind"] == "team_concluded_without_plan")
        assert conclusion["recipient_ref"] == CM_IS and conclusion["mandatory"] is True
        assert "doc:why-no-plan-7" in conclusion["body"] and "gev.is" in conclusion["body"]
        assert all(h["Idempotency-Key"] == b["notification_key"] for h, b in zip(hooks.headers, hooks.accepted,
                                                                                 strict=True))
        assert hooks.rejected == 0

        # The same kind of notice from another case, signed with the wrong secret: refused (401), not retried.
        iceland_closure_without_plan_other(rig)
        impostor = rig.worker(free_port(), webhook=WebhookChannel(b"not-the-secret"))
        try:
            report = drain(impostor)
        finally:
            impostor.close()
        assert hooks.rejected >= 1 and report.dead and not report.failed


def iceland_closure_without_plan_other(rig: Rig) -> None:
    case_id, at = iceland_team(rig.app, child="person:child-is-9")
    rig.app.conclude_support_team(c.ConcludeSupportTeam(case_id=case_id, outcome="concluded_without_plan",
                                                        justification_doc_ref="doc:why-no-plan-9"), cm_meta(at, 30))
    rig.feeder.feed()


def test_smtp_down_is_retried_with_growing_backoff_until_it_comes_back(rig: Rig) -> None:
    iceland_closure_without_plan(rig.app)
    rig.feeder.feed()
    rig.directory.add(Recipient(MUM_IS, "email", address(MUM_IS)))
    port = free_port()
    worker = rig.worker(port)
    key_filter = f"recipient_ref = '{MUM_IS}' AND mandatory"
    try:
        gaps: list[float] = []
        for attempt in (1, 2, 3):
            give_up = time.monotonic() + 10
            while True:
                worker.run_once()
                with rig.store.reading() as cur:
                    row = cur.execute(f"SELECT next_attempt_at - last_attempt_at, attempts, status, last_error"
                                      f" FROM outbox WHERE {key_filter}").fetchone()
                assert row is not None and time.monotonic() < give_up
                if row[1] == attempt and row[2] == "failed":
                    break
                time.sleep(0.02)
            assert "SMTP unavailable" in row[3]
            gaps.append(row[0].total_seconds())
        assert gaps == [0.2, 0.4, 0.8]
        with smtp_server(port) as (inbox, _):
            deadline = time.monotonic() + 10
            while not any(r.kind == "team_concluded_without_plan" for r in inbox.snapshot()):
                assert time.monotonic() < deadline
                worker.run_once()
                time.sleep(0.05)
            mine = [r for r in inbox.snapshot() if r.rcpt_tos == [address(MUM_IS)]]
        assert Counter(r.kind for r in mine) == {"team_concluded_without_plan": 1, "case_manager_appointed": 1,
                                                 "support_team_established": 1}
        assert rig.outbox(key_filter)[0][3:5] == ("sent", 4)
    finally:
        worker.close()


def test_a_notice_is_dead_after_max_attempts(rig: Rig) -> None:
    iceland_closure_without_plan(rig.app)
    rig.feeder.feed()
    rig.directory.add(Recipient(MUM_IS, "email", address(MUM_IS)))
    settings = WorkerSettings(max_attempts=2, backoff_base=timedelta(milliseconds=10), lease=timedelta(seconds=1))
    worker = rig.worker(free_port(), settings)
    try:
        for _ in range(50):
            if worker.run_once().dead:
                break
            time.sleep(0.03)
        row = rig.outbox(f"recipient_ref = '{MUM_IS}' AND mandatory")[0]
        assert row[3:5] == ("dead", 2)
        # No address at all: set aside at once, for a person to follow up.
        assert {r[3] for r in rig.outbox(f"recipient_ref = '{DAD_IS}' AND mandatory")} == {"undeliverable"}
    finally:
        worker.close()


def test_deadline_warnings_are_enqueued_once_when_due_and_cancelled_when_met(rig: Rig) -> None:
    # A child born in 2007 on the case-manager track: adult transition plan warnings from 2024-01-01 (17y0m
    # of the earliest birthday the year allows) and 2024-07-01 (17y6m).
    case_id, at = iceland_team(rig.app, child="person:child-is-8", birth_date=date(2007, 3, 1))
    rig.feeder.feed()
    with rig.store.reading() as cur:
        transition = cur.execute("SELECT recipient_ref, warn_on, due_on, status FROM deadlines"
                                 " WHERE kind = 'adult_transition_plan_due' ORDER BY warn_on, recipient_ref").fetchall()
    professionals = sorted([CM_IS, "person:coord-is-7", "person:teacher-7"])
    assert [(r[0], r[1]) for r in transition] == [(p, date(2024, 1, 1)) for p in professionals] + \
        [(p, date(2024, 7, 1)) for p in professionals]
    assert {r[2] for r in transition} == {date(2024, 12, 31)} and {r[3] for r in transition} == {"pending"}

    scheduler = DeadlineScheduler(rig.target.dsn, base_schema=rig.target.schema)
    try:
        assert scheduler.run_once(date(2023, 12, 31)) == 0
        assert scheduler.run_once(date(2024, 2, 1)) == 3
        assert scheduler.run_once(date(2024, 2, 1)) == 0  # a restart or a second scheduler: nothing new
        assert scheduler.run_once(date(2024, 2, 2)) == 0

        plan = SupportPlanContent(
            needs_assessment_ref="doc:needs-8", objectives=("doc:objective-8",),
            provider_roles=(ProviderRole("org:school-kop-1", "doc:role-8"),),
            evaluation_method="team_review_against_objectives", valid_from=date(2024, 2, 1),
            valid_to=date(2024, 12, 1), review_dates=(date(2024, 5, 1),), participants=(MUM_IS, CM_IS),
            parents_participated=True, child_participated=False)
        rig.app.adopt_support_plan(c.AdoptSupportPlan(case_id=case_id, plan_id="plan-8", content=plan),
                                   cm_meta(at, 20))
        rig.app.adopt_adult_transition_plan(c.AdoptAdultTransitionPlan(
            case_id=case_id, plan_id="transition-8",
            adult_service_handovers=(AdultServiceHandover("org:adult-social-kop", "case_worker"),),
            young_person_participated=True), cm_meta(at, 25))
        rig.feeder.feed()
        with rig.store.reading() as cur:
            states = dict(cur.execute("SELECT kind || ':' || warn_on, min(status) FROM deadlines"
                                      " GROUP BY 1").fetchall())
        assert states == {"adult_transition_plan_due:2024-01-01": "enqueued",
                          "adult_transition_plan_due:2024-07-01": "cancelled",
                          "plan_review_due:2024-04-17": "pending", "plan_period_ends:2024-11-17": "pending"}
        assert scheduler.run_once(date(2024, 8, 1)) == 1  # only the review warning (to the case manager)

        rig.directory.add(Recipient(CM_IS, "email", address(CM_IS)))
        with smtp_server() as (inbox, port):
            worker = rig.worker(port)
            try:
                drain(worker)
            finally:
                worker.close()
            warnings = [r for r in inbox.snapshot() if r.key.startswith("deadline:")]
        assert sorted(r.kind for r in warnings) == ["adult_transition_plan_due", "plan_review_due"]
        transition_mail = next(r for r in warnings if r.kind == "adult_transition_plan_due")
        assert "17y0m" not in transition_mail.body and "barnið er orðið 17 ára" in transition_mail.body
        assert format_date(date(2024, 12, 31), "is") in transition_mail.body
    finally:
        scheduler.close()


def test_the_scheduler_loop_survives_restarts_without_duplicates(rig: Rig) -> None:
    iceland_team(rig.app, child="person:child-is-6", birth_date=date(2007, 3, 1))
    rig.feeder.feed()
    created: list[int] = []
    for _ in range(3):  # three scheduler processes, one after another, each stopped mid-loop
        stop = threading.Event()
        scheduler = DeadlineScheduler(rig.target.dsn, base_schema=rig.target.schema, interval=0.01,
                                      today=lambda: date(2024, 9, 1))
        original = scheduler.run_once

        def counting(today: date | None = None, _run: Any = original) -> int:
            created.append(_run(today))
            return created[-1]

        scheduler.run_once = counting  # type: ignore[method-assign]
        thread = threading.Thread(target=scheduler.run, args=(stop,))
        thread.start()
        time.sleep(0.2)
        stop.set()
        thread.join()
        scheduler.close()
    assert sum(created) == 6  # 2 warnings x 3 professionals, once
    with rig.store.reading() as cur:
        keys = cur.execute("SELECT notification_key FROM outbox WHERE source = 'deadline'").fetchall()
    assert len(keys) == 6 == len(set(keys))



def test_the_notifier_process_delivers_through_the_directory_table_until_stopped(
        rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROSPERITY_DATA_DIR", str(tmp_path))  # where the notifier and this test find the KEKs
    iceland_closure_without_plan(rig.app)
    norway_refusal(rig.app)
    rig.feeder.feed()
    secret = "a-shared-secret"
    with smtp_server() as (inbox, port), webhook_server(secret.encode()) as (hooks, url):
        settings = NotifierSettings(pg_dsn=rig.target.dsn, base_schema=rig.target.schema, smtp_port=port,
                                    smtp_host="127.0.0.1", webhook_secret=SecretStr(secret), workers=3,
                                    scheduler_interval_seconds=0.1, backoff_base_seconds=0.1)
        DeliveryWorker(rig.target.dsn, directory=MappingDirectory(), channels={},
                       base_schema=rig.target.schema).setup()
        with psycopg_pool.ConnectionPool(rig.target.dsn, min_size=1, max_size=1, kwargs={"autocommit": False}) as pool:
            vault = open_vault(pool, rig.target.schema)  # the notifier process opens the same vault and keys
            directory = PostgresDirectory(pool, rig.target.schema, vault)
            for ref in (MUM_IS, DAD_IS, CM_IS, MUM_NO):
                directory.put(Recipient(ref, "email", address(ref)))
            directory.put(Recipient("muni:kopavogur", "webhook", url, "en"))
            assert directory.lookup(MUM_NO) == Recipient(MUM_NO, "email", address(MUM_NO), None)
            with pool.connection() as conn:  # the table holds channel and language, never the address
                stored = conn.execute(sql.SQL("SELECT count(*) FROM {}.notification_recipients WHERE address IS"
                                              " NOT NULL").format(sql.Identifier(rig.target.schema))).fetchone()
            assert stored == (0,)
        stop = threading.Event()
        process = threading.Thread(target=run_notifier, args=(settings, stop))
        process.start()
        try:
            give_up = time.monotonic() + 15
            while len([r for r in inbox.snapshot() if r.message["Importance"] == "high"]) < 4 or \
                    len(hooks.accepted) < 2:
                assert time.monotonic() < give_up
                time.sleep(0.05)
        finally:
            stop.set()
            process.join()
        mandatory = Counter(r.kind for r in inbox.snapshot() if r.message["Importance"] == "high")
        assert mandatory == {"team_concluded_without_plan": 3, "barnekoordinator_decision": 1}
        # the coordinator's notice of the need, and (issue 12) the level-3 service recorded before a case manager
        assert sorted(h["kind"] for h in hooks.accepted) == ["case_manager_needed", "level_without_case_manager"]
        needed = next(h for h in hooks.accepted if h["kind"] == "case_manager_needed")
        assert needed["language"] == "en" and needed["subject"].startswith("Request to")
    assert all(count == 1 for count in inbox.count_by_message_id().values())


def test_reaching_level_2_or_3_without_a_case_manager_tells_the_municipality(rig: Rig) -> None:
    """Issue 12: the level-3 service of ``iceland_team`` comes before the case manager: the domicile municipality
    is told once, in Icelandic, and delivery finds it like the coordinator's own notice of the need."""
    case_id, at = iceland_team(rig.app, child="person:child-is-12")
    # with the case manager in place, the level lowered (3 -> 2) and raised again (2 -> 3) tells nobody
    coordinator = at("person:coord-is-7", Role.COORDINATOR, 10, "org:school-kop-1")
    rig.app.record_service(c.RecordService(
        case_id=case_id, service_id="svc-12b", provider_org_ref="org:social-kop", service_level=2,
        service_type_code="family_support", start_date=date(2024, 1, 18)), coordinator)
    rig.app.end_service(c.EndService(case_id=case_id, service_id="svc-7", end_date=date(2024, 1, 18)), coordinator)
    rig.app.record_service(c.RecordService(
        case_id=case_id, service_id="svc-12c", provider_org_ref="org:social-kop", service_level=3,
        service_type_code="family_support", start_date=date(2024, 1, 18)), coordinator)
    assert [type(e).__name__ for e in rig.app.events.get(case_id)][-5:] == [
        "ServiceRecorded", "ServiceEnded", "LevelLowered", "ServiceRecorded", "LevelRaised"]
    rig.feeder.feed()

    rows = rig.outbox(f"case_id = '{case_id}' AND kind IN ('level_without_case_manager', 'case_manager_needed')")
    assert sorted((kind, recipient) for _, kind, recipient, *_ in rows) == [
        ("case_manager_needed", "muni:kopavogur"), ("level_without_case_manager", "muni:kopavogur")]
    with rig.store.reading() as cur:
        row = cur.execute("SELECT subject, body FROM outbox WHERE kind = 'level_without_case_manager'"
                          " AND case_id = %s", (case_id,)).fetchone()
    assert row is not None
    subject, body = row
    assert subject == "Barn á 3. stigi þjónustu án málstjóra" and "(áður: -)" in body


def test_addresses_live_in_the_vault_and_a_shredded_recipient_is_undeliverable(rig: Rig) -> None:
    """The directory resolves the address from the vault at send time; a table written before the vault has its
    plain addresses sealed into the vault and blanked; once a recipient's key is shredded, nothing resolves."""
    DeliveryWorker(rig.target.dsn, directory=MappingDirectory(), channels={}, base_schema=rig.target.schema).setup()
    table = sql.SQL("{}.notification_recipients").format(sql.Identifier(rig.target.schema))
    with psycopg_pool.ConnectionPool(rig.target.dsn, min_size=1, max_size=2, kwargs={"autocommit": False}) as pool:
        vault = Vault(PostgresVaultStore(pool, rig.target.schema), Keyring.generated())
        vault.setup()
        directory = PostgresDirectory(pool, rig.target.schema, vault)
        with pool.connection() as conn:  # a row as v1 wrote it
            conn.execute(sql.SQL("INSERT INTO {} (ref, channel, address) VALUES (%s, 'email', %s)").format(table),
                         (MUM_IS, address(MUM_IS)))
        assert directory.move_addresses_to_vault() == 1
        with pool.connection() as conn:
            assert conn.execute(sql.SQL("SELECT address FROM {}").format(table)).fetchall() == [(None,)]
        assert directory.lookup(MUM_IS) == Recipient(MUM_IS, "email", address(MUM_IS))
        shred_subject(vault, MUM_IS, ShredBasis.OUTSIDE_ARCHIVE_DUTY)
        assert directory.lookup(MUM_IS) is None
        iceland_closure_without_plan(rig.app)
        rig.feeder.feed()
        worker = DeliveryWorker(rig.target.dsn, directory=directory, channels={}, base_schema=rig.target.schema)
        try:
            worker.run_once()
        finally:
            worker.close()
    assert {r[3] for r in rig.outbox(f"recipient_ref = '{MUM_IS}' AND mandatory")} == {"undeliverable"}
