"""Settings of the HTTP API (``PROSPERITY_API_*``): how bearer tokens are verified, where the server listens."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "prosperity-dev-only-hs256-secret-change-me-in-production"


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROSPERITY_API_", extra="ignore")

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
    host: str = "127.0.0.1"
    port: int = 8000
