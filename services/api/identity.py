"""Who calls: a bearer JWT, verified with the configured key, becomes the :class:`Actor` of a command or read.

Claims (names configurable, see ``ApiSettings.claim_*``, for an identity provider that calls them otherwise):
``sub`` is the caller's pseudonymous ``person:…`` ref, ``role`` a :class:`Role` value, ``org`` the caller's
``org:…``, ``muni`` the ``muni:…`` a municipality lead or municipal staff member acts for, ``jurisdiction``
(``IS``/``NO``) the country a supervisor or national agency acts in. A token lacking what its role needs
(:data:`REQUIRED_CLAIMS`) is refused (401): the access model decides by these, so they cannot be optional.
The actor always comes from the token, never from the request body.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import jwt

from domain.errors import InvalidValue
from domain.values import Actor, Jurisdiction, Role
from services.api.settings import ApiSettings

HS_ALGORITHM = "HS256"
JWKS_ALGORITHMS = ["RS256", "ES256"]
R = Role
REQUIRED_CLAIMS: Mapping[Role, tuple[str, ...]] = {
    R.COORDINATOR: ("org",), R.CASE_MANAGER: ("org",), R.SERVICE_PROVIDER_REP: ("org",),
    R.GENERAL_SERVICE_REP: ("org",), R.MUNICIPALITY_LEAD: ("org", "muni"), R.MUNICIPAL_STAFF: ("org", "muni"),
    R.SUPERVISOR: ("org", "jurisdiction"), R.NATIONAL_AGENCY: ("org", "jurisdiction"),
    R.PARENT: (), R.YOUNG_PERSON: (), R.SYSTEM: (),
}
"""What each role's token must carry beside ``sub`` and ``role`` (by logical name; see ``ApiSettings.claim_*``)."""


class Unauthenticated(Exception):
    """No token, or one that does not verify or lacks what its role needs (401)."""


class MintingDisabled(Exception):
    """Development tokens are not minted in production mode."""


def role_help() -> str:
    """The roles and the claims each needs, for ``prosperity token --help``."""
    return "; ".join(f"{role.value}" + (f" (needs --{', --'.join(claims)})" if claims else "")
                     for role, claims in REQUIRED_CLAIMS.items())


def mint_token(settings: ApiSettings, *, person_ref: str, role: Role | str, org_ref: str | None = None,
               municipality_ref: str | None = None, jurisdiction: str | None = None,
               ttl_seconds: int | None = None) -> str:
    """A locally signed (HS256) token for development and tests; checks the claims it writes. Off in production."""
    if settings.production:
        raise MintingDisabled("Development tokens are not minted when PROSPERITY_ENV=production; "
                              "tokens come from the identity provider.")
    actor = Actor(person_ref, Role(role), org_ref, municipality_ref,
                  None if jurisdiction is None else Jurisdiction(jurisdiction))
    missing = _missing(actor)
    if missing:
        raise ValueError(f"the role {actor.role.value} needs {', '.join(missing)}")
    now = int(time.time())
    claims: dict[str, Any] = {"sub": actor.person_ref, settings.claim_role: actor.role.value, "iss": settings.issuer,
                              "aud": settings.audience, "iat": now,
                              "exp": now + (ttl_seconds if ttl_seconds is not None else settings.token_ttl_seconds)}
    for name, value in (("org", actor.org_ref), ("muni", actor.municipality_ref),
                        ("jurisdiction", None if actor.jurisdiction is None else actor.jurisdiction.value)):
        if value is not None:
            claims[_claim_name(settings, name)] = value
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=HS_ALGORITHM)


def _claim_name(settings: ApiSettings, logical: str) -> str:
    return {"org": settings.claim_org, "muni": settings.claim_municipality,
            "jurisdiction": settings.claim_jurisdiction}[logical]


def _missing(actor: Actor) -> list[str]:
    present = {"org": actor.org_ref, "muni": actor.municipality_ref, "jurisdiction": actor.jurisdiction}
    return [name for name in REQUIRED_CLAIMS[actor.role] if present[name] is None]


