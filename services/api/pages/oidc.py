"""Production sign-in: OpenID Connect's authorization code flow with PKCE (RFC 7636, S256), by Authlib.

Authlib's Starlette client does the protocol (discovery, ``state``, ``nonce``, the PKCE verifier kept in the
signed session cookie, the code exchange, and the ID token's signature against the provider's JWKS, its issuer,
audience, expiry and nonce); what is ours is only the mapping of the ID token's claims to the :class:`Actor`, and
that is the bearer tokens' own (:meth:`TokenVerifier.actor_from_claims`: the configured claim names
``PROSPERITY_API_CLAIM_*``, the role, and the claims each role needs), so a person signed in through the pages
is judged exactly as the same person calling the JSON API.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.requests import Request
from starlette.responses import Response

from domain.values import Actor
from services.api.identity import TokenVerifier, Unauthenticated
from services.api.pages.settings import WebSettings
from services.api.settings import ApiSettings

PROVIDER = "idp"


class Oidc:
    def __init__(self, settings: WebSettings, api_settings: ApiSettings) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id
        self.settings = settings
        self.oauth = OAuth()
        secret = settings.oidc_client_secret
        self.oauth.register(
            PROVIDER, client_id=settings.oidc_client_id,
            client_secret=None if secret is None else secret.get_secret_value(),
            server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={"scope": settings.oidc_scope, "code_challenge_method": "S256"})
        self.verifier = TokenVerifier(api_settings)

    @property
    def client(self) -> Any:
        return self.oauth.create_client(PROVIDER)

    async def redirect(self, request: Request, callback_url: str) -> Response:
        """To the provider's authorization endpoint (with state, nonce and the PKCE challenge)."""
        response: Response = await self.client.authorize_redirect(
            request, self.settings.oidc_redirect_url or callback_url)
        return response

    async def actor(self, request: Request) -> Actor:
        """The person the provider signed in, from the verified ID token; :class:`Unauthenticated` if not."""
        try:
            token = await self.client.authorize_access_token(request)
        except OAuthError as error:
            raise Unauthenticated(f"The identity provider did not sign you in: {error.error}.") from error
        claims = token.get("userinfo")
        if not isinstance(claims, dict):
            raise Unauthenticated("The identity provider sent no ID token.")
        return self.verifier.actor_from_claims(claims)
