"""The family's pages (a parent, the young person): my case, who my coordinator is, the plan, decisions with how
and by when to complain, and the notices received; in Icelandic, Norwegian (bokmål) or English.

``/family`` finds the person's cases in the audit trail's opening facts (an index), then reads each through the
access model, so a case is listed only if the JSON API would show it, and each read is logged. The case page is
``/cases/{id}`` (:mod:`services.api.pages.cases`), rendered here for a family member.

Who my coordinator is comes from the case itself (its coordinator and institution). The public "who is the
coordinator for my child's school and age" lookup (:mod:`services.api.pages.lookup`) is linked beside it in
``family_case.html`` (the ``coordinator-lookup`` section), for the case's municipality.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from fastapi import APIRouter, Depends, Request, Response

from domain.access import AccessDenied
from domain.values import Actor
from projections.audit import people
from services.api.deps import ReadModelNotBuilt
from services.api.pages.case_view import CaseView
from services.api.pages.deps import PageServices, available, render, signed_in
from services.casework.errors import CaseNotFound
from services.casework.read_log import Purpose

router = APIRouter(include_in_schema=False)
NOTICES = ("SELECT kind, subject, body, occurred_at, status, sent_at FROM outbox WHERE case_id = %s"
           " AND recipient_ref = %s ORDER BY occurred_at, notification_key LIMIT 100")


def notices(web: PageServices, case_id: UUID, person_ref: str) -> list[dict[str, Any]] | None:
    """The notices this person was sent about this case (the notifier's outbox); None if not built yet."""
    try:
        with web.api.read_models.reading("notifications") as cur:
            cur.execute(NOTICES, (case_id, person_ref))
            names = [d.name for d in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    except (ReadModelNotBuilt, KeyError, psycopg.errors.UndefinedTable):
        return None


@router.get("/family")
def my_cases(request: Request, actor: Actor = Depends(signed_in),  # noqa: B008
             web: PageServices = Depends(available)) -> Response:  # noqa: B008
    found: list[Any] = []
    try:
        with web.api.read_models.reading("audit") as cur:
            candidates = people.cases_of_family(cur, actor.person_ref)
    except ReadModelNotBuilt:
        candidates = []
    for case_id in candidates:
        try:
            found.append(web.api.reads.case(actor, case_id, purpose=Purpose.OWN_CASE,
                                            correlation_id=getattr(request.state, "correlation_id", None)))
        except (CaseNotFound, AccessDenied):  # a staff token whose person is a parent reads as staff, not here
            continue
    return render(request, "family_home.html", {"cases": found}, translated=True)


def case_page(request: Request, web: PageServices, actor: Actor, case: Any, view: CaseView) -> Response:
    context = {"view": view, "notices": notices(web, case.id, actor.person_ref),
               "now": datetime.now(UTC)}
    return render(request, "family_case.html", context, translated=True)
