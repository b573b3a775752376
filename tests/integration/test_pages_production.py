"""The pages in production mode on real PostgreSQL: sign-in only through OpenID Connect (authorization code flow
with PKCE) against a real OpenID provider (``oidc-provider-mock``: Authlib's provider on a local port), the ID
token's claims judged as a bearer token's, Secure cookies, no development sign-in and no mail viewer; and without
a session key or a provider, the pages refuse to serve (503) while the JSON API keeps working."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oidc_provider_mock import run_server_in_thread
from pydantic import SecretStr

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.pages.settings import WebSettings
from services.api.settings import ApiSettings
from services.casework.application import Casework
from services.infra.postgres_env import PgTarget
from tests.integration.pages_support import csrf_of

SECRET = "a-production-secret-of-at-least-32-bytes!"
PRODUCTION = ApiSettings(environment="production", jwt_secret=SecretStr(SECRET))
CLAIMS = {"role": "coordinator", "org": "org:school-rvk-1"}


@pytest.fixture
def provider() -> Iterator[str]:
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def _app(pg_schema: PgTarget, web: WebSettings) -> Iterator[TestClient]:
    app = Casework(pg_schema.eventsourcing_env())
    try:
        with TestClient(create_app(app, PRODUCTION, web), base_url="https://testserver",
                        follow_redirects=False) as client:
            yield client
    finally:
        app.close()


@pytest.fixture
def client(pg_schema: PgTarget, provider: str) -> Iterator[TestClient]:
    yield from _app(pg_schema, WebSettings(session_secret=SecretStr("s" * 40), oidc_issuer=provider,
                                           oidc_client_id="prosperity-pages", oidc_client_secret=SecretStr("x")))


def _sign_in_at_provider(provider: str, authorize_url: str, sub: str, claims: dict[str, Any]) -> str:
    """What the person does at the identity provider; returns where the provider sends the browser back."""
    httpx.put(f"{provider}/users/{sub}", json=claims).raise_for_status()
    answer = httpx.post(authorize_url, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def test_sign_in_through_openid_connect_with_pkce(client: TestClient, provider: str) -> None:
    page = client.get("/sign-in")
    assert page.status_code == 200 and "/sign-in/oidc" in page.text and "Development" not in page.text
    redirect = client.get("/sign-in/oidc")
    assert redirect.status_code == 302
    authorize = redirect.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(provider) and query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"] and query["nonce"] and query["redirect_uri"] == ["https://testserver/sign-in/oidc/callback"]
    back = _sign_in_at_provider(provider, authorize, "person:coord-is-1", CLAIMS)
    callback = client.get(back.replace("https://testserver", ""))
    assert callback.status_code == 303 and callback.headers["location"] == "/caseload", callback.text
    cookie = callback.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/me").headers["location"] == "/caseload"  # signed in, as the ID token's coordinator


def test_an_id_token_lacking_what_its_role_needs_is_refused(client: TestClient, provider: str) -> None:
    authorize = client.get("/sign-in/oidc").headers["location"]
    back = _sign_in_at_provider(provider, authorize, "person:lead-1", {"role": "municipality_lead",
                                                                       "org": "org:town-hall-rvk"})
    refused = client.get(back.replace("https://testserver", ""))
    assert refused.status_code == 401 and "ACCESS-TOKEN" in refused.text
    assert client.get("/caseload").headers["location"] == "/sign-in"


def test_a_callback_without_the_flows_state_is_refused(client: TestClient, provider: str) -> None:
    authorize = client.get("/sign-in/oidc").headers["location"]
    back = _sign_in_at_provider(provider, authorize, "person:coord-is-1", CLAIMS)
    stranger = TestClient(client.app, base_url="https://testserver", follow_redirects=False)
    assert stranger.get(back.replace("https://testserver", "")).status_code == 401  # no state in its session


def test_no_development_sign_in_or_mail_viewer_in_production(client: TestClient, provider: str) -> None:
    token = csrf_of(client.get("/sign-in").text)
    assert client.post("/sign-in", data={"csrf_token": token, "role": "parent",
                                         "person_ref": "person:parent-is-1"}).status_code == 404
    assert client.get("/me").headers["location"] == "/sign-in"  # nobody was signed in
    back = _sign_in_at_provider(provider, client.get("/sign-in/oidc").headers["location"], "person:coord-is-1",
                                CLAIMS)
    assert client.get(back.replace("https://testserver", "")).status_code == 303
    assert client.get("/dev/mail").status_code == 404


def test_without_a_session_key_or_provider_the_pages_refuse_and_the_api_serves(pg_schema: PgTarget) -> None:
    for web in (WebSettings(), WebSettings(session_secret=SecretStr("s" * 40))):
        for client in _app(pg_schema, web):
            assert client.get("/sign-in").status_code == 503
            assert client.get("/health").status_code == 200
