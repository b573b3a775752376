"""``DashboardProjection``: each published fact → the statements that update its case's own rows.

Every statement touches only rows of the event's own aggregate (its case, or its institution for the
directory), so the tables come out identical under any interleaving of different cases' facts; counts
are made at query time. Within a case the runtime guarantees version order, so a statement may build
on the case's earlier rows (``INSERT … SELECT`` from them, ``coalesce`` for "first day reached").
``apply`` reads nothing through the view: everything it needs is in the event or in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from contracts import events as ev
from contracts.events import EventEnvelopeV1
from projections.base import ReadView, Statement
from projections.dashboard import deadlines
from projections.dashboard.calendar import local_day
from projections.dashboard.schema import DDL
from projections.dates import bigint, instant

_OPEN_TIMERS = ("T1", "T2", "T3", "T4", "T10")

_NO_STATUS_AFTER_DECISION = {
    "granted": "granted", "refused": "refused", "changed": "granted", "terminated": "terminated",
    "ordinary_coordinator_after_18_granted": "adult_coordinator", "ordinary_coordinator_after_18_refused": "ended",
}
"""The Norwegian state each decision leads to (mirrors ``domain.case_norway.DECISION_LEADS_TO``)."""


def _case(case_id: UUID, day: date, **columns: Any) -> Statement:
    """Set columns of the case row; a value wrapped in :class:`_First` keeps the first day reached."""
    assignments, params = [], []
    for name, value in columns.items():
        if isinstance(value, _First):
            assignments.append(f"{name} = coalesce({name}, %s)")
            params.append(day)
        else:
            assignments.append(f"{name} = %s")
            params.append(value)
    return Statement(f"UPDATE dash_case SET {', '.join(assignments)} WHERE case_id = %s", (*params, case_id))


class _First:
    """Marker: the column keeps the first day the stage was reached (``coalesce``)."""


FIRST = _First()


def _start_timer(event: EventEnvelopeV1, timer: str, *, due_on: date | None = None,
                 institution_column: str | None = None, only_if_none_running: bool = False) -> Statement:
    """A new deadline row for the case, numbered after its earlier ones of the same timer."""
    institution = (f"(SELECT {institution_column} FROM dash_case WHERE case_id = %(case)s)"
                   if institution_column else "NULL")
    guard = " HAVING count(*) FILTER (WHERE outcome IS NULL) = 0" if only_if_none_running else ""
    return Statement(
        "INSERT INTO dash_timer (case_id, timer, seq, institution_ref, started_at, started_on, due_on)"
        f" SELECT %(case)s, %(timer)s, coalesce(max(seq), 0) + 1, {institution}, %(at)s, %(on)s, %(due)s"
        f" FROM dash_timer WHERE case_id = %(case)s AND timer = %(timer)s{guard}",
        {"case": event.case_id, "timer": timer, "at": instant(event.occurred_at),
         "on": local_day(event.occurred_at, event.jurisdiction), "due": due_on})


def _stop_timers(event: EventEnvelopeV1, timers: Sequence[str], outcome: str,
                 institution_ref: str | None = None) -> Statement:
    """End the case's running deadlines of the given timers with ``outcome``."""
    return Statement(
        "UPDATE dash_timer SET stopped_at = %s, stopped_on = %s, outcome = %s,"
        " institution_ref = coalesce(%s, institution_ref)"
        " WHERE case_id = %s AND timer = ANY(%s) AND outcome IS NULL",
        (instant(event.occurred_at), local_day(event.occurred_at, event.jurisdiction), outcome, institution_ref,
         event.case_id, list(timers)))


def _first_due(review_dates: Sequence[date], fallback: date | None, adopted_on: date) -> date | None:
    """The plan's next review: its earliest review date not already past at adoption, else the end of its
    validity (as the domain's ``next_review`` does)."""
    return min((d for d in review_dates if d >= adopted_on), default=fallback)


