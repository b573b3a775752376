"""Settings of the HTTP API (``PROSPERITY_API_*``, and ``PROSPERITY_ENV``): how bearer tokens are verified, which
claims they carry, the edge limits, where the server listens, and whether this is production."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "prosperity-dev-only-hs256-secret-change-me-in-production"
MIN_HS256_SECRET_BYTES = 32
"""RFC 7518 § 3.2: an HS256 key must be at least as long as the hash output (256 bits)."""


class ProductionConfigError(RuntimeError):
    """The API refuses to start in production with a development or weak token key (or none)."""


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROSPERITY_API_", extra="ignore", populate_by_name=True)

    environment: Literal["development", "production"] = Field(
        "development", validation_alias=AliasChoices("PROSPERITY_ENV", "PROSPERITY_API_ENVIRONMENT"))
    """``PROSPERITY_ENV``: ``production`` refuses the development key, no key and short HS256 keys, and turns
    development-token minting off. ``prosperity up`` is development mode and says so."""
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    """HS256 key for tokens minted locally (``prosperity token``); the default is for development only."""
    issuer: str = "prosperity-dev"
    """Expected ``iss`` claim."""
    audience: str = "prosperity-api"
    """Expected ``aud`` claim."""
    jwks_url: str | None = None
    """When set, tokens are verified with the identity provider's keys (RS256/ES256) instead of the secret."""
    token_ttl_seconds: int = 3600
    """Lifetime of the tokens ``prosperity token`` mints."""
    max_token_lifetime_seconds: int = Field(default=86_400, gt=0)
    """A token whose ``exp`` lies further ahead than this (plus a minute's clock skew) is refused: a leaked token
    that never expires is a key that is never changed (the development tokens ``prosperity up`` prints live a day)."""
    claim_role: str = "role"
    """Name of the claim holding the domain role (an identity provider may call it otherwise)."""
    claim_org: str = "org"
    """Name of the claim holding the caller's organisation (``org:…``); required for every staff role."""
    claim_municipality: str = "muni"
    """Name of the claim holding the municipality a lead or municipal staff member acts for (``muni:…``)."""
    claim_jurisdiction: str = "jurisdiction"
    """Name of the claim holding the country a supervisor or national agency acts in (``IS`` or ``NO``)."""
    max_body_bytes: int = Field(1_000_000, ge=1)
    """Largest request body accepted (413 beyond), checked before the body is parsed, also when chunked."""
    rate_limit: str = "1200/minute"
    """Per-caller rate limit in the ``limits`` library's notation (429 with Retry-After beyond)."""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(1, ge=1, le=64)
    """API worker processes (``services.api.serve``); in production about one per core."""

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def check_production(self) -> None:
        """Refuse to serve production traffic with a key anyone can read in the repository, no key, or a weak one."""
        if not self.production or self.jwks_url:
            return
        secret = self.jwt_secret.get_secret_value()
        if not secret:
            raise ProductionConfigError("PROSPERITY_ENV=production needs PROSPERITY_API_JWT_SECRET or "
                                        "PROSPERITY_API_JWKS_URL; none is set.")
        if secret == DEV_JWT_SECRET:
            raise ProductionConfigError("PROSPERITY_ENV=production refuses the development token key; set "
                                        "PROSPERITY_API_JWT_SECRET to a secret of your own, or "
                                        "PROSPERITY_API_JWKS_URL.")
        if len(secret.encode()) < MIN_HS256_SECRET_BYTES:
            raise ProductionConfigError(f"PROSPERITY_API_JWT_SECRET is shorter than {MIN_HS256_SECRET_BYTES} bytes; "
                                        "an HS256 key must be at least 256 bits (RFC 7518 § 3.2).")
