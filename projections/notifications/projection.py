"""The notifications read model: an outbox of notices to send, and the deadline warnings still to come.

``apply`` is pure (``projections.base``): from one published event and the case's parties it already knows
(``notif_case_parties``, its own table), it returns the rows to write:

* ``outbox``: one row per notice per recipient, keyed ``<event_id>:<recipient>:<kind>`` (or
  ``deadline:<deadline_key>`` for a warning the scheduler moved in). Every insert is ``ON CONFLICT DO
  NOTHING``, so applying an event twice, replaying it into a rebuilt generation or a scheduler restarting
  never makes a second row. The rendered subject and body are stored with the parameters they came from, so
  the delivery worker can re-render in a recipient's preferred language. The delivery columns (``status``,
  ``attempts``, ``next_attempt_at``…) belong to ``services.notifier``, which is the only writer of them.
* ``deadlines``: upcoming warnings, each with its due date, the day to warn (``warn_on``) and a unique
  ``deadline_key``; a later fact cancels them (``status = 'cancelled'``, with the reason) when the duty is
  met or falls away. ``services.notifier.scheduler`` moves due ones into the outbox.

Which notices (domain.md §4): the two mandatory ones (``team_conclusion_notified`` → the recipients the fact
names, i.e. the parents and the case manager; ``barnekoordinator_decision_issued`` → the family: the parents
and whoever consented for the child) at priority 0, and the inferred [I] ones the events support at 1
(tasks, warnings) or 2 (information). Deadlines (domain.md §3): T1 when configured, T4 plan reviews and plan
period, T5 the adult transition plan at 17y0m/17y6m, T10 individual-plan revisions.

T5 precision: the published contracts carry the child's ``birth_year`` only (contracts/events.py explains
why), so the warnings are computed from the *earliest* birthday the year allows (1 January): they may come up
to a year early, never late, and the due date shown is 31 December of the 17th year (the last day that is
before the 18th birthday for every child born that year).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts import events as e
from domain.legal_settings import DEFAULT_LEGAL_SETTINGS, LegalSettings
from projections import dates
from projections.base import ReadView, Statement
from projections.notifications import clock
from projections.notifications import templates as t

PRIORITY_MANDATORY = 0
PRIORITY_TASK = 1
PRIORITY_INFO = 2

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "dead", "undeliverable", "held")

DDL: tuple[str, ...] = (
    f"""CREATE TABLE IF NOT EXISTS outbox (
        notification_key text PRIMARY KEY,
        case_id uuid NOT NULL,
        source text NOT NULL,
        event_id text,
        kind text NOT NULL,
        mandatory boolean NOT NULL,
        priority smallint NOT NULL,
        recipient_ref text NOT NULL,
        jurisdiction text,
        language text NOT NULL,
        params jsonb NOT NULL,
        subject text NOT NULL,
        body text NOT NULL,
        occurred_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ({", ".join(f"'{s}'" for s in OUTBOX_STATUSES)})),
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        claimed_by text,
        send_started_at timestamptz,
        last_attempt_at timestamptz,
        channel text,
        message_id text,
        sent_at timestamptz,
        last_error text
    )""",
    "CREATE INDEX IF NOT EXISTS outbox_claimable ON outbox (priority, next_attempt_at)"
    " WHERE status IN ('pending', 'failed', 'sending')",
    "CREATE INDEX IF NOT EXISTS outbox_case ON outbox (case_id)",
    """CREATE TABLE IF NOT EXISTS deadlines (
        deadline_key text PRIMARY KEY,
        case_id uuid NOT NULL,
        kind text NOT NULL,
        subject_id text NOT NULL,
        origin text NOT NULL,
        recipient_ref text NOT NULL,
        due_on date NOT NULL,
        warn_on date NOT NULL,
        jurisdiction text,
        language text NOT NULL,
        params jsonb NOT NULL,
        subject text NOT NULL,
        body text NOT NULL,
        priority smallint NOT NULL,
        source_event_id text NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'enqueued', 'cancelled')),
        status_reason text,
        enqueued_at timestamptz
    )""",
    "CREATE INDEX IF NOT EXISTS deadlines_due ON deadlines (warn_on) WHERE status = 'pending'",
    # A case's deadlines are cancelled, scrubbed and forgotten by case: without this index each of those scanned the
    # whole table, and a rebuild from 1M stored facts slowed quadratically (bench/rebuild_rate.py, issue 14).
    "CREATE INDEX IF NOT EXISTS deadlines_case ON deadlines (case_id)",
    """CREATE TABLE IF NOT EXISTS notif_case_parties (
        case_id uuid PRIMARY KEY,
        state jsonb NOT NULL
    )""",
)

_INSERT_OUTBOX = (
    "INSERT INTO outbox (notification_key, case_id, source, event_id, kind, mandatory, priority, recipient_ref,"
    " jurisdiction, language, params, subject, body, occurred_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (notification_key) DO NOTHING"
)
_UPSERT_DEADLINE = (
    "INSERT INTO deadlines (deadline_key, case_id, kind, subject_id, origin, recipient_ref, due_on, warn_on,"
    " jurisdiction, language, params, subject, body, priority, source_event_id)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (deadline_key) DO UPDATE SET status = 'pending', status_reason = NULL"
    " WHERE deadlines.status = 'cancelled'"
)
_ZONES = {"IS": "Atlantic/Reykjavik", "NO": "Europe/Oslo"}
_PROFESSIONAL = {"service_provider_rep", "general_service_rep", "coordinator", "case_manager"}


@dataclass
class Parties:
    """Who a case's notices go to, as far as the published facts say (never addresses: see the directory)."""

    jurisdiction: str | None = None
    child_ref: str | None = None
    family_refs: list[str] = field(default_factory=list)
    """IS: the parents. NO: the parents, the requester and whoever gave consent for the child."""
    birth_year: int | None = None
    coordinator_ref: str | None = None
    case_manager_ref: str | None = None
    barnekoordinator_ref: str | None = None
    team: list[tuple[str, str]] = field(default_factory=list)
    """``(person_ref, member_type)`` of the support team's members."""
    transition_plan_adopted: bool = False
    protected: list[str] = field(default_factory=list)
    """SHA-256 of the references of subjects whose identity is protected (never the references themselves): no
    notice names them, and none goes to them (their caseworkers tell them, ACCESS-PRIV-8; docs/privacy.md)."""

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Parties:
        parties = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        parties.team = [(str(p), str(m)) for p, m in parties.team]
        return parties

    def professionals(self) -> list[str]:
        refs = [self.case_manager_ref] if self.case_manager_ref else []
        return _unique([*refs, *(ref for ref, kind in self.team if kind in _PROFESSIONAL)])

    def lead(self) -> str | None:
        return self.case_manager_ref or self.barnekoordinator_ref or self.coordinator_ref


