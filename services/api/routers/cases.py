"""``GET /v1/cases/{case_id}``: a case as it stands now, from its aggregate (the event store, never stale), for
those related to it (``domain.access``, rule ACCESS-READ-CASE). Every attempt is in the read-access log with
the stated purpose; a case the caller may not see answers exactly like one that does not exist."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse

from domain import access
from domain.access import ReadKind
from domain.access import personal_data as rights
from domain.values import Actor
from services.api import models as m
from services.api.deps import PURPOSE_RULE, Services, caller, correlation, read_access, responses, services
from services.casework.read_log import Purpose

router = APIRouter(tags=["cases"])
PURPOSE = Header(alias="X-Purpose", description="Why the case is read; recorded in the read-access log." + PURPOSE_RULE)
CASE_PATH = Path(description="The case id.")
_DESCRIPTION, _ACCESS = read_access(ReadKind.CASE)


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


PROTECTED_REF = "person:protected"


def masked(summary: m.CaseSummary, case: Any, actor: Actor) -> m.CaseSummary:
    """A protected identity (``identity_protected``) is shown only to those who must see it (ACCESS-PRIV-8)."""
    protected = tuple(getattr(case, "protected_subjects", ()))
    if not protected:
        return summary
    held = access.relations_to_case(actor, case)
    hidden = {ref for ref in protected if not rights.may_see_protected(held, actor, ref)}
    return summary.model_copy(update={
        "child_ref": PROTECTED_REF if summary.child_ref in hidden else summary.child_ref,
        "parent_refs": [PROTECTED_REF if ref in hidden else ref for ref in summary.parent_refs]})


@router.get("/v1/cases/{case_id}", summary="A case as it stands now", response_model=m.CaseSummary,
            responses=responses(401, 403, 404, 422, 429), operation_id="get_case",
            description="For the case's coordinator, case manager, current team members, providers named in an "
                        "active information-sharing request, its family and its domicile municipality. Every "
                        f"attempt is recorded with its purpose.\n\n{_DESCRIPTION}",
            openapi_extra={"x-prosperity-access": _ACCESS})
def get_case(request: Request, case_id: UUID = CASE_PATH, purpose: Purpose = PURPOSE,
             actor: Actor = Depends(caller), svc: Services = Depends(services)) -> JSONResponse:  # noqa: B008
    case = svc.reads.case(actor, case_id, purpose=purpose, correlation_id=correlation(request))
    summary = masked(case_summary(case), case, actor)
    return JSONResponse(summary.model_dump(mode="json"), headers={"ETag": f'"{summary.version}"'})
