"""Real servers and small scenarios for the notifier tests: an SMTP server (aiosmtpd), a webhook receiver
(http.server in a thread) and case histories recorded through the ``Casework`` application."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from uuid import UUID

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from contracts import commands as c
from contracts.events import EventEnvelopeV1
from domain.values import EligibilityCriteria, MemberType, Role, TeamMember
from services.casework.application import Casework, CommandMeta
from services.consumers.replay import published_events
from services.consumers.store import ReadModelStore
from services.notifier.channels import KEY_HEADER, KIND_HEADER, SIGNATURE_HEADER, verify
from services.walkthrough import START, _Clock, ensure_institution


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- SMTP ----------------------------------------------------------------------------------------------
@dataclass
class Received:
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def key(self) -> str:
        return str(self.message[KEY_HEADER]).strip()  # a long header is folded onto its next line

    @property
    def kind(self) -> str:
        return str(self.message[KIND_HEADER])

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(cast(EmailMessage, part).get_content())


class Inbox:
    """aiosmtpd handler: keeps every message it accepted, parsed with the ``email`` package."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=default_policy)
        with self._lock:
            self.received.append(Received([str(r) for r in envelope.rcpt_tos], message))
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def count_by_message_id(self) -> Counter[str]:
        return Counter(str(r.message["Message-ID"]) for r in self.snapshot())


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


# ---- webhooks --------------------------------------------------------------------------------------------
@dataclass
class WebhookInbox:
    secret: bytes
    accepted: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    rejected: int = 0


@contextmanager
def webhook_server(secret: bytes) -> Iterator[tuple[WebhookInbox, str]]:
    """A receiver that checks the HMAC signature: 204 when valid, 401 otherwise."""
    inbox = WebhookInbox(secret)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                if verify(inbox.secret, body, self.headers.get(SIGNATURE_HEADER)):
                    inbox.accepted.append(json.loads(body))
                    inbox.headers.append(dict(self.headers.items()))
                    self.send_response(204)
                else:
                    inbox.rejected += 1
                    self.send_response(401)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox, f"http://127.0.0.1:{server.server_address[1]}/hooks/notifications"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---- feeding the projection ------------------------------------------------------------------------------
class Feeder:
    """Applies what the store published since the last call, as the consumer runtime would."""

    def __init__(self, app: Casework, store: ReadModelStore) -> None:
        self.app, self.store, self.position = app, store, 0
        self.events: list[EventEnvelopeV1] = []

    def feed(self) -> list[EventEnvelopeV1]:
        new = list(published_events(self.app, after=self.position))
        for event in new:
            self.store.apply(event)
        if new:
            self.position = new[-1].notification_id
        self.events.extend(new)
        return new


# ---- scenarios ---------------------------------------------------------------------------------------------
MUM_IS, DAD_IS, CM_IS, COORD_IS = "person:parent-is-7", "person:parent-is-8", "person:cm-is-7", "person:coord-is-7"
SCHOOL_IS = "org:school-kop-1"