def _unique(refs: Iterable[str | None]) -> list[str]:
    seen: dict[str, None] = {}
    for ref in refs:
        if ref:
            seen.setdefault(ref, None)
    return list(seen)


def add_working_days(start: date, days: int) -> date:
    """``days`` working days (Monday to Friday) after ``start`` (or the calendar's last day, if sooner). Public
    holidays are not known here."""
    current, left = start, days
    while left > 0 and current < date.max:
        current = dates.shift(current, 1)
        if current.weekday() < 5:
            left -= 1
    return current


def add_months(start: date, months: int) -> date | None:
    """``months`` calendar months after ``start`` (the day clipped to 28, enough for the 1st we use); None past
    the calendar's end."""
    year, month = divmod(start.month - 1 + months, 12)
    return dates.calendar_date(start.year + year, month + 1, min(start.day, 28))


def local_date(moment: datetime, jurisdiction: str | None) -> date:
    """The calendar day of ``moment`` where the family lives (UTC when no time-zone data is installed)."""
    try:
        zone = ZoneInfo(_ZONES.get(jurisdiction or "", "UTC"))
    except ZoneInfoNotFoundError:
        return moment.date()
    return dates.local_day(moment, zone)


class NotificationsProjection:
    """The outbox and deadline warnings of domain.md §3 and §4 (see the module docstring)."""

    name: ClassVar[str] = "notifications"
    version: ClassVar[int] = 1
    ddl: ClassVar[tuple[str, ...]] = DDL

    def __init__(self, legal_settings: LegalSettings = DEFAULT_LEGAL_SETTINGS, *,
                 review_warning_days: int = 14) -> None:
        self.legal = legal_settings
        self.review_warning_days = review_warning_days
        """[I] how many days before a plan review (or the end of a plan's period) the lead is warned."""

    # ---- the entry point -----------------------------------------------------------------------------------
    def apply(self, event: e.EventEnvelopeV1, view: ReadView) -> Sequence[Statement]:
        if event.event_type in e.DIRECTORY_EVENT_TYPES:
            return []
        memory = view.remembered(event.case_id)
        if isinstance(event, e.CaseArchivedV1):
            memory["parties"] = Parties()
            return forget_case(event.case_id)
        before = memory.get("parties")
        if before is None:  # not written earlier in this transaction: read the row
            row = view.fetchone("SELECT state FROM notif_case_parties WHERE case_id = %s", (event.case_id,))
            before = Parties.from_json(row[0]) if row else Parties()
        parties = replace(before, family_refs=list(before.family_refs), team=list(before.team),
                          protected=list(before.protected))
        if parties.jurisdiction is None:
            parties.jurisdiction = event.jurisdiction
        out = _Out(self, event, parties)
        self._dispatch(event, parties, out)
        if parties != before:
            out.statements.append(Statement(
                "INSERT INTO notif_case_parties (case_id, state) VALUES (%s, %s)"
                " ON CONFLICT (case_id) DO UPDATE SET state = excluded.state", (event.case_id, parties.to_json())))
        memory["parties"] = parties
        return out.statements

    def _dispatch(self, ev: e.EventEnvelopeV1, p: Parties, out: _Out) -> None:
        if clock.is_clock_fact(ev):  # the law's clock, both laws
            clock.notify(ev, p, out)
        # ---- Iceland --------------------------------------------------------------------------------------
        if isinstance(ev, e.ContactRegisteredV1):
            p.child_ref, p.family_refs, p.birth_year = ev.child_ref, _unique(ev.parent_refs), ev.birth_year
            p.coordinator_ref = ev.coordinator_ref
        elif isinstance(ev, e.InformationSharedWithCoordinatorV1):
            out.notice(t.CONTACT_FAMILY_TASK, [ev.recipient_ref], PRIORITY_TASK,
                       source_org_ref=ev.source_provider_org_ref, summary_doc_ref=ev.summary_doc_ref)
            if self.legal.t1_contact_family_working_days is not None:
                due = add_working_days(out.day, self.legal.t1_contact_family_working_days)
                out.deadline(t.CONTACT_FAMILY_DUE, ev.request_id, "information_shared", [ev.recipient_ref], due, due)
        elif isinstance(ev, e.IntegrationOfferedV1):
            out.cancel("integration offered", kinds=[t.CONTACT_FAMILY_DUE])
        elif isinstance(ev, e.CoordinatorChangedV1):
            out.notice(t.COORDINATOR_CHANGED, [*p.family_refs, ev.from_coordinator_ref, ev.coordinator_ref],
                       PRIORITY_INFO, coordinator_ref=ev.coordinator_ref, coordinator_org_ref=ev.coordinator_org_ref,
                       from_coordinator_ref=ev.from_coordinator_ref)
            p.coordinator_ref = ev.coordinator_ref
        elif isinstance(ev, e.CaseManagerNeedNotifiedV1):
            out.notice(t.CASE_MANAGER_NEEDED, [ev.notified_municipality_ref], PRIORITY_TASK,
                       coordinator_ref=ev.coordinator_ref, rationale_code=ev.rationale_code)
        elif isinstance(ev, e.CaseManagerAppointedV1):
            p.case_manager_ref = ev.case_manager_ref
            out.notice(t.CASE_MANAGER_APPOINTED, [*p.family_refs, p.child_ref, p.coordinator_ref], PRIORITY_INFO,
                       case_manager_ref=ev.case_manager_ref, org_unit_ref=ev.org_unit_ref)
            self._schedule_transition(p, out)
        elif isinstance(ev, e.SupportTeamEstablishedV1):
            p.team = [(m.person_ref, m.member_type.value) for m in ev.members]
            members = ", ".join(ref for ref, _ in p.team)
            out.notice(t.SUPPORT_TEAM_ESTABLISHED, [*(ref for ref, _ in p.team), *p.family_refs], PRIORITY_INFO,
                       team_id=ev.team_id, members=members)
            self._schedule_transition(p, out)
        elif isinstance(ev, e.SupportTeamMemberInvitedV1):
            p.team.append((ev.member.person_ref, ev.member.member_type.value))
            out.notice(t.TEAM_MEMBER_INVITED, [ev.member.person_ref], PRIORITY_INFO, org_ref=ev.member.org_ref or "")
            self._schedule_transition(p, out)
        elif isinstance(ev, e.SupportTeamMemberRemovedV1):
            p.team = [(ref, kind) for ref, kind in p.team if ref != ev.person_ref]
            out.cancel("member removed", kinds=[t.ADULT_TRANSITION_PLAN_DUE], recipient=ev.person_ref)
        elif isinstance(ev, e.TeamMeetingInvitationSentV1):
            out.notice(t.TEAM_MEETING_SCHEDULED, ev.invitee_refs, PRIORITY_INFO, meeting_id=ev.meeting_id,
                       scheduled_for=ev.scheduled_for.isoformat())
        elif isinstance(ev, e.SupportPlanAdoptedV1 | e.SupportPlanRevisedV1):
            out.notice(t.SUPPORT_PLAN_ADOPTED, [*p.family_refs, p.child_ref, *(ref for ref, _ in p.team)],
                       PRIORITY_INFO, plan_id=ev.plan_id, version=str(ev.version))
            self._schedule_plan(ev, p, out)
        elif isinstance(ev, e.SupportPlanEvaluatedV1):
            covered = dates.shift(out.day, self.review_warning_days)
            out.cancel("plan evaluated", kinds=[t.PLAN_REVIEW_DUE], subject_id=ev.plan_id, due_by=covered)
            if ev.next_review_date is not None and ev.outcome.value != "conclude":
                self._review(ev.plan_id, "evaluation", t.PLAN_REVIEW_DUE, ev.next_review_date, p, out)
        elif isinstance(ev, e.AdultTransitionPlanAdoptedV1):
            p.transition_plan_adopted = True
            out.cancel("adult transition plan adopted", kinds=[t.ADULT_TRANSITION_PLAN_DUE])
        elif isinstance(ev, e.SupportTeamConcludedV1):
            out.cancel(f"team concluded: {ev.outcome.value}")
            p.team = []
        elif isinstance(ev, e.TeamConclusionNotifiedV1):
            out.notice(t.TEAM_CONCLUDED_WITHOUT_PLAN, ev.recipient_refs, PRIORITY_MANDATORY, mandatory=True,
                       justification_doc_ref=ev.justification_doc_ref, complaint_body=ev.complaint_body)
        elif isinstance(ev, e.IntegrationRequestWithdrawnV1):
            out.cancel("integration request withdrawn")
        elif isinstance(ev, e.ProcessingStoppedV1):
            out.notice(t.PROCESSING_STOPPED, ev.notified_member_refs, PRIORITY_TASK)
        elif isinstance(ev, e.DomicileChangedV1):
            out.notice(t.DOMICILE_CHANGED, [ev.from_municipality_ref, ev.to_municipality_ref, p.case_manager_ref],
                       PRIORITY_TASK, from_municipality_ref=ev.from_municipality_ref,
                       to_municipality_ref=ev.to_municipality_ref)
        elif isinstance(ev, e.LevelRaisedV1 | e.LevelLoweredV1):
            self._level_without_case_manager(ev, p, out)
        elif isinstance(ev, e.ChildReachedMajorityV1 | e.CaseClosedV1 | e.ConsentWithdrawnV1):
            out.cancel(ev.event_type)
        # ---- the data subject's rights -------------------------------------------------------------------
        elif isinstance(ev, e.IdentityProtectedV1):
            p.protected = _unique([*p.protected, ref_digest(ev.subject_ref)])
            p.family_refs = [ref for ref in p.family_refs if ref != ev.subject_ref]
            if ev.relation == "child":
                p.child_ref, p.birth_year = None, None
            out.statements.extend(mask_subject(ev.case_id, ev.subject_ref))
        elif isinstance(ev, e.IdentityProtectionLiftedV1):
            p.protected = [digest for digest in p.protected if digest != ref_digest(ev.subject_ref)]
            if ev.relation == "child":
                p.child_ref = ev.subject_ref
            else:
                p.family_refs = _unique([*p.family_refs, ev.subject_ref])
        # ---- Norway ---------------------------------------------------------------------------------------
        elif isinstance(ev, e.BarnekoordinatorRequestedV1):
            p.child_ref, p.birth_year = ev.child_ref, ev.birth_year
            p.family_refs = _unique([*ev.parent_refs, ev.requested_by_ref])
        elif isinstance(ev, e.BarnekoordinatorConsentRecordedV1):
            p.family_refs = _unique([*p.family_refs, *ev.given_by_refs])
        elif isinstance(ev, e.BarnekoordinatorDecisionIssuedV1):
            out.notice(t.BARNEKOORDINATOR_DECISION, p.family_refs, PRIORITY_MANDATORY, mandatory=True,
                       decision=ev.decision.value, decision_id=ev.decision_id,
                       justification_doc_ref=ev.justification_doc_ref, legal_basis=ev.legal_basis or "",
                       appeal_body=ev.appeal_body,
                       appeal_deadline=local_date(ev.appeal_deadline, ev.jurisdiction).isoformat(),
                       appeal_deadline_at=ev.appeal_deadline.isoformat(), delivered_at=ev.delivered_at.isoformat())
            if ev.decision.value in {"changed", "terminated"}:
                p.barnekoordinator_ref = None
        elif isinstance(ev, e.BarnekoordinatorAppointedV1):
            p.barnekoordinator_ref = ev.coordinator_ref
        elif isinstance(ev, e.IndividualPlanAdoptedV1):
            out.cancel("individual plan replaced", kinds=[t.INDIVIDUAL_PLAN_REVISION_DUE])
            for revision in ev.content.revision_dates:
                if revision > out.day:
                    self._review(ev.plan_id, "plan_content", t.INDIVIDUAL_PLAN_REVISION_DUE, revision, p, out)
        elif isinstance(ev, e.ComplaintReceivedV1):
            out.notice(t.COMPLAINT_RECEIVED, p.family_refs, PRIORITY_INFO, complaint_id=ev.complaint_id,
                       decision_id=ev.decision_id)
        elif isinstance(ev, e.ComplaintReconsideredV1):
            out.notice(t.COMPLAINT_STATUS, p.family_refs, PRIORITY_INFO, complaint_id=ev.complaint_id,
                       stage="reconsidered", outcome=ev.outcome.value, doc_ref=ev.reasons_doc_ref)
        elif isinstance(ev, e.ComplaintForwardedToStatsforvalterenV1):
            out.notice(t.COMPLAINT_STATUS, p.family_refs, PRIORITY_INFO, complaint_id=ev.complaint_id,
                       stage="forwarded", doc_ref=ev.forwarded_to)
        elif isinstance(ev, e.StatsforvalterenDecisionRecordedV1):
            out.notice(t.COMPLAINT_STATUS, p.family_refs, PRIORITY_INFO, complaint_id=ev.complaint_id,
                       stage="decided", outcome=ev.outcome.value, doc_ref=ev.doc_ref)

    @staticmethod
    def _level_without_case_manager(ev: e.LevelRaisedV1 | e.LevelLoweredV1, p: Parties, out: _Out) -> None:
        """[I] Reaching level 2 or 3 without a case manager tells the domicile municipality (IS-INV-2: the case
        manager is for long-term level 2/3 needs; seed 000), once per level reached (2, then 3): a level lowered
        from 3 to 2 was already told at 3. The coordinator's own notice of the need (``case_manager_needed``) is
        another notice."""
        reached = isinstance(ev, e.LevelRaisedV1) and ev.to_level >= 2
        if p.jurisdiction != "IS" or p.case_manager_ref is not None or not reached:
            return
        out.notice(t.LEVEL_WITHOUT_CASE_MANAGER, [ev.municipality_ref], PRIORITY_TASK,
                   from_level=str(ev.from_level or "-"), to_level=str(ev.to_level), service_id=ev.service_id)

    # ---- deadlines ------------------------------------------------------------------------------------------
    def _schedule_transition(self, p: Parties, out: _Out) -> None:
        """T5: while a support team exists and no adult transition plan is adopted, warn the case manager and
        the team's professionals at 17y0m and 17y6m (``LegalSettings.transition_warning_months``)."""
        if p.jurisdiction != "IS" or p.birth_year is None or p.transition_plan_adopted or not p.team:
            return
        earliest_birthday = dates.calendar_date(p.birth_year, 1, 1)
        due = dates.calendar_date(p.birth_year + self.legal.age_of_majority_years - 1, 12, 31)
        if earliest_birthday is None or due is None:  # a birth year at the calendar's end: no date to warn on
            return
        for months in self.legal.transition_warning_months:
            tag = f"{months // 12}y{months % 12}m"
            warn_on = add_months(earliest_birthday, months)
            if warn_on is not None:
                out.deadline(t.ADULT_TRANSITION_PLAN_DUE, tag, "team", p.professionals(), due, warn_on, warning=tag)

    def _schedule_plan(self, ev: e.SupportPlanAdoptedV1 | e.SupportPlanRevisedV1, p: Parties, out: _Out) -> None:
        """T4: the plan's own review dates and the end of its period. A revision replaces what the earlier
        version scheduled; review dates it carries over that are already past are not warned about again."""
        out.cancel("plan revised", kinds=[t.PLAN_REVIEW_DUE, t.PLAN_PERIOD_ENDS], subject_id=ev.plan_id,
                   origin="plan_content")
        revised = isinstance(ev, e.SupportPlanRevisedV1)
        for review in ev.content.review_dates:
            if not revised or review > out.day:
                self._review(ev.plan_id, "plan_content", t.PLAN_REVIEW_DUE, review, p, out)
        if ev.content.valid_to is not None:
            self._review(ev.plan_id, "plan_content", t.PLAN_PERIOD_ENDS, ev.content.valid_to, p, out)

    def _review(self, plan_id: str, origin: str, kind: str, due: date, p: Parties, out: _Out) -> None:
        out.deadline(kind, plan_id, origin, [p.lead()], due, dates.shift(due, -self.review_warning_days),
                     plan_id=plan_id)


