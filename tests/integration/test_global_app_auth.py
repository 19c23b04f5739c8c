"""Entra ID bearer tokens on the global app, with RSA keys generated here (no network).

The tenant's JWKS is either injected (``StaticJwks``) or served by a local HTTP
server on 127.0.0.1, which is what the settings-driven composition fetches.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.config.cloud import CloudSettings
from global_app.app import create_app, create_app_from_settings
from global_app.auth import EntraAuth, StaticJwks
from localdev.azurite import free_port

TENANT = "11111111-2222-3333-4444-555555555555"
AUDIENCE = "api://edgeloop-global"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks(signing_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    return {"keys": [{**public, "kid": "test-key", "use": "sig", "alg": "RS256"}]}


def token(key: Any, *, kid: str = "test-key", alg: str = "RS256", **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "analyst-1", "name": "Ana Lyst", "iat": now, "nbf": now}
    claims["roles"] = ["reader"]
    claims["exp"] = now + 600
    claims.update(overrides)
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


@pytest.fixture
def client(tmp_path: Path, jwks: dict[str, Any]) -> Iterator[TestClient]:
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    auth = EntraAuth(StaticJwks(jwks), audience=AUDIENCE, issuers=[ISSUER])
    with TestClient(create_app(store, auth)) as test_client:
        yield test_client
    store.close()


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_a_valid_token_reads_the_api_and_the_page(client: TestClient, signing_key: rsa.RSAPrivateKey) -> None:
    assert client.get("/api/v1/summary", headers=bearer(token(signing_key))).status_code == 200
    page = client.get("/", headers=bearer(token(signing_key)))
    assert page.status_code == 200
    assert "Signed in with Entra ID" in page.text
    assert "Open access" not in page.text


def test_the_roles_claim_grants_reader_or_admin_and_nothing_else_reads(
    client: TestClient, signing_key: rsa.RSAPrivateKey
) -> None:
    admin_page = client.get("/", headers=bearer(token(signing_key, roles=["admin"])))
    assert admin_page.status_code == 200
    assert '<span id="user-role">admin</span>' in admin_page.text
    reader_page = client.get("/", headers=bearer(token(signing_key)))
    assert '<span id="user-role">reader</span>' in reader_page.text
    for roles in ([], ["Insights.Write"], "reader"):  # none, another app's role, not a list
        response = client.get("/api/v1/summary", headers=bearer(token(signing_key, roles=roles)))
        assert response.status_code == 403
        assert response.json()["error"] == "forbidden"
    assert client.get("/", headers=bearer(token(signing_key, roles=[]))).status_code == 403


def test_no_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    for path in ("/", "/api/v1/insights", "/api/v1/summary"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/healthz").status_code == 200  # the platform's probe needs no token


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "api://someone-else"},
        {"iss": "https://login.microsoftonline.com/another-tenant/v2.0"},
        {"exp": int(time.time()) - 3600},
        {"nbf": int(time.time()) + 3600},
    ],
    ids=["audience", "issuer", "expired", "not-yet-valid"],
)
def test_tokens_for_something_else_are_refused(
    client: TestClient, signing_key: rsa.RSAPrivateKey, claims: dict[str, Any]
) -> None:
    assert client.get("/api/v1/summary", headers=bearer(token(signing_key, **claims))).status_code == 401


def test_tokens_not_signed_by_the_tenant_are_refused(client: TestClient) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert client.get("/api/v1/summary", headers=bearer(token(stranger))).status_code == 401
    assert client.get("/api/v1/summary", headers=bearer(token(stranger, kid="other"))).status_code == 401
    # Algorithm confusion: an HMAC token keyed with a public value must not pass.
    hmac_token = token("public-knowledge-secret-of-32-bytes!", alg="HS256")
    assert client.get("/api/v1/summary", headers=bearer(hmac_token)).status_code == 401
    assert client.get("/api/v1/summary", headers={"Authorization": "Basic abc"}).status_code == 401


class _JwksHandler(BaseHTTPRequestHandler):
    document = b"{}"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_settings_compose_entra_auth_that_fetches_the_tenants_keys(
    tmp_path: Path, jwks: dict[str, Any], signing_key: rsa.RSAPrivateKey
) -> None:
    handler = type("Handler", (_JwksHandler,), {"document": json.dumps(jwks).encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings = CloudSettings(
            CLOUD_SQLITE_PATH=tmp_path / "global.sqlite3",
            GLOBAL_APP_AUTH="entra",
            ENTRA_TENANT_ID=TENANT,
            ENTRA_AUDIENCE=AUDIENCE,
            ENTRA_JWKS_URL=f"http://127.0.0.1:{server.server_address[1]}/keys",
        )
        with TestClient(create_app_from_settings(settings)) as client:
            assert client.get("/api/v1/summary", headers=bearer(token(signing_key))).status_code == 200
            assert client.get("/api/v1/summary").status_code == 401
    finally:
        server.shutdown()
        server.server_close()


def test_unreachable_signing_keys_answer_503_not_500(tmp_path: Path, signing_key: rsa.RSAPrivateKey) -> None:
    settings = CloudSettings(
        CLOUD_SQLITE_PATH=tmp_path / "global.sqlite3",
        GLOBAL_APP_AUTH="entra",
        ENTRA_TENANT_ID=TENANT,
        ENTRA_AUDIENCE=AUDIENCE,
        ENTRA_JWKS_URL=f"http://127.0.0.1:{free_port()}/keys",  # nothing listens there
    )
    with TestClient(create_app_from_settings(settings)) as client:
        response = client.get("/api/v1/summary", headers=bearer(token(signing_key)))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"


def test_entra_mode_without_tenant_or_audience_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="ENTRA_TENANT_ID and ENTRA_AUDIENCE"):
        CloudSettings(GLOBAL_APP_AUTH="entra")


def test_browser_sign_in_needs_its_secret_and_session_key() -> None:
    entra = {"GLOBAL_APP_AUTH": "entra", "ENTRA_TENANT_ID": TENANT, "ENTRA_AUDIENCE": AUDIENCE}
    with pytest.raises(ValueError, match="ENTRA_CLIENT_SECRET"):
        CloudSettings(**entra, ENTRA_CLIENT_ID="client")
    with pytest.raises(ValueError, match="GLOBAL_APP_SESSION_KEY"):
        CloudSettings(**entra, ENTRA_CLIENT_ID="client", ENTRA_CLIENT_SECRET="secret")


def test_a_session_key_that_is_not_a_fernet_key_fails_at_start_up(tmp_path: Path) -> None:
    key_file = tmp_path / "session-key"
    key_file.write_text("too-short\n", encoding="utf-8")
    settings = CloudSettings(
        CLOUD_SQLITE_PATH=tmp_path / "global.sqlite3",
        GLOBAL_APP_AUTH="entra",
        ENTRA_TENANT_ID=TENANT,
        ENTRA_AUDIENCE=AUDIENCE,
        ENTRA_CLIENT_ID="client",
        ENTRA_CLIENT_SECRET="secret",
        GLOBAL_APP_SESSION_KEY_FILE=key_file,
    )
    with pytest.raises(ValueError, match="GLOBAL_APP_SESSION_KEY: not a Fernet key"):
        create_app_from_settings(settings)


def test_without_a_client_id_there_is_no_browser_sign_in(client: TestClient) -> None:
    response = client.get("/auth/login")
    assert response.status_code == 404
    assert "ENTRA_CLIENT_ID" in response.text