class DashboardProjection:
    """Rows for the dashboards of domain.md §6 (see :mod:`projections.dashboard.schema`)."""

    name: ClassVar[str] = "dashboard"
    version: ClassVar[int] = 3
    """2: total over every recorded fact (``projections.dates``); versions and episodes in ``bigint`` columns.
    3: ``dash_deadline``, the law's clock's facts (a deployed generation gets the table by ``prosperity rebuild
    dashboard``: a generation's tables are created with it)."""
    ddl: ClassVar[tuple[str, ...]] = DDL

    def apply(self, event: EventEnvelopeV1, view: ReadView) -> Sequence[Statement]:
        day = local_day(event.occurred_at, event.jurisdiction)
        if isinstance(event, ev.InstitutionRegisteredV1 | ev.CoordinatorDesignatedV1
                      | ev.CoordinatorDesignationWithdrawnV1):
            return self._directory(event, day)
        memory = view.remembered(event.case_id)
        if isinstance(event, ev.ContactRegisteredV1 | ev.BarnekoordinatorRequestedV1):
            memory["municipality_ref"] = event.municipality_ref
            return [self._open_case(event, day)]
        # The envelope names the municipality responsible after each fact (it changes on domicile_changed): the
        # row follows it, written only when it differs (from what this transaction wrote, then in the row itself).
        placed = []
        if memory.get("municipality_ref") != event.municipality_ref:
            memory["municipality_ref"] = event.municipality_ref
            placed.append(Statement("UPDATE dash_case SET municipality_ref = %s WHERE case_id = %s"
                                    " AND municipality_ref IS DISTINCT FROM %s",
                                    (event.municipality_ref, event.case_id, event.municipality_ref)))
        return [*placed, *self._iceland(event, day), *self._norway(event, day), *self._either(event, day),
                *deadlines.statements(event, day)]

    # ---- opening facts and the directory -------------------------------------------------------------
    @staticmethod
    def _open_case(event: ev.ContactRegisteredV1 | ev.BarnekoordinatorRequestedV1, day: date) -> Statement:
        iceland = isinstance(event, ev.ContactRegisteredV1)
        return Statement(
            "INSERT INTO dash_case (case_id, jurisdiction, municipality_ref, child_ref, episode, birth_year,"
            " opened_on, status, coordinator_ref, coordinator_org_ref) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (event.case_id, event.jurisdiction, event.municipality_ref, event.child_ref, bigint(event.episode),
             event.birth_year, day, "contact" if iceland else "requested",
             event.coordinator_ref if isinstance(event, ev.ContactRegisteredV1) else None,
             event.coordinator_org_ref if isinstance(event, ev.ContactRegisteredV1) else None))

    @staticmethod
    def _directory(event: ev.InstitutionRegisteredV1 | ev.CoordinatorDesignatedV1
                   | ev.CoordinatorDesignationWithdrawnV1, day: date) -> list[Statement]:
        match event:
            case ev.InstitutionRegisteredV1():
                return [Statement(
                    "INSERT INTO dash_institution (institution_id, org_ref, institution_type, municipality_ref,"
                    " jurisdiction, registered_on) VALUES (%s, %s, %s, %s, %s, %s)",
                    (event.case_id, event.org_ref, event.institution_type.value, event.municipality_ref,
                     event.jurisdiction, day))]
            case ev.CoordinatorDesignatedV1():
                return [Statement("INSERT INTO dash_designation (institution_id, seq, person_ref, designated_on)"
                                  " VALUES (%s, %s, %s, %s)", (event.case_id, event.case_version,
                                                               event.person_ref, day))]
            case ev.CoordinatorDesignationWithdrawnV1():
                return [Statement("UPDATE dash_designation SET withdrawn_on = %s WHERE institution_id = %s"
                                  " AND person_ref = %s AND withdrawn_on IS NULL",
                                  (day, event.case_id, event.person_ref))]
        return []

    # ---- Iceland (Act 86/2021) -----------------------------------------------------------------------
    @staticmethod
    def _iceland(event: EventEnvelopeV1, day: date) -> list[Statement]:
        cid = event.case_id
        match event:
            case ev.InformationSharingRequestSignedV1():
                return [_case(cid, day, info_request_on=FIRST)]
            case ev.InformationSharedWithCoordinatorV1():
                return [_case(cid, day, info_shared_on=FIRST),
                        _start_timer(event, "T1", institution_column="coordinator_org_ref",
                                     only_if_none_running=True)]
            case ev.IntegrationOfferedV1():
                return [_case(cid, day, offered_on=FIRST), _stop_timers(event, ["T1"], "met")]
            case ev.IntegrationRequestedV1():
                return [_case(cid, day, integration_requested_on=FIRST, status="integration_active_l1",
                              track="coordinator_led")]
            case ev.IntegrationRequestWithdrawnV1():
                return [_case(cid, day, status="withdrawn", closed_on=day, closure_outcome="withdrawn"),
                        _stop_timers(event, _OPEN_TIMERS, "cancelled")]
            case ev.CoordinatorChangedV1():
                return [_case(cid, day, coordinator_ref=event.coordinator_ref,
                              coordinator_org_ref=event.coordinator_org_ref)]
            case ev.InitialAssessmentArrangedV1() | ev.Level1PlanRecordedV1():
                return [_case(cid, day, level1_started_on=FIRST)]
            case ev.ServiceRecordedV1():
                return [_case(cid, day, level1_started_on=FIRST), Statement(
                    "INSERT INTO dash_service (case_id, service_id, provider_org_ref, service_level,"
                    " service_type_code, start_date) VALUES (%s, %s, %s, %s, %s, %s)",
                    (cid, event.service_id, event.provider_org_ref, event.service_level, event.service_type_code,
                     event.start_date))]
            case ev.ServiceEndedV1():
                return [Statement("UPDATE dash_service SET end_date = %s WHERE case_id = %s AND service_id = %s",
                                  (event.end_date, cid, event.service_id))]
            case ev.CaseManagerNeedNotifiedV1():
                return [_case(cid, day, case_manager_notified_on=FIRST, status="awaiting_case_manager"),
                        _start_timer(event, "T2", only_if_none_running=True)]
            case ev.CaseManagerAppointedV1():
                return [Statement(
                    "UPDATE dash_case SET case_manager_appointed_on = coalesce(case_manager_appointed_on, %s),"
                    " case_manager_ref = %s, case_manager_org_ref = %s, track = 'case_manager_led',"
                    " status = CASE WHEN status = 'awaiting_case_manager' THEN 'team_forming' ELSE status END"
                    " WHERE case_id = %s", (day, event.case_manager_ref, event.org_unit_ref, cid)),
                    _stop_timers(event, ["T2"], "met", institution_ref=event.org_unit_ref)]
            case ev.SupportTeamEstablishedV1():
                return [_case(cid, day, team_established_on=FIRST, status="team_active_no_plan"),
                        _start_timer(event, "T3", institution_column="case_manager_org_ref")]
            case ev.SupportPlanAdoptedV1():
                return [_case(cid, day, plan_adopted_on=FIRST, plan_id=event.plan_id, plan_version=event.version,
                              status="plan_active"),
                        _stop_timers(event, ["T3"], "met"), *_review(event)]
            case ev.SupportPlanEvaluatedV1():
                stops = [_stop_timers(event, ["T4"], "met")]
                if event.next_review_date is None:
                    return stops
                return [*stops, _start_timer(event, "T4", due_on=event.next_review_date,
                                             institution_column="case_manager_org_ref")]
            case ev.SupportPlanRevisedV1():
                return [_case(cid, day, plan_version=event.version),
                        _stop_timers(event, ["T4"], "superseded"), *_review(event)]
            case ev.AdultTransitionPlanAdoptedV1():
                return [_case(cid, day, transition_plan_on=FIRST)]
            case ev.SupportTeamConcludedV1():
                outcome = event.outcome.value
                if outcome == "referred_back_to_coordinator":
                    return [_case(cid, day, team_concluded_on=day, team_outcome=outcome,
                                  status="integration_active_l1", track="coordinator_led", plan_id=None,
                                  plan_version=None),
                            _stop_timers(event, ["T3", "T4"], "cancelled")]
                status = "closed_without_plan" if outcome == "concluded_without_plan" else "closed"
                return [_case(cid, day, team_concluded_on=day, team_outcome=outcome, status=status, closed_on=day,
                              closure_outcome=outcome),
                        _stop_timers(event, _OPEN_TIMERS, "cancelled")]
            case ev.ComplaintLodgedV1():
                return [Statement(
                    "INSERT INTO dash_complaint (case_id, complaint_id, jurisdiction, subject, complainant_capacity,"
                    " lodged_on) VALUES (%s, %s, %s, %s, %s, %s)",
                    (cid, event.complaint_id, event.jurisdiction, event.subject.value,
                     event.complainant_capacity.value, day))]
            case ev.ComplaintOutcomeRecordedV1():
                return [_complaint(event, outcome_on=day)]
        return []

    # ---- Norway (barnekoordinator) -------------------------------------------------------------------
    @staticmethod
    def _norway(event: EventEnvelopeV1, day: date) -> list[Statement]:
        cid = event.case_id
        match event:
            case ev.BarnekoordinatorEligibilityAssessedV1():
                return [_case(cid, day, assessed_on=FIRST, status="assessed")]
            case ev.BarnekoordinatorDecisionIssuedV1():
                decision = event.decision.value
                status = _NO_STATUS_AFTER_DECISION[decision]
                ended = status == "ended"
                columns: dict[str, Any] = {"last_decision": decision, "status": status,
                                           "closed_on": day if ended else None,
                                           "closure_outcome": "ended" if ended else None}
                if decision == "granted":
                    columns["granted_on"] = FIRST
                if decision == "refused":
                    columns["refused_on"] = FIRST
                if decision in {"changed", "terminated"}:
                    columns["barnekoordinator_ref"] = None
                statements = [_case(cid, day, **columns)]
                if decision in {"changed", "terminated"} or ended:
                    statements.append(_stop_timers(event, ["T10"], "cancelled"))
                return statements
            case ev.BarnekoordinatorConsentRecordedV1():
                return [_case(cid, day, consented_on=FIRST)]
            case ev.BarnekoordinatorAppointedV1():
                return [_case(cid, day, barnekoordinator_appointed_on=FIRST, barnekoordinator_ref=event.coordinator_ref,
                              barnekoordinator_unit_ref=event.unit_ref, status="active")]
            case ev.IndividualPlanAdoptedV1():
                content = event.content
                due = _first_due(content.revision_dates, content.plan_period_to, day)
                statements = [_case(cid, day, individual_plan_on=FIRST, plan_id=event.plan_id),
                              _stop_timers(event, ["T10"], "superseded")]
                if due is not None:
                    statements.append(_start_timer(event, "T10", due_on=due,
                                                   institution_column="barnekoordinator_unit_ref"))
                return statements
            case ev.ComplaintReceivedV1():
                # the subject of a Norwegian complaint is its ground (seed 002); none on one recorded before grounds
                ground = None if event.ground is None else event.ground.value
                return [Statement(
                    "INSERT INTO dash_complaint (case_id, complaint_id, jurisdiction, subject, decision_id,"
                    " within_deadline, lodged_on) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (cid, event.complaint_id, event.jurisdiction, ground, event.decision_id, event.within_deadline,
                     day))]
            case ev.ComplaintReconsideredV1():
                return [_complaint(event, reconsidered_on=day,
                                   reconsideration_outcome=event.outcome.value)]
            case ev.ComplaintForwardedToStatsforvalterenV1():
                return [_complaint(event, forwarded_on=day)]
            case ev.StatsforvalterenDecisionRecordedV1():
                return [_complaint(event, decided_on=day, statsforvalteren_outcome=event.outcome.value)]
        return []

    # ---- both laws -----------------------------------------------------------------------------------
    @staticmethod
    def _either(event: EventEnvelopeV1, day: date) -> list[Statement]:
        cid = event.case_id
        match event:
            case ev.ChildReachedMajorityV1() if event.jurisdiction == "NO":
                # An active barnekoordinator case goes on to the ordinary-coordinator assessment; others end.
                return [Statement(
                    "UPDATE dash_case SET"
                    " closed_on = CASE WHEN status = 'active' THEN closed_on ELSE %s END,"
                    " closure_outcome = CASE WHEN status = 'active' THEN closure_outcome ELSE 'majority' END,"
                    " status = CASE WHEN status = 'active' THEN 'ordinary_coordinator_assessment' ELSE 'ended' END"
                    " WHERE case_id = %s", (day, cid)),
                    Statement("UPDATE dash_timer SET stopped_at = %s, stopped_on = %s, outcome = 'cancelled'"
                              " WHERE case_id = %s AND outcome IS NULL AND EXISTS (SELECT 1 FROM dash_case"
                              " WHERE case_id = %s AND status = 'ended')", (instant(event.occurred_at), day, cid, cid))]
            case ev.ChildReachedMajorityV1():
                return [_case(cid, day, status="closed", closed_on=day, closure_outcome="majority"),
                        _stop_timers(event, _OPEN_TIMERS, "cancelled")]
            case ev.CaseClosedV1():
                return [_case(cid, day, status="closed", closed_on=day, closure_outcome="case_closed",
                              closure_reason=event.closure_reason),
                        _stop_timers(event, _OPEN_TIMERS, "cancelled")]
        return _forgetting(event)