VERIFIED_CACHE_SIZE = 4096
VERIFIED_CACHE_SECONDS = 60.0
"""How long a verified token is trusted without checking its signature again (never past its ``exp``): a JWKS
key withdrawn by the identity provider stops admitting tokens within this time."""


CLOCK_SKEW_SECONDS = 60


def _plain(error: jwt.PyJWTError) -> str:
    """PyJWT's reason, without its decoder's internals (a byte it could not decode, a padding error)."""
    if isinstance(error, jwt.InvalidSignatureError):  # a DecodeError too, but the token itself is well formed
        return "its signature does not verify with this API's keys"
    if isinstance(error, jwt.DecodeError):
        return "it is not a well-formed signed JWT"
    return str(error)


class TokenVerifier:
    """Verifies bearer tokens; a token that verified is remembered (by its exact text) for up to a minute and never
    past its expiry, because a signature check and the claim checks were a twentieth of the API's CPU per
    command (py-spy, issue 14) for the same few tokens again and again. Written out: a dict in insertion order is
    the whole LRU that is needed, and no cache library is a dependency here."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._verified: dict[str, tuple[Actor, float]] = {}
        self._guard = threading.Lock()

    def actor(self, token: str) -> Actor:
        """The verified caller, or :class:`Unauthenticated` saying why not (never the token itself)."""
        now = time.time()
        known = self._verified.get(token)
        if known is not None:
            if known[1] > now:
                return known[0]
            self._verified.pop(token, None)
        claims = self._claims(token)
        actor = self._actor_from(claims)
        with self._guard:  # with a JWKS URL this runs in worker threads
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                del self._verified[next(iter(self._verified))]  # the oldest entry
            self._verified[token] = (actor, min(float(claims["exp"]), now + VERIFIED_CACHE_SECONDS))
        return actor

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            if self._jwks is not None:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = JWKS_ALGORITHMS
            else:
                key, algorithms = self.settings.jwt_secret.get_secret_value(), [HS_ALGORITHM]
            claims = jwt.decode(token, key, algorithms=algorithms, issuer=self.settings.issuer,
                                audience=self.settings.audience, options={"require": ["sub", "exp", "iss", "aud"]})
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"The bearer token is not valid: {_plain(error)}.") from error
        if float(claims["exp"]) - time.time() > self.settings.max_token_lifetime_seconds + CLOCK_SKEW_SECONDS:
            raise Unauthenticated(f"The bearer token is valid for longer than this API accepts (at most "
                                  f"{self.settings.max_token_lifetime_seconds} s from now); ask for a shorter one.")
        return claims

    def actor_from_claims(self, claims: Mapping[str, Any]) -> Actor:
        """The actor of already verified claims (an OpenID Connect ID token, the development sign-in), judged
        exactly as a bearer token's: the configured claim names, the roles, the claims each role needs."""
        if not isinstance(claims.get("sub"), str):
            raise Unauthenticated("The identity has no sub claim.")
        return self._actor_from(claims)

    def _actor_from(self, claims: Mapping[str, Any]) -> Actor:
        s = self.settings
        try:
            role = Role(str(claims.get(s.claim_role)))
        except ValueError as error:
            raise Unauthenticated(f"The token's {s.claim_role} claim {claims.get(s.claim_role)!r} is not a known "
                                  "role.") from error
        values = {name: claims.get(_claim_name(s, name)) for name in ("org", "muni", "jurisdiction")}
        if not isinstance(claims["sub"], str) or any(v is not None and not isinstance(v, str) for v in values.values()):
            raise Unauthenticated("The token's sub, org, municipality and jurisdiction claims must be strings.")
        try:
            jurisdiction = None if values["jurisdiction"] is None else Jurisdiction(values["jurisdiction"])
            actor = Actor(claims["sub"], role, values["org"], values["muni"], jurisdiction)
        except (InvalidValue, ValueError) as error:
            raise Unauthenticated(f"The token's claims are malformed: {error}.") from error
        missing = _missing(actor)
        if missing:
            names = ", ".join(_claim_name(s, name) for name in missing)
            raise Unauthenticated(f"[ACCESS-TOKEN] A {role.value} token must carry the claims {names}; the access "
                                  "model decides by them.")
        return actor