class _Out:
    """The statements one event produces, with the helpers that build them."""

    def __init__(self, projection: NotificationsProjection, event: e.EventEnvelopeV1, parties: Parties) -> None:
        self.event, self.parties, self.statements = event, parties, list[Statement]()
        self.language = t.language_for(event.jurisdiction or parties.jurisdiction)
        self.day = local_date(event.occurred_at, event.jurisdiction)

    def _render(self, kind: str, params: dict[str, str]) -> t.Rendered:
        return t.render(kind, self.language, params)

    def notice(self, kind: str, recipients: Iterable[str | None], priority: int, *, mandatory: bool = False,
               **params: str) -> None:
        ev = self.event
        params = dates.texts({**params, "case_id": str(ev.case_id)})
        for recipient in self._recipients(recipients):
            shown = self._masked(params)
            rendered = self._render(kind, shown)
            self.statements.append(Statement(_INSERT_OUTBOX, (
                f"{ev.event_id}:{recipient}:{kind}", ev.case_id, ev.event_type, ev.event_id, kind, mandatory,
                priority, recipient, ev.jurisdiction, self.language, json.dumps(shown), rendered.subject,
                rendered.body, dates.instant(ev.occurred_at))))

    def deadline(self, kind: str, subject_id: str, origin: str, recipients: Iterable[str | None], due: date,
                 warn_on: date, **params: str) -> None:
        ev = self.event
        params = dates.texts({**params, "due_on": due.isoformat(), "case_id": str(ev.case_id)})
        for recipient in self._recipients(recipients):
            shown = self._masked(params)
            rendered = self._render(kind, shown)
            key = f"{ev.case_id}:{kind}:{subject_id}:{due.isoformat()}:{warn_on.isoformat()}:{recipient}"
            self.statements.append(Statement(_UPSERT_DEADLINE, (
                key, ev.case_id, kind, subject_id, origin, recipient, due, warn_on, ev.jurisdiction, self.language,
                json.dumps(shown), rendered.subject, rendered.body, PRIORITY_TASK, ev.event_id)))

    def _recipients(self, recipients: Iterable[str | None]) -> list[str]:
        protected = set(self.parties.protected)
        return [ref for ref in _unique(recipients) if ref_digest(ref) not in protected]

    def _masked(self, params: dict[str, str]) -> dict[str, str]:
        """A protected subject is named in no notice (ACCESS-PRIV-8: their caseworkers read the case itself)."""
        if not self.parties.protected:
            return params
        return {k: mask_protected(v, frozenset(self.parties.protected)) for k, v in params.items()}

    def cancel(self, reason: str, *, kinds: Sequence[str] | None = None, subject_id: str | None = None,
               origin: str | None = None, recipient: str | None = None, due_by: date | None = None) -> None:
        """Cancel the case's pending warnings (all of them, or those matching every filter given)."""
        conditions, params = ["case_id = %s", "status = 'pending'"], list[Any]([self.event.case_id])
        for column, value in (("subject_id", subject_id), ("origin", origin), ("recipient_ref", recipient)):
            if value is not None:
                conditions.append(f"{column} = %s")
                params.append(value)
        if kinds is not None:
            conditions.append("kind = ANY(%s)")
            params.append(list(kinds))
        if due_by is not None:
            conditions.append("due_on <= %s")
            params.append(due_by)
        self.statements.append(Statement(
            "UPDATE deadlines SET status = 'cancelled', status_reason = %s WHERE " + " AND ".join(conditions),
            [f"{reason} ({self.event.event_id})", *params]))


