"""The public "who is my coordinator" page (seed 003): no sign-in, in the family's language.

The same answer as ``GET /v1/public/coordinators`` (:mod:`services.api.routers.public`; ACCESS-READ-PUBLIC-DIRECTORY):
institutions and roles, never a person or a case, from the directory rows of the dashboard read model. The form is
a GET (nothing changes, so no CSRF token); malformed input is said on the page, field by field, and nothing is
logged because nothing personal is read. The edge's rate limit applies per client address.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from domain.errors import RuleViolation
from domain.life_stage import SchoolStatus, life_stages_for_age
from projections.dashboard.lookup import coordinator_lookup
from services.api.deps import ReadModelNotBuilt
from services.api.pages.deps import PageServices, available, render

router = APIRouter(include_in_schema=False)
MUNICIPALITY = re.compile(r"^muni:[A-Za-z0-9._-]{1,80}$")
ORG = re.compile(r"^org:[A-Za-z0-9._-]{1,80}$")


def _question(params: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The question from the query string, and the errors (field → rule), each bounded like the API's."""
    asked: dict[str, Any] = {"municipality_ref": params.get("municipality_ref", "").strip()[:90],
                             "age": None, "school_status": None, "org_ref": None}
    errors: dict[str, str] = {}
    if not MUNICIPALITY.match(asked["municipality_ref"]):
        errors["municipality_ref"] = "must look like muni:reykjavik"
    age = params.get("age", "").strip()
    if age:
        if not age.isdigit() or not 0 <= int(age) <= 17:
            errors["age"] = "a whole number of years from 0 to 17"
        else:
            asked["age"] = int(age)
    school = params.get("school_status", "").strip()
    if school:
        try:
            asked["school_status"] = SchoolStatus(school)
        except ValueError:
            errors["school_status"] = "one of " + ", ".join(s.value for s in SchoolStatus)
    org = params.get("org_ref", "").strip()
    if org:
        if ORG.match(org):
            asked["org_ref"] = org
        else:
            errors["org_ref"] = "must look like org:school-1"
    return asked, errors


@router.get("/coordinators")
def who_is_my_coordinator(request: Request, web: PageServices = Depends(available)) -> Response:  # noqa: B008
    params = dict(request.query_params)
    asked, errors = _question(params) if params else ({"municipality_ref": ""}, {})
    answers = None
    if params and not errors:
        today = datetime.now(UTC).date()
        try:
            stages = life_stages_for_age(asked["age"], today, asked["school_status"])
            with web.api.read_models.reading("dashboard") as cur:
                answers = coordinator_lookup(cur, municipality_ref=asked["municipality_ref"], life_stages=stages,
                                             as_of=today, org_ref=asked["org_ref"])
        except RuleViolation as refusal:
            errors["school_status"] = f"{refusal.rule_id}: {refusal.reason}"
        except ReadModelNotBuilt as error:
            errors["municipality_ref"] = str(error)
    context = {"asked": asked, "errors": errors, "answers": answers, "schools": [s.value for s in SchoolStatus]}
    return render(request, "coordinators.html", context, status_code=422 if errors else 200, translated=True)
