"""The law's clock on real servers: a movable clock through a child's 17th and 18th birthdays under both laws
(facts in PostgreSQL, notices through the SMTP catcher, the dashboard's figures), two clock replicas recording each
fact once (on the store and on the JetStream stream the relay fills), and the ops port."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from domain.legal_settings import LegalSettings
from projections.dashboard.deadlines import deadline_counts
from projections.dashboard.projection import DashboardProjection
from projections.notifications import NotificationsProjection
from services import ops
from services.casework.application import Casework
from services.clock.cli import ClockCollector, _probes
from services.clock.index import DueIndex
from services.clock.service import ClockService
from services.consumers.replay import published_events
from services.consumers.store import ReadModelStore
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from services.notifier import DeliveryWorker, MappingDirectory, Recipient, SmtpChannel, WorkerSettings
from services.observability import metrics
from services.relay.relay import Relay
from tests.integration.clock_support import (
    BARNEKOORDINATOR,
    CM,
    MovableClock,
    clock_facts,
    iceland_case_led_by_case_manager,
    norway_active_case,
)
from tests.integration.notifier_support import smtp_server
from tests.integration.test_relay import caught_up, running, settings_for, stream_messages, wait_until

SETTINGS = LegalSettings(no_ordinary_coordinator_decision_days=30, rules_version="2026-12")
FAST = WorkerSettings(batch_size=50, lease=timedelta(seconds=1), backoff_base=timedelta(milliseconds=200),
                      poll_interval=0.05)
IS_BIRTH, NO_BIRTH = date(2009, 5, 10), date(2009, 6, 1)
IS_MUM, NO_MUM = "person:mum-clock-is", "person:mum-clock-no"


def address(ref: str) -> str:
    return f"{ref.split(':', 1)[1]}@example.test"


class Rig:
    """The store, the clock service, the two read models fed from the store, and the notifier's worker."""

    def __init__(self, target: PgTarget, clock: MovableClock) -> None:
        self.target, self.clock = target, clock
        self.app = Casework(env=target.eventsourcing_env(), legal_settings=SETTINGS, clock=clock.now)
        self.service = ClockService(self.app, DueIndex(target.dsn, target.schema), now=clock.now)
        self.service.index.create()
        self.notices = ReadModelStore(target.dsn, NotificationsProjection(SETTINGS), base_schema=target.schema)
        self.dashboard = ReadModelStore(target.dsn, DashboardProjection(), base_schema=target.schema)
        for store in (self.notices, self.dashboard):
            store.setup()
        self.position = 0
        self.directory = MappingDirectory()

    def feed(self) -> None:
        """Apply what the store published since the last feed to both read models (as their consumers do)."""
        for event in published_events(self.app, after=self.position):
            self.notices.apply(event)
            self.dashboard.apply(event)
            self.position = event.notification_id

    def on(self, day: date) -> int:
        self.clock.move_to(day)
        recorded = self.service.tick()
        self.feed()
        return recorded

    def counts(self, day: date) -> dict[tuple[str, str], tuple[int, int, int, int, int, str | None]]:
        with self.dashboard.reading() as cur:
            rows = deadline_counts(cur, as_of=day)
        return {(r.municipality_ref, r.rule_id): (r.warned, r.breached, r.escalated, r.reached, r.breached_open,
                                                   r.rules_version) for r in rows}

    def status(self, case_id: Any) -> str:
        with self.dashboard.reading() as cur:
            row = cur.execute("SELECT status FROM dash_case WHERE case_id = %s", (case_id,)).fetchone()
        assert row is not None
        return str(row[0])

    def close(self) -> None:
        self.notices.close()
        self.dashboard.close()
        self.app.close()


@pytest.fixture
def rig(pg_schema: PgTarget) -> Iterator[Rig]:
    made = Rig(pg_schema, MovableClock(date(2026, 4, 1)))
    try:
        yield made
    finally:
        made.close()


def delivered(rig: Rig, port: int) -> None:
    worker = DeliveryWorker(rig.target.dsn, base_schema=rig.target.schema, directory=rig.directory,
                            channels={"email": SmtpChannel("127.0.0.1", port, "noreply@prosperity.test")},
                            settings=FAST)
    worker.setup()
    for _ in range(10):
        if worker.run_once().claimed == 0:
            return