PROTECTED = "protected"
"""What a notice says instead of a protected subject's reference."""


def _ref_pattern(ref: str) -> str:
    """``ref`` as a whole token (``person:p-1`` but not inside ``person:p-10``), for Python and PostgreSQL alike."""
    return rf"(?<![a-z0-9_:-]){re.escape(ref)}(?![a-z0-9_-])"


_ANY_PERSON = re.compile(r"(?<![a-z0-9_:-])person:[a-z0-9]+(?:[-_][a-z0-9]+)*(?![a-z0-9_-])")


def ref_digest(ref: str) -> str:
    """What the read model keeps of a protected subject: enough to recognise their reference, not to show it."""
    return hashlib.sha256(ref.encode()).hexdigest()


def mask_protected(text: str, digests: frozenset[str]) -> str:
    """``text`` with every person reference whose digest is protected replaced by ``protected``."""
    return _ANY_PERSON.sub(lambda m: PROTECTED if ref_digest(m.group(0)) in digests else m.group(0), text)


def mask_subject(case_id: Any, subject_ref: str) -> list[Statement]:
    """Notices already made about a subject now protected stop naming them to anyone else (outbox and warnings;
    sent rows too: the read model forgets, the notice once sent cannot be recalled)."""
    pattern = _ref_pattern(subject_ref)
    scrub = ("params = regexp_replace(params::text, %(p)s, %(m)s, 'g')::jsonb,"
             " subject = regexp_replace(subject, %(p)s, %(m)s, 'g'), body = regexp_replace(body, %(p)s, %(m)s, 'g')")
    where = " WHERE case_id = %(case)s AND recipient_ref <> %(ref)s"
    params = {"p": pattern, "m": PROTECTED, "case": case_id, "ref": subject_ref}
    return [Statement(f"UPDATE outbox SET {scrub}{where} AND status <> 'sending'", params),
            Statement(f"UPDATE deadlines SET {scrub}{where}", params),
            Statement("DELETE FROM outbox WHERE case_id = %(case)s AND recipient_ref = %(ref)s"
                      " AND status <> 'sending'", params),
            Statement("DELETE FROM deadlines WHERE case_id = %(case)s AND recipient_ref = %(ref)s", params)]


def forget_case(case_id: Any) -> list[Statement]:
    """An archived case: its notices, warnings and parties leave the read model (a row a worker is sending right
    now stays until sent; a case is archived a retention period after it closed, so there is none in practice)."""
    return [Statement("DELETE FROM outbox WHERE case_id = %s AND status <> 'sending'", (case_id,)),
            Statement("DELETE FROM deadlines WHERE case_id = %s", (case_id,)),
            Statement("DELETE FROM notif_case_parties WHERE case_id = %s", (case_id,))]
