"""``GET /v1/public/coordinators``: "who is my coordinator" (seed 003), for anyone, without signing in
(ACCESS-READ-PUBLIC-DIRECTORY).

Asked by municipality and the child's age in whole years (or "expecting"), optionally the school the child attends
and the child's institution; answered with institutions and roles only (``projections.dashboard.lookup``): never
a person, never a case, so the answer is the same whether or not any child of that age has a case, and it is not
logged (nothing personal is read). A birth date is not asked: the age is enough, and a date would be personal
data. The edge's rate limit applies per client address, as to every unauthenticated request
(:mod:`services.api.edge`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from domain.access import ReadKind
from domain.errors import InvalidValue, RuleViolation
from domain.life_stage import SchoolStatus, life_stages_for_age
from projections.dashboard.lookup import coordinator_lookup
from services.api.deps import Services, read_access, responses, services

router = APIRouter(tags=["public"])
MUNI = Query(pattern=r"^muni:[A-Za-z0-9._-]{1,80}$", description="The municipality of legal domicile.")
AGE = Query(None, ge=0, le=17, description="The child's age in whole years; leave out while the family is expecting.")
SCHOOL = Query(None, description="What the child attends, if the family wants to say: `none` for no school.")
ORG = Query(None, pattern=r"^org:[A-Za-z0-9._-]{1,80}$", description="Only the child's own institution.")
_DESCRIPTION, _ACCESS = read_access(ReadKind.PUBLIC_DIRECTORY)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PublicInstitutionView(_Out):
    org_ref: str
    institution_type: str
    has_designated_coordinator: bool


class CoordinatorAnswerView(_Out):
    life_stage: str
    institution_type: str
    role: str
    institutions: list[PublicInstitutionView]
    fallback: bool


class CoordinatorLookupView(_Out):
    """Where a child of this age finds a coordinator of services in the municipality (seed 003)."""

    municipality_ref: str
    life_stages: list[str]
    answers: list[CoordinatorAnswerView]
    names_published: bool = False
    """Always false: the public answer names institutions and roles, never a person (docs/pages.md)."""


@router.get("/v1/public/coordinators", summary="Who is my coordinator (no sign-in)",
            response_model=CoordinatorLookupView, responses=responses(422, 429, 503),
            operation_id="public_coordinator_lookup",
            description="Which institution's coordinator of services serves a child of this age in this municipality, "
                        "whether it has designated one, and the municipality's social services as the fallback for "
                        f"a child outside school. Institutions and roles only; no names, no cases.\n\n{_DESCRIPTION}",
            openapi_extra={"x-prosperity-access": _ACCESS, "security": []})
def public_coordinators(municipality_ref: str = MUNI, age: int | None = AGE,
                        school_status: SchoolStatus | None = SCHOOL, org_ref: str | None = ORG,
                        svc: Services = Depends(services)) -> CoordinatorLookupView:  # noqa: B008
    today = datetime.now(UTC).date()
    try:
        stages = life_stages_for_age(age, today, school_status)
    except RuleViolation as refusal:  # a school the age rules out is a malformed question here, not a refusal
        raise InvalidValue("school_status", f"{refusal.rule_id}: {refusal.reason}") from refusal
    with svc.read_models.reading("dashboard") as cur:
        answers = coordinator_lookup(cur, municipality_ref=municipality_ref, life_stages=stages, as_of=today,
                                     org_ref=org_ref)
    return CoordinatorLookupView.model_validate({
        "municipality_ref": municipality_ref, "life_stages": sorted(s.value for s in stages),
        "answers": [{"life_stage": a.life_stage, "institution_type": a.institution_type, "role": a.role,
                     "fallback": a.fallback, "institutions": [vars(i) for i in a.institutions]} for a in answers]})