def iceland_team(app: Casework, *, child: str = "person:child-is-7", birth_date: date = date(2012, 4, 2),
                 start: datetime = START) -> tuple[UUID, _Clock]:
    """An Icelandic case up to an established support team (case-manager track), with no plan."""
    at = _Clock(start, f"notifier-{child}")
    ensure_institution(app, SCHOOL_IS, "primary_school", "muni:kopavogur", "IS", COORD_IS,
                       at("person:lead-kop", Role.MUNICIPALITY_LEAD, 0, "org:town-hall-kop", "muni:kopavogur"))
    case_id = app.register_contact(c.RegisterContact(
        child_ref=child, parent_refs=(MUM_IS, DAD_IS), birth_date=birth_date, municipality_ref="muni:kopavogur",
        coordinator_ref=COORD_IS, coordinator_org_ref=SCHOOL_IS, life_stage="primary",
        conflict_of_interest_declared_none=True, initiated_by="parent"), at(COORD_IS, Role.COORDINATOR, 0,
                                                                            SCHOOL_IS)).case_id
    app.record_integration_request(c.RecordIntegrationRequest(
        case_id=case_id, request_id="request-7", requested_by_refs=(MUM_IS,), requester_roles=("parent",),
        written=True, form_doc_ref="doc:request-form-7"), at(COORD_IS, Role.COORDINATOR, 2, SCHOOL_IS))
    app.record_service(c.RecordService(
        case_id=case_id, service_id="svc-7", provider_org_ref="org:social-kop", service_level=3,
        service_type_code="family_support", start_date=(start + timedelta(days=3)).date()),
        at(COORD_IS, Role.COORDINATOR, 3, SCHOOL_IS))
    app.notify_need_for_case_manager(c.NotifyNeedForCaseManager(case_id=case_id, municipality_ref="muni:kopavogur"),
                                     at(COORD_IS, Role.COORDINATOR, 4, SCHOOL_IS))
    app.appoint_case_manager(c.AppointCaseManager(
        case_id=case_id, case_manager_ref=CM_IS, municipality_ref="muni:kopavogur", org_unit_ref="org:social-kop",
        needs_l2_l3_multilevel=True, long_term=True, works_in_social_services_or_area_of_needs=True),
        at("person:lead-kop", Role.MUNICIPALITY_LEAD, 6, "org:town-hall-kop", "muni:kopavogur"))
    app.establish_support_team(c.EstablishSupportTeam(case_id=case_id, team_id="team-7", members=(
        TeamMember("person:teacher-7", SCHOOL_IS, MemberType.SERVICE_PROVIDER_REP),
        TeamMember(COORD_IS, SCHOOL_IS, MemberType.COORDINATOR))), cm_meta(at, 8))
    return case_id, at


def cm_meta(at: _Clock, day: int) -> CommandMeta:
    return at(CM_IS, Role.CASE_MANAGER, day, "org:social-kop")


def iceland_closure_without_plan(app: Casework) -> UUID:
    """The team ends its work without a support plan, with a written justification (IS-INV-6)."""
    case_id, at = iceland_team(app)
    app.conclude_support_team(c.ConcludeSupportTeam(case_id=case_id, outcome="concluded_without_plan",
                                                    justification_doc_ref="doc:why-no-plan-7"), cm_meta(at, 30))
    return case_id


MUM_NO = "person:parent-no-7"


def norway_refusal(app: Casework) -> UUID:
    """A request assessed as not meeting the conditions, refused in writing with the appeal information."""
    at = _Clock(START, "notifier-no-refusal")
    staff, unit = "person:staff-tromso-1", "org:koordinerende-enhet-tromso"
    case_id = app.request_barnekoordinator(c.RequestBarnekoordinator(
        child_ref="person:child-no-7", parent_refs=(MUM_NO,), birth_date=date(2015, 6, 1),
        municipality_ref="muni:tromso", request_id="no-request-7", channel="written", requested_by_ref=MUM_NO,
        family_status="child_under_18"), at(staff, Role.MUNICIPAL_STAFF, 0, unit, "muni:tromso")).case_id
    app.assess_eligibility(c.AssessEligibility(
        case_id=case_id, criteria=EligibilityCriteria(True, False, True), family_views_doc_ref="doc:views-7",
        child_views_doc_ref="doc:child-views-7"), at(staff, Role.MUNICIPAL_STAFF, 9, unit, "muni:tromso"))
    app.issue_decision(c.IssueDecision(
        case_id=case_id, decision_id="decision-7", decision="refused", written=True,
        justification_doc_ref="doc:refusal-7", appeal_info_included=True,
        delivered_at=START + timedelta(days=12, hours=10)), at(staff, Role.MUNICIPAL_STAFF, 11, unit, "muni:tromso"))
    return case_id
