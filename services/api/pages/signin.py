"""Signing in and out, the home page and the language selector.

Development: ``/sign-in`` lists people found in the data (the audit trail's actors, the parents named by opening
facts, and one development identity per role) and a form to pick any role, person, organisation, municipality
and jurisdiction; the choice is judged like a bearer token's claims (the role's required claims, PRIV-1).
Production: ``/sign-in`` sends the person to the identity provider (:mod:`services.api.pages.oidc`); the
development sign-in answers 404. Either way the session starts afresh (a new id and CSRF token: no fixation).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from domain.errors import InvalidValue
from domain.values import Actor, Role
from projections.audit import people
from services.api.deps import ReadModelNotBuilt
from services.api.identity import REQUIRED_CLAIMS, TokenVerifier, Unauthenticated
from services.api.pages import i18n
from services.api.pages.deps import (
    CSRF,
    SESSION_ID,
    STAFF_HOME,
    PageServices,
    available,
    csrf_checked,
    render,
    signed_in,
)

router = APIRouter(include_in_schema=False)
log = structlog.get_logger()
DEV_PEOPLE: tuple[tuple[str, str, str | None, str | None, str | None], ...] = (
    ("supervisor", "person:dev-supervisor", "org:gev", None, "IS"),
    ("supervisor", "person:dev-statsforvalteren", "org:statsforvalteren", None, "NO"),
    ("municipality_lead", "person:lead-reykjavik", "org:town-hall-reykjavik", "muni:reykjavik", None),
    ("municipality_lead", "person:lead-bodo", "org:town-hall-bodo", "muni:bodo", None),
)
"""Identities the data cannot show (supervisors never write; a lead's demo identity), as ``prosperity up`` names
them: role, person, organisation, municipality, jurisdiction."""


def _started(request: Request, web: PageServices, actor: Actor, method: str) -> Response:
    request.session.clear()
    request.session[SESSION_ID] = web.sessions.start(actor, method, web.clock())
    log.info("pages.signed_in", role=actor.role.value, method=method)
    return RedirectResponse(STAFF_HOME.get(actor.role, "/"), status_code=303)


def _people(web: PageServices) -> list[dict[str, Any]]:
    found = [dict(zip(("role", "person", "org", "muni", "jurisdiction"), p, strict=True)) for p in DEV_PEOPLE]
    try:
        with web.api.read_models.reading("audit") as cur:
            for seen in people.actors_seen(cur):
                if seen.role in (Role.PARENT.value, Role.YOUNG_PERSON.value):
                    continue
                muni = seen.municipality_ref if seen.role in ("municipality_lead", "municipal_staff") else None
                found.append({"role": seen.role, "person": seen.person_ref, "org": seen.org_ref, "muni": muni,
                              "jurisdiction": None})
            found += [{"role": "parent", "person": ref, "org": None, "muni": None, "jurisdiction": None}
                      for ref, _ in people.parents_seen(cur)]
    except ReadModelNotBuilt:
        pass
    unique = {(p["role"], p["person"]): p for p in found}
    return sorted(unique.values(), key=lambda p: (p["role"], p["person"]))


@router.get("/")
def home(request: Request, web: PageServices = Depends(available)) -> Response:  # noqa: B008
    session_id = request.session.get(SESSION_ID)
    session = None if session_id is None else web.sessions.find(str(session_id), web.clock(), web.timeouts)
    if session is None:
        return RedirectResponse("/sign-in", status_code=303)
    request.state.actor = session.actor
    if session.actor.role in STAFF_HOME:
        return RedirectResponse(STAFF_HOME[session.actor.role], status_code=303)
    return render(request, "home.html")


@router.get("/sign-in")
def sign_in_page(request: Request, web: PageServices = Depends(available)) -> Response:  # noqa: B008
    context = {"oidc": web.oidc is not None, "people": [] if web.production else _people(web),
               "roles": [role.value for role in Role if role is not Role.SYSTEM],
               "needs": {role.value: claims for role, claims in REQUIRED_CLAIMS.items()}}
    return render(request, "sign_in.html", context, translated=True)


@router.post("/sign-in", dependencies=[Depends(csrf_checked)])
def sign_in(request: Request, role: str = Form(), person_ref: str = Form(), org_ref: str = Form(""),
            municipality_ref: str = Form(""), jurisdiction: str = Form(""),
            web: PageServices = Depends(available)) -> Response:  # noqa: B008
    """Development only: the picked identity, judged as a token's claims would be."""
    if web.production:
        return render(request, "not_found.html", status_code=404, translated=True)
    claims = {"sub": person_ref.strip(), web.api.settings.claim_role: role,
              web.api.settings.claim_org: org_ref.strip() or None,
              web.api.settings.claim_municipality: municipality_ref.strip() or None,
              web.api.settings.claim_jurisdiction: jurisdiction.strip() or None}
    try:
        actor = TokenVerifier(web.api.settings).actor_from_claims(claims)
    except (Unauthenticated, InvalidValue) as refused:
        context = {"oidc": False, "people": _people(web), "refusal": str(refused),
                   "roles": [r.value for r in Role if r is not Role.SYSTEM],
                   "needs": {r.value: c for r, c in REQUIRED_CLAIMS.items()}}
        return render(request, "sign_in.html", context, status_code=422, translated=True)
    return _started(request, web, actor, "development")


@router.get("/sign-in/oidc")
async def sign_in_oidc(request: Request, web: PageServices = Depends(available)) -> Response:  # noqa: B008
    if web.oidc is None:
        return render(request, "not_found.html", status_code=404, translated=True)
    csrf = request.session.get(CSRF)
    request.session.clear()  # a fresh session for the flow; authlib keeps its state, nonce and verifier in it
    if csrf is not None:
        request.session[CSRF] = csrf
    response: Response = await web.oidc.redirect(request, str(request.url_for("sign_in_oidc_callback")))
    return response


@router.get("/sign-in/oidc/callback")
async def sign_in_oidc_callback(request: Request, web: PageServices = Depends(available)) -> Response:  # noqa: B008
    if web.oidc is None:
        return render(request, "not_found.html", status_code=404, translated=True)
    try:
        actor = await web.oidc.actor(request)
    except (Unauthenticated, InvalidValue) as refused:
        log.info("pages.sign_in_refused", method="oidc")
        return render(request, "sign_in.html", {"oidc": True, "people": [], "refusal": str(refused), "roles": [],
                                                "needs": {}}, status_code=401, translated=True)
    return _started(request, web, actor, "oidc")


@router.post("/sign-out", dependencies=[Depends(csrf_checked)])
def sign_out(request: Request, web: PageServices = Depends(available)) -> Response:  # noqa: B008
    session_id = request.session.get(SESSION_ID)
    if session_id is not None:
        web.sessions.end(str(session_id), web.clock(), "signed_out")
    request.session.clear()
    return RedirectResponse("/sign-in", status_code=303)


@router.post("/language", dependencies=[Depends(csrf_checked)])
def choose_language(request: Request, lang: str = Form(), back: str = Form("/")) -> Response:
    """The selector: a cookie for a year; back to the page it was chosen on (a local path only)."""
    target = back if back.startswith("/") and not back.startswith("//") and not urlsplit(back).netloc else "/"
    response = RedirectResponse(target, status_code=303)
    if lang in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="lax",
                            secure=request.app.state.pages.production)
    return response


@router.get("/me")
def me(request: Request, actor: Actor = Depends(signed_in)) -> Response:  # noqa: B008
    """Where the signed-in person's pages are (the header links here)."""
    return RedirectResponse(STAFF_HOME.get(actor.role, "/"), status_code=303)
