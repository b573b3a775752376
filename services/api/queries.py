"""The read side of the HTTP API: a case, the coordinator directory, the dashboards and the audit questions.

* ``GET /v1/cases/{case_id}``: the case now, from its aggregate (the event store, never stale), for the people
  related to it (``services.api.access``); every such read, and every audit read of one case, is recorded with
  the caller's stated purpose (``X-Purpose``, required).
* ``GET /v1/me/caseload``: the caller's open cases (coordinator, case manager, barnekoordinator) and their next
  deadlines, from the dashboard read model; one read-log entry per case returned.
* ``GET /v1/institutions/{org_ref}``: the coordinator directory ("who is the coordinator of this institution").
* ``GET /v1/dashboards/...``: the dashboard read model (``projections.dashboard``), for the municipality and
  supervisors; ``/v1/dashboards/national`` is the suppressed national aggregate.
* ``GET /v1/audit/...``: the audit read model (``projections.audit``) and time travel, for supervisors only,
  and the read-access log itself.

Read models are read through ``ReadModelStore.reading()`` on their serving generation; until a projection has
been built (no registry, no serving generation) the answer is a 503 problem "read model not built".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, Literal
from uuid import UUID

import psycopg
from fastapi import Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool
from pydantic import AwareDatetime, TypeAdapter

from domain.errors import InvalidValue
from domain.values import Actor
from projections.audit import queries as audit_q
from projections.audit.projection import AuditProjection
from projections.dashboard import oversight
from projections.dashboard import queries as dash_q
from projections.dashboard.projection import DashboardProjection
from services.api import models as m
from services.api.access import (
    Purpose,
    ReadKind,
    ReadLog,
    RelationshipMissing,
    authorize_read,
    require_relationship,
)
from services.api.idempotency import connection_kwargs
from services.api.identity import TokenVerifier, Unauthenticated
from services.api.problems import PROBLEM_JSON, Problem, problem
from services.audit.time_travel import case_as_of
from services.casework.application import Casework
from services.consumers.store import ReadModelStore

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_STATUS_TEXT = {401: "No or invalid bearer token", 403: "The caller's role or relationship does not allow this read",
                404: "No such case or institution", 422: "Malformed request: each parameter and the rule it breaks",
                503: "The read model has not been built yet (run its consumer or a rebuild); retry later"}
EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
MUNI_PATTERN = r"^muni:[A-Za-z0-9._-]{1,80}$"
ORG_PATTERN = r"^org:[A-Za-z0-9._-]{1,80}$"


class ReadModelNotBuilt(Exception):
    """The projection has no serving generation yet (503)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"The {name} read model has not been built yet; start its consumer or rebuild it.")


class ReadModels:
    """The dashboard and audit read models, beside the event store (same database, base schema)."""

    def __init__(self, env: Mapping[str, str | None]) -> None:
        self.dsn = make_conninfo(**{k: v for k, v in connection_kwargs(env).items() if v})
        self.base_schema = env.get("POSTGRES_SCHEMA") or "public"
        self.stores: dict[str, ReadModelStore] = {}

    def open(self) -> None:
        self.stores = {"dashboard": ReadModelStore(self.dsn, DashboardProjection(), base_schema=self.base_schema),
                       "audit": ReadModelStore(self.dsn, AuditProjection(), base_schema=self.base_schema)}

    def close(self) -> None:
        for store in self.stores.values():
            store.close()
        self.stores = {}

    @contextmanager
    def reading(self, name: str) -> Iterator[psycopg.Cursor[Any]]:
        store = self.stores[name]
        try:
            generation = store.serving()
        except (LookupError, psycopg.errors.UndefinedTable) as error:
            raise ReadModelNotBuilt(name) from error
        with store.reading(generation) as cursor:
            yield cursor

_SNAPSHOT = TypeAdapter(m.CaseSnapshotView)
"""Serialises a time-travel snapshot (a dataclass) the way its published response model does."""


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem, "description": _STATUS_TEXT[status],
                     "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}} for status in statuses}


