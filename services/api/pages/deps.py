"""What every page router shares: the page services, the signed-in person (session → :class:`Actor`), CSRF, the
language, and rendering.

A page is an entry point like the JSON API: it reads through ``services.casework.reads`` (the access model and the
read-access log) and writes through the same command path (``services.api.routers.commands.run_command``), with the
actor taken from the server-side session exactly as the API takes it from the bearer token. Nothing here decides
who may see or do what.

CSRF: the synchronizer-token pattern (OWASP). A random token lives in the signed session cookie; every form carries
it in a hidden field (htmx requests in the ``X-CSRF-Token`` header), and every page POST is refused (403) unless the
two match. SameSite=Lax cookies already keep other sites' POSTs from carrying the session; the token also covers
the sign-in form itself (login CSRF) and same-site subdomains.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from domain.values import Actor, Role
from projections.notifications.templates import word
from services.api.deps import Services
from services.api.pages import i18n
from services.api.pages.sessions import SessionStore, Timeouts
from services.api.pages.settings import WebSettings

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
SESSION_ID, CSRF = "sid", "csrf"
CSRF_FIELD, CSRF_HEADER = "csrf_token", "X-CSRF-Token"
STAFF_HOME: dict[Role, str] = {
    Role.COORDINATOR: "/caseload", Role.CASE_MANAGER: "/caseload", Role.PARENT: "/family",
    Role.YOUNG_PERSON: "/family", Role.SUPERVISOR: "/oversight", Role.MUNICIPALITY_LEAD: "/dashboard",
    Role.MUNICIPAL_STAFF: "/dashboard",
}
"""Where each persona lands after signing in (other roles: the home page, which says what they may use)."""


def display_name(ref: str | None) -> str:
    """How a person, organisation or document is shown: today its pseudonymous reference. The privacy vault
    (issue 13) fills this with a name where the viewer may see one; every page shows people through here."""
    return "" if ref is None else ref


@dataclass
class PageServices:
    """One per process, built in :func:`services.api.pages.install`."""

    api: Services
    settings: WebSettings
    sessions: SessionStore
    templates: Jinja2Templates
    production: bool
    gap: str | None
    """Why production pages cannot be served (see ``WebSettings.production_gap``), or None."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    oidc: Any = None
    """The OpenID Connect client (:class:`services.api.pages.oidc.Oidc`) when configured."""

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(timedelta(seconds=self.settings.session_idle_seconds),
                        timedelta(seconds=self.settings.session_absolute_seconds))


def pages(request: Request) -> PageServices:
    found: PageServices = request.app.state.pages
    return found


class SignInRequired(Exception):
    """No live session: the page answers with a redirect to ``/sign-in`` (``HX-Redirect`` for htmx)."""


class CsrfRefused(Exception):
    """A page POST without the session's CSRF token (403)."""


class PagesUnavailable(Exception):
    """Production without what the pages need (a session key, an identity provider): 503 naming it."""


def csrf_token(request: Request) -> str:
    token: str | None = request.session.get(CSRF)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.session[CSRF] = token
    return token


async def csrf_checked(request: Request) -> None:
    """Dependency of every page POST: the form's (or the htmx header's) token equals the session's."""
    expected = request.session.get(CSRF)
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise CsrfRefused()


def available(web: PageServices = Depends(pages)) -> PageServices:  # noqa: B008
    if web.gap is not None:
        raise PagesUnavailable(web.gap)
    return web


def signed_in(request: Request, web: PageServices = Depends(available)) -> Actor:  # noqa: B008
    """The signed-in person, from the server-side session (never from the form); else sign in first."""
    session_id = request.session.get(SESSION_ID)
    session = None if session_id is None else web.sessions.find(str(session_id), web.clock(), web.timeouts)
    if session is None:
        request.session.pop(SESSION_ID, None)
        raise SignInRequired()
    request.state.actor = session.actor
    return session.actor


def language(request: Request) -> str:
    return i18n.negotiate(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           translated: bool = False) -> HTMLResponse:
    """A page: the template with the shared context. ``translated`` pages (the family's, sign-in) are in the
    negotiated language; staff pages are in English, and say so in their ``lang`` attribute."""
    web = pages(request)
    lang = language(request) if translated else "en"
    shared = {"lang": lang, "t": i18n.translator(lang), "translated": translated, "csrf": csrf_token(request),
              "actor": getattr(request.state, "actor", None), "production": web.production,
              "languages": i18n.LANGUAGE_NAMES, "written_date": lambda d: i18n.written_date(d, lang),
              "display_name": display_name, "home": STAFF_HOME, "status_text": i18n.status_words(lang),
              "decision_text": lambda d: word("decision", lang, d)}
    return web.templates.TemplateResponse(request, template, {**shared, **(context or {})}, status_code=status_code)


def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=TEMPLATES)
    found.env.filters["display_name"] = display_name
    return found


def api_services(request: Request) -> Services:
    found: Services = request.app.state.services  # as deps.services, which is async (a FastAPI dependency)
    return found
