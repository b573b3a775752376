"""Who calls: a bearer JWT, verified with the configured key, becomes the :class:`Actor` of the command.

Claims: ``sub`` is the caller's pseudonymous ``person:…`` ref, ``role`` a :class:`Role` value, ``org`` an
optional ``org:…`` ref. The actor always comes from the token, never from the request body.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from domain.errors import InvalidValue
from domain.values import Actor, Role
from services.api.settings import ApiSettings

HS_ALGORITHM = "HS256"
JWKS_ALGORITHMS = ["RS256", "ES256"]


class Unauthenticated(Exception):
    """No token, or one that does not verify (401)."""


def mint_token(settings: ApiSettings, *, person_ref: str, role: Role | str, org_ref: str | None = None,
               ttl_seconds: int | None = None) -> str:
    """A locally signed (HS256) token for development and tests; checks the claims it writes."""
    actor = Actor(person_ref, Role(role), org_ref)  # refuses malformed refs and unknown roles
    now = int(time.time())
    claims: dict[str, Any] = {"sub": actor.person_ref, "role": actor.role.value, "iss": settings.issuer,
                              "aud": settings.audience, "iat": now,
                              "exp": now + (ttl_seconds if ttl_seconds is not None else settings.token_ttl_seconds)}
    if actor.org_ref is not None:
        claims["org"] = actor.org_ref
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=HS_ALGORITHM)


class TokenVerifier:
    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None

    def actor(self, token: str) -> Actor:
        """The verified caller, or :class:`Unauthenticated` saying why not (never the token itself)."""
        try:
            if self._jwks is not None:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = JWKS_ALGORITHMS
            else:
                key, algorithms = self.settings.jwt_secret.get_secret_value(), [HS_ALGORITHM]
            claims = jwt.decode(token, key, algorithms=algorithms, issuer=self.settings.issuer,
                                audience=self.settings.audience, options={"require": ["sub", "exp", "iss", "aud"]})
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"The bearer token is not valid: {error}.") from error
        try:
            role = Role(str(claims.get("role")))
        except ValueError as error:
            raise Unauthenticated(f"The token's role claim {claims.get('role')!r} is not a known role.") from error
        org = claims.get("org")
        if not isinstance(claims["sub"], str) or (org is not None and not isinstance(org, str)):
            raise Unauthenticated("The token's sub and org claims must be strings.")
        try:
            return Actor(claims["sub"], role, org)
        except InvalidValue as error:
            raise Unauthenticated(f"The token's claims are malformed: {error}.") from error