def _day(name: str, value: date | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    if not EARLIEST <= value <= LATEST:
        raise InvalidValue(name, f"must be between {EARLIEST} and {LATEST}")
    return value


def _period(start: date | None, end: date | None) -> dash_q.Period:
    first = dash_q.ALL_TIME[0] if start is None else _day("from", start)
    last = dash_q.ALL_TIME[1] if end is None else _day("to", end)
    if first > last:
        raise InvalidValue("to", "must not be before from")
    return first, last


def case_summary(case: Any) -> m.CaseSummary:
    """The case aggregate (either law) as its published summary."""
    norway = str(case.jurisdiction) == "NO"
    team: dict[str, Any] = getattr(case, "team_members", {}) or {}
    if norway:
        complaints = [m.ComplaintView(complaint_id=cid, stage=str(stage), decision_id=decision)
                      for cid, (decision, stage) in case.complaints.items()]
        decisions = [m.DecisionView(decision_id=did, decision=str(decision), appeal_deadline=deadline)
                     for did, (decision, deadline) in case.decisions.items()]
        basis = case.consent_id is not None
    else:
        complaints = [m.ComplaintView(complaint_id=cid, stage="outcome_recorded" if done else "lodged")
                      for cid, done in case.complaints.items()]
        decisions = []
        basis = bool(case.request_active)
    track = getattr(case, "track", None)
    return m.CaseSummary(
        case_id=case.id, jurisdiction="NO" if norway else "IS", status=str(case.status), version=case.version,
        episode=case.episode, child_ref=case.child_ref, parent_refs=list(case.parent_refs),
        municipality_ref=case.municipality_ref, closed_on=case.closed_on,
        coordinator_ref=getattr(case, "coordinator_ref", None),
        coordinator_org_ref=getattr(case, "coordinator_org_ref", None),
        case_manager_ref=getattr(case, "case_manager_ref", None), track=None if track is None else str(track),
        team_id=getattr(case, "team_id", None),
        team_members=[m.TeamMemberView(person_ref=p, member_type=str(t)) for p, t in team.items()],
        plan_id=getattr(case, "plan_id", None), plan_version=getattr(case, "plan_version", None),
        next_review=getattr(case, "next_review", None),
        transition_plan_adopted_on=getattr(case, "transition_plan_adopted_on", None),
        highest_level=getattr(case, "highest_level", None), basis_active=basis, decisions=decisions,
        complaints=complaints)


def install_queries(api: FastAPI, app: Casework, verifier: TokenVerifier, bearer: HTTPBearer,
                    pool: ConnectionPool[Any], read_models: ReadModels) -> ReadLog:
    """Add the read endpoints to ``api``; returns the read-access log (its table is created at startup)."""
    read_log = ReadLog(pool, app.env.get("POSTGRES_SCHEMA"))

    async def not_built(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ReadModelNotBuilt)
        return problem(503, "read-model-not-built", "Read model not built", str(error), read_model=error.name,
                       headers={"Retry-After": "30"})

    async def no_relationship(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RelationshipMissing)
        return problem(403, "relationship-missing", "You have no relationship with this case", str(error),
                       case_id=str(error.case_id), role=error.role.value, required_relationships=list(error.required))

    api.add_exception_handler(ReadModelNotBuilt, not_built)
    api.add_exception_handler(RelationshipMissing, no_relationship)
    thresholds = dash_q.Thresholds.from_legal_settings(app.legal_settings)

    def caller(kind: ReadKind, operation: str) -> Callable[..., Actor]:
        def dependency(request: Request,
                       credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
                       ) -> Actor:
            if credentials is None:
                raise Unauthenticated("A bearer token is required (Authorization: Bearer <jwt>).")
            actor = verifier.actor(credentials.credentials)
            request.state.actor = actor
            authorize_read(actor, kind, operation)
            return actor
        return dependency

    def record(request: Request, actor: Actor, case_id: UUID, resource: str, purpose: Purpose) -> None:
        read_log.record(actor, case_id, resource, purpose, getattr(request.state, "correlation_id", None))

    case_reader = Depends(caller(ReadKind.CASE, "a case"))
    directory_reader = Depends(caller(ReadKind.DIRECTORY, "the coordinator directory"))
    dashboard_reader = Depends(caller(ReadKind.DASHBOARD, "the dashboards"))
    national_reader = Depends(caller(ReadKind.NATIONAL, "the national aggregate"))
    audit_reader = Depends(caller(ReadKind.AUDIT, "the audit trail and the read-access log"))
    caseload_reader = Depends(caller(ReadKind.CASELOAD, "a caseload"))
    purpose_header = Header(alias="X-Purpose", description="Why the case is read; recorded in the read-access log.")
    case_path = Path(description="The case id.")
    org_path = Path(pattern=ORG_PATTERN, description="The institution's organisation ref.")
    as_of_query = Query(None, description="The day (inclusive); today (UTC) when absent.")
    muni_query = Query(None, pattern=MUNI_PATTERN, description="Only this municipality (the case's current one).")
    from_query = Query(None, alias="from", description="First day of the period (inclusive).")
    to_query = Query(None, alias="to", description="Last day of the period (inclusive).")

    # ---- a case, the directory ------------------------------------------------------------------------------
    @api.get("/v1/cases/{case_id}", tags=["cases"], summary="A case as it stands now",
             response_model=m.CaseSummary, responses=responses(401, 403, 404, 422), operation_id="get_case")
    def get_case(request: Request, case_id: UUID = case_path, purpose: Purpose = purpose_header,
                 actor: Actor = case_reader,
                 ) -> JSONResponse:
        """For the case's coordinator, case manager, current team members and targets of an active
        information-sharing request, and for its family. The read is recorded with its purpose."""
        case = app.get_case(case_id)
        require_relationship(actor, case)
        record(request, actor, case_id, "case", purpose)
        summary = case_summary(case)
        return JSONResponse(summary.model_dump(mode="json"), headers={"ETag": f'"{summary.version}"'})

    @api.get("/v1/institutions/{org_ref}", tags=["directory"], summary="An institution and its coordinators",
             response_model=m.InstitutionView, responses=responses(401, 403, 404, 422),
             operation_id="get_institution")
    def get_institution(org_ref: str = org_path,
                        actor: Actor = directory_reader,
                        ) -> m.InstitutionView:
        """The coordinator directory: who the designated coordinators of an institution are."""
        institution = app.get_institution(org_ref)
        return m.InstitutionView(org_ref=institution.org_ref, institution_type=str(institution.institution_type),
                                 municipality_ref=institution.municipality_ref,
                                 jurisdiction="NO" if str(institution.jurisdiction) == "NO" else "IS",
                                 coordinators=list(institution.coordinators), version=institution.version)

    # ---- my caseload ---------------------------------------------------------------------------------------------
    @api.get("/v1/me/caseload", tags=["cases"], summary="My open cases and their next deadlines",
             response_model=list[m.MyCaseView], responses=responses(401, 403, 422, 503), operation_id="my_caseload")
    def my_caseload(request: Request, purpose: Purpose = purpose_header, as_of: date | None = as_of_query,
                    actor: Actor = caseload_reader) -> list[m.MyCaseView]:
        """The open cases where the caller is the coordinator, case manager or barnekoordinator (from the
        dashboard read model), the earliest next deadline first. Each case returned is a read of its data,
        recorded in the read-access log with the stated purpose."""
        with read_models.reading("dashboard") as cur:
            rows = dash_q.my_caseload(cur, person_ref=actor.person_ref, as_of=_day("as_of", as_of))
        for row in rows:
            record(request, actor, UUID(row.case_id), "caseload", purpose)
        return list(rows)

    # ---- dashboards ----------------------------------------------------------------------------------------------
    dashboard: dict[str, Any] = {"tags": ["dashboards"], "responses": responses(401, 403, 422, 503)}

    @api.get("/v1/dashboards/services-by-level", summary="Children and services by level",
             response_model=list[m.LevelCount], operation_id="services_by_level", **dashboard)
    def services_by_level(as_of: date | None = as_of_query,
                          by: Literal["municipality", "institution", "age_band"] = "municipality",
                          municipality_ref: str | None = muni_query,
                          _: Actor = dashboard_reader) -> list[m.LevelCount]:
        with read_models.reading("dashboard") as cur:
            rows = dash_q.services_by_level(cur, as_of=_day("as_of", as_of), by=by, municipality_ref=municipality_ref)
        return list(rows)

    @api.get("/v1/dashboards/timeliness", summary="T1-T4: medians, 90th percentiles, breaches",
             response_model=list[m.Timeliness], operation_id="timeliness", **dashboard)
    def timeliness(as_of: date | None = as_of_query, by: Literal["municipality", "institution"] = "municipality",
                   period_from: date | None = from_query, period_to: date | None = to_query,
                   municipality_ref: str | None = muni_query,
                   _: Actor = dashboard_reader) -> list[m.Timeliness]:
        period = _period(period_from, period_to)
        with read_models.reading("dashboard") as cur:
            rows = dash_q.timeliness(cur, as_of=_day("as_of", as_of), thresholds=thresholds, period=period, by=by,
                                     municipality_ref=municipality_ref)
        return list(rows)

    @api.get("/v1/dashboards/plans-due", summary="Plans due for review or overdue",
             response_model=list[m.PlanReview], operation_id="plans_due", **dashboard)
    def plans_due(as_of: date | None = as_of_query, horizon_days: int = Query(30, ge=0, le=366),
                  municipality_ref: str | None = muni_query,
                  _: Actor = dashboard_reader) -> list[m.PlanReview]:
        with read_models.reading("dashboard") as cur:
            rows = dash_q.plans_due_and_overdue(cur, as_of=_day("as_of", as_of), horizon_days=horizon_days,
                                                municipality_ref=municipality_ref)
        return list(rows)

    @api.get("/v1/dashboards/transition-watch", summary="Children near 18 without an adult transition plan",
             response_model=list[m.TransitionWatch], operation_id="transition_watch", **dashboard)
    def transition_watch(as_of: date | None = as_of_query, municipality_ref: str | None = muni_query,
                         _: Actor = dashboard_reader) -> list[m.TransitionWatch]:
        with read_models.reading("dashboard") as cur:
            rows = dash_q.transition_watch(cur, as_of=_day("as_of", as_of), municipality_ref=municipality_ref)
        return list(rows)

    @api.get("/v1/dashboards/closures-without-plan", summary="Support teams concluded without a plan",
             response_model=list[m.ClosuresWithoutPlanCount], operation_id="dashboard_closures_without_plan",
             **dashboard)
    def closures_without_plan(period_from: date | None = from_query, period_to: date | None = to_query,
                              municipality_ref: str | None = muni_query,
                              _: Actor = dashboard_reader) -> list[m.ClosuresWithoutPlanCount]:
        period = _period(period_from, period_to)
        with read_models.reading("dashboard") as cur:
            rows = oversight.closures_without_plan(cur, period=period, municipality_ref=municipality_ref)
        return list(rows)

    @api.get("/v1/dashboards/complaints", summary="Complaints by stage",
             response_model=list[m.ComplaintStageCount], operation_id="dashboard_complaints", **dashboard)
    def complaints(as_of: date | None = as_of_query, municipality_ref: str | None = muni_query,
                   _: Actor = dashboard_reader) -> list[m.ComplaintStageCount]:
        with read_models.reading("dashboard") as cur:
            rows = oversight.complaints_by_stage(cur, as_of=_day("as_of", as_of), municipality_ref=municipality_ref)
        return [m.ComplaintStageCount.model_validate(row) for row in rows]

    @api.get("/v1/dashboards/caseload", summary="Open cases per case manager or barnekoordinator",
             response_model=list[m.Caseload], operation_id="caseload", **dashboard)
    def caseload(municipality_ref: str | None = muni_query, _: Actor = dashboard_reader) -> list[m.Caseload]:
        with read_models.reading("dashboard") as cur:
            rows = oversight.caseload_per_case_manager(cur, municipality_ref=municipality_ref)
        return list(rows)

    @api.get("/v1/dashboards/coordinator-coverage", summary="Designated coordinators per institution",
             response_model=list[m.Coverage], operation_id="coordinator_coverage", **dashboard)
    def coordinator_coverage(as_of: date | None = as_of_query, municipality_ref: str | None = muni_query,
                             _: Actor = dashboard_reader) -> list[m.Coverage]:
        with read_models.reading("dashboard") as cur:
            rows = oversight.coordinator_coverage(cur, as_of=_day("as_of", as_of), municipality_ref=municipality_ref)
        return list(rows)

    @api.get("/v1/dashboards/national", tags=["dashboards"], summary="National aggregate (small cells suppressed)",
             response_model=list[m.NationalCell], responses=responses(401, 403, 422, 503),
             operation_id="national_aggregate")
    def national(as_of: date | None = as_of_query,
                 _: Actor = national_reader,
                 ) -> list[m.NationalCell]:
        """Counts per municipality, level and age band; 1-4 published as "<5"; never row level."""
        with read_models.reading("dashboard") as cur:
            rows = dash_q.national_aggregates(cur, as_of=_day("as_of", as_of))
        return list(rows)

    # ---- audit -------------------------------------------------------------------------------------------------
    audit: dict[str, Any] = {"tags": ["audit"], "responses": responses(401, 403, 422, 503)}
    audit_case: dict[str, Any] = {"tags": ["audit"], "responses": responses(401, 403, 404, 422, 503)}

    @api.get("/v1/audit/cases/{case_id}/trail", summary="A case's hash-chained audit trail",
             response_model=list[m.AuditEntryView], operation_id="audit_trail", **audit_case)
    def trail(request: Request, case_id: UUID = case_path, purpose: Purpose = purpose_header,
              up_to_version: int | None = Query(None, ge=1, le=1_000_000_000),
              actor: Actor = audit_reader) -> list[m.AuditEntryView]:
        app.get_case(case_id)  # 404 for a case the event store does not know
        record(request, actor, case_id, "audit_trail", purpose)
        with read_models.reading("audit") as cur:
            rows = audit_q.case_trail(cur, case_id, up_to_version=up_to_version)
        return list(rows)

    @api.get("/v1/audit/cases/{case_id}/as-of", summary="A case as of an instant (time travel)",
             response_model=m.CaseSnapshotView, operation_id="audit_case_as_of", tags=["audit"],
             responses=responses(401, 403, 404, 422))
    def as_of(request: Request, case_id: UUID = case_path, at: AwareDatetime = Query(),  # noqa: B008
              by: Literal["recorded", "occurred"] = "recorded", purpose: Purpose = purpose_header,
              actor: Actor = audit_reader) -> Response:
        """``by=recorded``: what the system knew at ``at``; ``by=occurred``: the case in the world at ``at``."""
        if not EARLIEST <= at.date() <= LATEST:
            raise InvalidValue("at", f"must be between {EARLIEST} and {LATEST}")
        app.get_case(case_id)
        record(request, actor, case_id, "as_of", purpose)
        snapshot = case_as_of(app, case_id, at.astimezone(UTC), by=by)
        if snapshot is None:
            return problem(404, "no-facts-yet", "The case had no facts by then",
                           f"Case {case_id} had recorded no fact by {at.isoformat()} ({by}).", case_id=str(case_id))
        return JSONResponse(_SNAPSHOT.dump_python(snapshot, mode="json"))

    @api.get("/v1/audit/closures-without-plan", summary="Support teams concluded without a plan, and the notices",
             response_model=list[m.ClosureWithoutPlanView], operation_id="audit_closures_without_plan", **audit)
    def audit_closures(_: Actor = audit_reader) -> list[m.ClosureWithoutPlanView]:
        with read_models.reading("audit") as cur:
            rows = audit_q.closures_without_plan(cur)
        return list(rows)

    @api.get("/v1/audit/age-outs", summary="Case-manager-led children who turned 18",
             response_model=list[m.AgeOutView], operation_id="audit_age_outs", **audit)
    def age_outs(_: Actor = audit_reader) -> list[m.AgeOutView]:
        with read_models.reading("audit") as cur:
            rows = audit_q.age_outs(cur)
        return list(rows)

    @api.get("/v1/audit/no-decisions", summary="Norway: requests without a written decision",
             response_model=list[m.RequestWithoutDecision], operation_id="audit_no_decisions", **audit)
    def no_decisions(_: Actor = audit_reader) -> list[m.RequestWithoutDecision]:
        with read_models.reading("audit") as cur:
            rows = audit_q.requests_without_decision(cur)
        return [m.RequestWithoutDecision(case_id=case_id) for case_id in rows]

    @api.get("/v1/audit/complaints", summary="Complaint timelines in both countries",
             response_model=list[m.ComplaintTimelineView], operation_id="audit_complaints", **audit)
    def audit_complaints(case_id: UUID | None = Query(None),  # noqa: B008
                         _: Actor = audit_reader) -> list[m.ComplaintTimelineView]:
        with read_models.reading("audit") as cur:
            rows = audit_q.complaint_timelines(cur, case_id)
        return list(rows)

    @api.get("/v1/audit/read-log", tags=["audit"], summary="Who read a case's data, when and why",
             response_model=list[m.ReadLogEntry], responses=responses(401, 403, 422), operation_id="read_log")
    def read_log_entries(case_id: UUID | None = Query(None),  # noqa: B008
                         limit: int = Query(1000, ge=1, le=10_000),
                         _: Actor = audit_reader) -> list[m.ReadLogEntry]:
        return [m.ReadLogEntry.model_validate(row) for row in read_log.entries(case_id, limit)]

    return read_log
