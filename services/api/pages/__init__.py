"""The web pages: server-rendered (Jinja2, htmx from its PyPI package), in the same FastAPI app as the JSON API and
through the same application layer, access model and read-access log. A router per persona:

* :mod:`~services.api.pages.signin`: sign-in (development: pick a role and person; production: OpenID Connect),
  sign-out, the language selector;
* :mod:`~services.api.pages.cases`: the caseworker's caseload, the case page and the generated command forms;
* :mod:`~services.api.pages.family`: the family's cases, coordinator, plan, decisions and notices;
* :mod:`~services.api.pages.oversight`: the supervisor's §5 questions and a case's verified audit trail;
* :mod:`~services.api.pages.dashboard`: the municipality's charts and the status report download;
* :mod:`~services.api.pages.mail`: development only, the mail catcher's messages decoded;
* :mod:`~services.api.pages.lookup`: the public "who is my coordinator" page (no sign-in).

Shared: :mod:`~services.api.pages.deps` (session → actor, CSRF, rendering). ``docs/pages.md`` describes them.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from psycopg_pool import ConnectionPool
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.deps import Services
from services.api.pages import cases, dashboard, family, lookup, mail, oversight, signin
from services.api.pages.deps import CsrfRefused, PageServices, PagesUnavailable, SignInRequired, render, templates
from services.api.pages.sessions import PostgresSessionStore
from services.api.pages.settings import WebSettings

STATIC = Path(__file__).resolve().parents[1] / "static"
HTMX = files("js_lib_htmx") / "static" / "htmx"
SESSION_COOKIE = "prosperity_session"
API_PREFIX = "/v1/"


class PageSessions:
    """Starlette's ``SessionMiddleware`` for the pages only: the JSON API (``/v1/``) is called with bearer tokens
    and never reads a session, and decoding and re-signing a cookie on each of its requests cost it a tenth of its
    CPU per command (py-spy, issue 14)."""

    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self.app, self.with_sessions = app, SessionMiddleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(API_PREFIX):
            await self.app(scope, receive, send)
        else:
            await self.with_sessions(scope, receive, send)


def install(api: FastAPI, svc: Services, pool: ConnectionPool[Any],
            settings: WebSettings | None = None) -> PageServices:
    """Mount the pages on ``api``: static files, the session middleware, the routers and their error pages."""
    settings = settings or WebSettings()
    production = svc.settings.production
    gap = settings.production_gap(production)  # logged when the API starts (services.api.app's lifespan)
    web = PageServices(api=svc, settings=settings, sessions=PostgresSessionStore(pool, svc.app.env.get(
        "POSTGRES_SCHEMA")), templates=templates(), production=production, gap=gap)
    if settings.oidc_configured and gap is None:
        from services.api.pages.oidc import Oidc

        web.oidc = Oidc(settings, svc.settings)
    api.state.pages = web
    api.mount("/static/htmx", StaticFiles(directory=str(HTMX)), name="htmx")
    api.mount("/static/pages", StaticFiles(directory=STATIC), name="pages-static")
    api.add_middleware(PageSessions, secret_key=settings.session_secret.get_secret_value(),
                       session_cookie=SESSION_COOKIE, max_age=settings.session_absolute_seconds, same_site="lax",
                       https_only=production)
    for router in (signin.router, cases.router, family.router, oversight.router, dashboard.router, mail.router,
                   lookup.router):
        api.include_router(router)

    async def sign_in_first(request: Request, _: Exception) -> Response:
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": "/sign-in"})
        return RedirectResponse("/sign-in", status_code=303)

    async def csrf_refused(request: Request, _: Exception) -> HTMLResponse:
        return render(request, "problem.html", {"problem": {
            "status": 403, "title": "The form has expired", "rule_id": "CSRF",
            "detail": "This form was not sent from a page of this session.",
            "remedy": "Reload the page and send the form again."}}, status_code=403)

    async def unavailable(request: Request, error: Exception) -> HTMLResponse:
        return HTMLResponse(f"<!doctype html><html lang=en><title>Pages unavailable</title><h1>Pages "
                            f"unavailable</h1><p>{error}</p></html>", status_code=503)

    api.add_exception_handler(SignInRequired, sign_in_first)
    api.add_exception_handler(CsrfRefused, csrf_refused)
    api.add_exception_handler(PagesUnavailable, unavailable)
    return web