def _forgetting(event: EventEnvelopeV1) -> list[Statement]:
    """Read models forget (docs/privacy.md): an archived case keeps its dates and outcomes for the statistics but
    no reference to a person (``archived:<case id>`` stands for the child, so distinct-child counts still hold);
    a protected child is ``protected:<case id>`` without a birth year until the protection is lifted (the ref comes
    back from the fact; the birth year only with the facts that carry it, i.e. never: the cautious side)."""
    cid = event.case_id
    match event:
        case ev.CaseArchivedV1():
            return [Statement(
                "UPDATE dash_case SET child_ref = 'archived:' || case_id::text, birth_year = NULL,"
                " coordinator_ref = NULL, case_manager_ref = NULL, barnekoordinator_ref = NULL WHERE case_id = %s",
                (cid,))]
        case ev.IdentityProtectedV1(relation="child"):
            return [Statement("UPDATE dash_case SET child_ref = 'protected:' || case_id::text, birth_year = NULL"
                              " WHERE case_id = %s AND child_ref NOT LIKE 'archived:%%'", (cid,))]
        case ev.IdentityProtectionLiftedV1(relation="child"):
            return [Statement("UPDATE dash_case SET child_ref = %s WHERE case_id = %s"
                              " AND child_ref LIKE 'protected:%%'", (event.subject_ref, cid))]
    return []


def _review(event: ev.SupportPlanAdoptedV1 | ev.SupportPlanRevisedV1) -> list[Statement]:
    """The review a new plan version is due for (T4), if it names one."""
    due = _first_due(event.content.review_dates, event.content.valid_to, local_day(event.occurred_at,
                                                                                    event.jurisdiction))
    if due is None:
        return []
    return [_start_timer(event, "T4", due_on=due, institution_column="case_manager_org_ref")]


def _complaint(event: ev.ComplaintOutcomeRecordedV1 | ev.ComplaintReconsideredV1
               | ev.ComplaintForwardedToStatsforvalterenV1 | ev.StatsforvalterenDecisionRecordedV1,
               **columns: Any) -> Statement:
    assignments = ", ".join(f"{name} = %s" for name in columns)
    return Statement(f"UPDATE dash_complaint SET {assignments} WHERE case_id = %s AND complaint_id = %s",
                     (*columns.values(), event.case_id, event.complaint_id))