def test_a_childs_17th_and_18th_birthdays_under_both_laws(rig: Rig) -> None:
    iceland = iceland_case_led_by_case_manager(rig.app, "person:child-clock-is", IS_MUM, IS_BIRTH)
    norway = norway_active_case(rig.app, "person:child-clock-no", NO_MUM, NO_BIRTH)
    for ref in (CM.person_ref, BARNEKOORDINATOR, IS_MUM, NO_MUM, "person:teacher-clock-1", "person:coord-clock-1",
                "muni:reykjavik", "muni:bodo", "person:staff-clock-1"):
        rig.directory.add(Recipient(ref, "email", address(ref), "en"))
    assert rig.on(date(2026, 4, 2)) == 0
    assert rig.service.index.look_on(iceland) == date(2026, 5, 10)  # the due-index knows the 17th birthday

    with smtp_server() as (inbox, port):
        # 17: T5 warns the Icelandic case manager (and the team) and the Norwegian barnekoordinator
        assert rig.on(date(2026, 5, 10)) == 1 and rig.on(date(2026, 6, 1)) == 1
        assert clock_facts(rig.app, iceland) == [("DeadlineWarningRaised", "T5", "T5", "17y0m")]
        assert clock_facts(rig.app, norway) == [("DeadlineWarningRaised", "T5", "T5", "17y0m")]
        assert rig.counts(date(2026, 6, 1)) == {("muni:bodo", "T5"): (1, 0, 0, 0, 0, "2026-12"),
                                                ("muni:reykjavik", "T5"): (1, 0, 0, 0, 0, "2026-12")}
        delivered(rig, port)
        warnings = [m for m in inbox.snapshot() if m.kind == "deadline_warning"]
        assert sorted(r for m in warnings for r in m.rcpt_tos) == sorted(
            address(ref) for ref in (CM.person_ref, "person:teacher-clock-1", BARNEKOORDINATOR))
        assert "rules 2026-12" in warnings[0].body and "T5" in warnings[0].message["Subject"]

        # 18: Iceland breaches T5 (no transition plan) and closes; Norway moves on to the ordinary coordinator
        # (the clock did not run on 2026-11-10 and 2026-12-01: Norway's 17y6m warning comes late, still before 18;
        # Iceland's, due on the birthday itself, is left out, its breach is what counts)
        assert rig.on(date(2027, 5, 10)) == 3
        assert clock_facts(rig.app, iceland)[1:] == [("DeadlineBreached", "T5", "T5", ""),
                                                    ("ChildReachedMajority", "T6", "", "")]
        assert clock_facts(rig.app, norway)[1:] == [("DeadlineWarningRaised", "T5", "T5", "17y6m")]
        assert rig.status(iceland) == "closed"
        rig.on(date(2027, 6, 1))
        assert rig.status(norway) == "ordinary_coordinator_assessment"
        no_case: Any = rig.app.get_case(norway)
        assert no_case.status.value == "ordinary_coordinator_assessment"
        # no decision within 30 days of the birthday (T9-18): warned, then breached, a complaint ground
        rig.on(date(2027, 6, 28))
        rig.on(date(2027, 7, 2))
        assert clock_facts(rig.app, norway)[-2:] == [("DeadlineWarningRaised", "T9-18", "T9-18:2027-06-01", "3d"),
                                                    ("DeadlineBreached", "T9-18", "T9-18:2027-06-01", "")]
        no_case = rig.app.get_case(norway)
        assert no_case.after_18_decision_overdue
        assert rig.on(date(2027, 7, 3)) == 0  # nothing more is due: each fact once
        counts = rig.counts(date(2027, 7, 3))
        assert counts[("muni:reykjavik", "T5")] == (1, 1, 0, 0, 0, "2026-12")  # breached, and the case is closed
        assert counts[("muni:bodo", "T9-18")] == (1, 1, 0, 0, 1, "2026-12")  # breached and still open
        delivered(rig, port)
        breaches = {(m.kind, r) for m in inbox.snapshot() for r in m.rcpt_tos if m.kind == "deadline_breached"}
        assert breaches == {("deadline_breached", address(ref)) for ref in (
            CM.person_ref, "person:teacher-clock-1", NO_MUM, "muni:bodo")}
        assert not Counter(m.key for m in inbox.snapshot()) - Counter(set(m.key for m in inbox.snapshot()))


def _cases(app: Casework, n: int) -> list[Any]:
    made = []
    for i in range(n):
        made.append(iceland_case_led_by_case_manager(app, f"person:child-rep-is-{i}", f"person:mum-rep-is-{i}",
                                                     IS_BIRTH))
        made.append(norway_active_case(app, f"person:child-rep-no-{i}", f"person:mum-rep-no-{i}", IS_BIRTH))
    return made


