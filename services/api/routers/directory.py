"""``GET /v1/institutions/{org_ref}``: the coordinator directory ("who is the coordinator of this institution"),
for everyone signed in (ACCESS-READ-DIRECTORY). It names staff in their work role only, so it is not logged."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from domain.access import ReadKind
from domain.values import Actor
from services.api import models as m
from services.api.deps import Services, caller, read_access, responses, services

router = APIRouter(tags=["directory"])
ORG_PATTERN = r"^org:[A-Za-z0-9._-]{1,80}$"
_DESCRIPTION, _ACCESS = read_access(ReadKind.DIRECTORY)


@router.get("/v1/institutions/{org_ref}", summary="An institution and its coordinators",
            response_model=m.InstitutionView, responses=responses(401, 404, 422, 429),
            operation_id="get_institution",
            description=f"The coordinator directory: who the designated coordinators of an institution are.\n\n"
                        f"{_DESCRIPTION}", openapi_extra={"x-prosperity-access": _ACCESS})
def get_institution(org_ref: str = Path(pattern=ORG_PATTERN, description="The institution's organisation ref."),
                    _: Actor = Depends(caller), svc: Services = Depends(services)) -> m.InstitutionView:  # noqa: B008
    institution = svc.app.get_institution(org_ref)
    return m.InstitutionView(org_ref=institution.org_ref, institution_type=str(institution.institution_type),
                             municipality_ref=institution.municipality_ref,
                             jurisdiction="NO" if str(institution.jurisdiction) == "NO" else "IS",
                             coordinators=list(institution.coordinators), version=institution.version)
