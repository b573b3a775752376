"""Bearer tokens signed with the dev HS256 secret, and the problem documents that need no server (a concurrent
change refused by a rule). JWKS verification is in tests/integration/test_api_jwks.py (it serves the keys)."""

from __future__ import annotations

import json
import time
from uuid import uuid4

import pytest
from pydantic import SecretStr

from domain.errors import RuleViolation
from domain.values import Actor, Role
from services.api import identity
from services.api.identity import TokenVerifier, Unauthenticated, mint_token
from services.api.problems import concurrency_problem
from services.api.settings import ApiSettings
from services.casework.errors import ConcurrencyConflict


def test_dev_token_round_trip_and_expiry() -> None:
    settings = ApiSettings()
    token = mint_token(settings, person_ref="person:p-1", role="parent")
    assert TokenVerifier(settings).actor(token) == Actor("person:p-1", Role.PARENT)
    with pytest.raises(Unauthenticated, match="expired"):
        TokenVerifier(settings).actor(mint_token(settings, person_ref="person:p-1", role="parent", ttl_seconds=-5))


def test_concurrency_conflict_refused_on_retry_names_the_rule() -> None:
    case_id = uuid4()
    cause = RuleViolation("IS-R15", "The person is already a member of the support team.", "Invite someone else.")
    response = concurrency_problem(ConcurrencyConflict(case_id, None, 7, cause=cause))
    body = json.loads(bytes(response.body))
    assert response.status_code == 409 and response.media_type == "application/problem+json"
    assert (body["current_version"], body["expected_version"], body["rule_id"]) == (7, None, "IS-R15")
    assert body["remedy"] == "Invite someone else." and response.headers["ETag"] == '"7"'


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    """The verified-token cache never admits a token past its ``exp``, nor one it never verified."""
    settings = ApiSettings()
    verifier = TokenVerifier(settings)
    token = mint_token(settings, person_ref="person:p-1", role="parent", ttl_seconds=1)
    assert verifier.actor(token) == Actor("person:p-1", Role.PARENT)
    time.sleep(1.1)  # past the token's exp (PyJWT reads the real clock)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.actor(token)
    with pytest.raises(Unauthenticated, match="not valid"):
        verifier.actor(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))  # a forged signature


def test_a_remembered_token_is_checked_again_after_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token is trusted without its signature check for at most VERIFIED_CACHE_SECONDS: after that a key the
    identity provider withdrew (here: a changed secret) stops admitting it."""
    settings = ApiSettings()
    verifier = TokenVerifier(settings)
    token = mint_token(settings, person_ref="person:p-1", role="parent", ttl_seconds=3600)
    verifier.actor(token)
    monkeypatch.setattr(verifier.settings, "jwt_secret", SecretStr("another secret of at least thirty-two bytes"))
    assert verifier.actor(token) == Actor("person:p-1", Role.PARENT)  # still within the minute
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + identity.VERIFIED_CACHE_SECONDS + 1)
    with pytest.raises(Unauthenticated, match="not valid"):
        verifier.actor(token)


def test_a_token_valid_for_longer_than_the_api_accepts_is_refused() -> None:
    settings = ApiSettings(max_token_lifetime_seconds=3600)
    verifier = TokenVerifier(settings)
    assert verifier.actor(mint_token(settings, person_ref="person:p-1", role="parent", ttl_seconds=3600))
    with pytest.raises(Unauthenticated, match="longer than this API accepts"):
        verifier.actor(mint_token(settings, person_ref="person:p-1", role="parent", ttl_seconds=100 * 365 * 86400))


def test_a_malformed_token_is_refused_without_the_decoders_internals() -> None:
    with pytest.raises(Unauthenticated) as refused:
        TokenVerifier(ApiSettings()).actor("eyJ\xb7garbage.x.y")
    assert "codec" not in str(refused.value) and "well-formed" in str(refused.value)


def test_a_token_signed_with_another_key_is_said_not_to_verify_not_to_be_malformed() -> None:
    other = ApiSettings(jwt_secret="another-secret-that-is-long-enough-for-hs256")
    with pytest.raises(Unauthenticated, match="signature does not verify") as refused:
        TokenVerifier(ApiSettings()).actor(mint_token(other, person_ref="person:p-1", role="parent"))
    assert "well-formed" not in str(refused.value)
