"""Settings of the web pages (``PROSPERITY_WEB_*``): sessions, sign-in and the development mail viewer.

Development (``PROSPERITY_ENV`` unset or ``development``): a person picks a role and identity on ``/sign-in``; the
session key defaults to a development key. Production: sign-in is OpenID Connect only (authorization code flow
with PKCE, :mod:`services.api.pages.oidc`), the session key must be set and long, cookies are ``Secure``, and the
development sign-in and mail viewer answer 404.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.api.settings import MIN_HS256_SECRET_BYTES

DEV_SESSION_SECRET = "prosperity-dev-only-session-key-change-me-in-production"
IDLE_SECONDS = 3600
"""Primero's idle timeout: a session unused for an hour ends."""
ABSOLUTE_SECONDS = 8 * 3600
"""A working day: however busy, a session ends eight hours after sign-in."""


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROSPERITY_WEB_", extra="ignore")

    session_secret: SecretStr = SecretStr(DEV_SESSION_SECRET)
    """Signs the session cookie (itsdangerous, via Starlette's session middleware); at least 32 bytes in
    production, and never the development key."""
    session_idle_seconds: int = Field(IDLE_SECONDS, ge=60, le=24 * 3600)
    """A session not used for this long has ended (checked on the server, in ``web_sessions``)."""
    session_absolute_seconds: int = Field(ABSOLUTE_SECONDS, ge=60, le=7 * 24 * 3600)
    """A session ends this long after sign-in, used or not."""
    oidc_issuer: str | None = None
    """The identity provider (its ``/.well-known/openid-configuration`` is read); required in production."""
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scope: str = "openid"
    """Scopes asked for; the claims named by ``PROSPERITY_API_CLAIM_*`` must come in the ID token."""
    oidc_redirect_url: str | None = None
    """The callback URL registered with the provider (default: this server's ``/sign-in/oidc/callback``)."""
    mail_dir: Path | None = None
    """The mail catcher's folder for the development mail viewer (default: ``PROSPERITY_DATA_DIR``/mail)."""

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    def production_gap(self, production: bool) -> str | None:
        """Why production pages cannot be served (a session key from the repository or a short one, or no
        identity provider), or None. The JSON API does not depend on it: without these the pages answer 503
        naming the missing setting, and nobody can sign in with a weak session key."""
        if not production:
            return None
        secret = self.session_secret.get_secret_value()
        if secret == DEV_SESSION_SECRET:
            return "PROSPERITY_ENV=production refuses the development session key: set PROSPERITY_WEB_SESSION_SECRET."
        if len(secret.encode()) < MIN_HS256_SECRET_BYTES:
            return f"PROSPERITY_WEB_SESSION_SECRET is shorter than {MIN_HS256_SECRET_BYTES} bytes."
        if not self.oidc_configured:
            return ("PROSPERITY_ENV=production signs people in through OpenID Connect only: set "
                    "PROSPERITY_WEB_OIDC_ISSUER and PROSPERITY_WEB_OIDC_CLIENT_ID.")
        return None
