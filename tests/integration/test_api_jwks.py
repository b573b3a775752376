"""Bearer tokens verified with an identity provider's keys (``PROSPERITY_API_JWKS_URL``), served over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from domain.values import Actor, Role
from services.api.identity import TokenVerifier, Unauthenticated
from services.api.settings import ApiSettings

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    document = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "person:cm-9", "role": "case_manager", "org": "org:unit-9", "iss": "https://idp.example",
            "aud": "prosperity-api", "iat": now, "exp": now + 60, **extra}


def test_jwks_verifies_the_identity_providers_tokens_only(jwks_url: str) -> None:
    settings = ApiSettings(jwks_url=jwks_url, issuer="https://idp.example")
    verifier = TokenVerifier(settings)
    token = jwt.encode(_claims(), KEY, algorithm="RS256", headers={"kid": "k1"})
    assert verifier.actor(token) == Actor("person:cm-9", Role.CASE_MANAGER, "org:unit-9")
    # Once an identity provider is configured, a token signed with the dev secret is refused...
    hs_token = jwt.encode(_claims(), settings.jwt_secret.get_secret_value(), algorithm="HS256",
                          headers={"kid": "k1"})
    with pytest.raises(Unauthenticated):
        verifier.actor(hs_token)
    # ...and so is one signed with another key, or naming a key the provider does not publish.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthenticated):
        verifier.actor(jwt.encode(_claims(), other, algorithm="RS256", headers={"kid": "k1"}))
    with pytest.raises(Unauthenticated):
        verifier.actor(jwt.encode(_claims(), KEY, algorithm="RS256", headers={"kid": "unknown"}))