async def test_two_clock_replicas_record_each_fact_once_in_the_store_and_on_the_stream(
        pg_schema: PgTarget, js_stream: JsTarget) -> None:
    clock = MovableClock(date(2026, 4, 1))
    apps = [Casework(env=pg_schema.eventsourcing_env(), legal_settings=SETTINGS, clock=clock.now) for _ in range(2)]
    replicas = [ClockService(app, DueIndex(pg_schema.dsn, pg_schema.schema), now=clock.now, name=f"clock-{i}")
                for i, app in enumerate(apps)]
    replicas[0].index.create()
    relay = Relay(apps[0], pg_schema.eventsourcing_env(), settings_for(js_stream))
    try:
        cases = await asyncio.to_thread(_cases, apps[0], 6)
        for day in (date(2026, 5, 10), date(2026, 11, 10), date(2027, 5, 10), date(2027, 6, 11)):
            clock.move_to(day)
            start = threading.Barrier(2)

            def tick(replica: ClockService, start: threading.Barrier = start) -> int:
                start.wait()
                return replica.tick()

            await asyncio.gather(*(asyncio.to_thread(tick, r) for r in replicas))
        facts = [fact for case_id in cases for fact in clock_facts(apps[1], case_id)]
        assert Counter(name for name, *_ in facts) == {
            "DeadlineWarningRaised": 24, "ChildReachedMajority": 12, "DeadlineBreached": 6 + 6}
        for case_id in cases:  # each fact once per case: no two alike
            assert len(set(clock_facts(apps[1], case_id))) == len(clock_facts(apps[1], case_id))
        assert sum(r.stats.facts_recorded for r in replicas) == len(facts)
        async with running(relay):
            await wait_until(caught_up(relay), what="the relay to publish the clock's facts")
        published = [json.loads(m.payload) for m in await stream_messages(js_stream)]
        on_stream = [(p["case_id"], p["event_type"], p.get("deadline_id"), p.get("warning")) for p in published
                     if p["event_type"].startswith("deadline_") or p["event_type"] == "child_reached_majority"]
        assert len(on_stream) == len(set(on_stream)) == len(facts)
        assert {p["rules_version"] for p in published} == {"2026-12"}
    finally:
        relay.close()
        for app in apps:
            app.close()


def test_the_ops_port_answers_health_ready_and_metrics(pg_schema: PgTarget) -> None:
    clock = MovableClock(date(2026, 4, 1))
    app = Casework(env=pg_schema.eventsourcing_env(), clock=clock.now)
    try:
        service = ClockService(app, DueIndex(pg_schema.dsn, pg_schema.schema), now=clock.now)
        service.index.create()
        service.tick()
        live, ready = _probes(service, pg_schema.dsn, 60.0)
        metrics.register(ClockCollector(service))
        with ops.serving("clock", ops.OpsSettings(ops_port=0), live=live, ready=ready) as server:
            base = server.url
            for path in ("/health", "/ready"):
                with urllib.request.urlopen(base + path, timeout=5) as answer:
                    assert answer.status == 200 and json.loads(answer.read())["status"] == "ok"
            with urllib.request.urlopen(base + "/metrics", timeout=5) as answer:
                assert "prosperity_clock_passes_total 1" in answer.read().decode()
    finally:
        app.close()


def test_a_case_the_clock_cannot_work_on_is_postponed_and_holds_back_no_other(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = iceland_case_led_by_case_manager(rig.app, "person:child-clock-x", "person:mum-clock-x", IS_BIRTH)
    fine = norway_active_case(rig.app, "person:child-clock-y", "person:mum-clock-y", date(2009, 5, 10))
    rig.on(date(2026, 4, 2))
    working = rig.service.bring_up_to_date

    def fails_for_one(case_id: Any, today: date) -> int:
        if case_id == broken:
            raise ConnectionError("the store went away for this one")
        return working(case_id, today)

    monkeypatch.setattr(rig.service, "bring_up_to_date", fails_for_one)
    assert rig.on(date(2026, 5, 10)) == 1
    assert clock_facts(rig.app, fine) == [("DeadlineWarningRaised", "T5", "T5", "17y0m")]
    assert clock_facts(rig.app, broken) == [] and rig.service.stats.failures == 1
    assert rig.service.index.look_on(broken) == date(2026, 5, 11)
    monkeypatch.setattr(rig.service, "bring_up_to_date", working)
    assert rig.on(date(2026, 5, 11)) == 1  # the next day it is recorded, late but once
    assert clock_facts(rig.app, broken) == [("DeadlineWarningRaised", "T5", "T5", "17y0m")]
