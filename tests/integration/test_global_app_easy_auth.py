"""GLOBAL_APP_AUTH=easyauth: App Service Authentication signs users in and passes the principal.

There is no App Service here: the test sends the headers App Service would forward
(X-MS-CLIENT-PRINCIPAL, base64 JSON, and X-MS-CLIENT-PRINCIPAL-ID), in the documented format.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edgeloop.config.cloud import CloudSettings
from global_app.app import create_app_from_settings

ROLE_CLAIM = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"


def principal_headers(*roles: str, name: str = "Ana Lyst", subject: str = "oid-ana") -> dict[str, str]:
    claims: list[dict[str, Any]] = [{"typ": "name", "val": name}]
    claims += [{"typ": ROLE_CLAIM, "val": role} for role in roles]
    document = {"auth_typ": "aad", "claims": claims, "name_typ": "name", "role_typ": ROLE_CLAIM}
    encoded = base64.b64encode(json.dumps(document).encode()).decode()
    return {"X-MS-CLIENT-PRINCIPAL": encoded, "X-MS-CLIENT-PRINCIPAL-ID": subject}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = CloudSettings(
        CLOUD_SQLITE_PATH=tmp_path / "global.sqlite3",
        GLOBAL_APP_AUTH="easyauth",
        ENTRA_READER_ROLE="Insights.Read",
        ENTRA_ADMIN_ROLE="Insights.Admin",
    )
    with TestClient(create_app_from_settings(settings), follow_redirects=False) as test_client:
        yield test_client


def test_the_principal_app_service_passes_reads_with_its_roles(client: TestClient) -> None:
    page = client.get("/", headers=principal_headers("Insights.Read"))
    assert page.status_code == 200
    assert '<span id="user-name">Ana Lyst</span>' in page.text
    assert '<span id="user-role">reader</span>' in page.text
    assert 'href="/.auth/logout"' in page.text
    admin = client.get("/", headers=principal_headers("Insights.Admin"))
    assert '<span id="user-role">admin</span>' in admin.text
    assert client.get("/api/v1/summary", headers=principal_headers("Insights.Read")).status_code == 200


def test_without_a_principal_pages_go_to_app_service_sign_in_and_the_api_is_401(client: TestClient) -> None:
    page = client.get("/?from=2026-11-01T00:00Z")
    assert page.status_code == 302
    assert (
        page.headers["location"]
        == "/.auth/login/aad?post_login_redirect_uri=%2F%3Ffrom%3D2026-11-01T00%3A00Z"
    )
    api = client.get("/api/v1/summary")
    assert api.status_code == 401
    assert api.json()["error"] == "unauthorized"
    # A bearer token is App Service's to check, not the app's: it does not stand in for the principal.
    assert client.get("/api/v1/summary", headers={"Authorization": "Bearer x.y.z"}).status_code == 401


def test_a_principal_without_the_role_is_403(client: TestClient) -> None:
    assert client.get("/api/v1/summary", headers=principal_headers("Other.Role")).status_code == 403
    page = client.get("/", headers=principal_headers())
    assert page.status_code == 403
    assert "Ana Lyst has no reader or admin role" in page.text


@pytest.mark.parametrize(
    "headers",
    [
        {"X-MS-CLIENT-PRINCIPAL": "%%% not base64 %%%", "X-MS-CLIENT-PRINCIPAL-ID": "x"},
        {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(b"[1, 2]").decode(), "X-MS-CLIENT-PRINCIPAL-ID": "x"},
        {"X-MS-CLIENT-PRINCIPAL": principal_headers("Insights.Read")["X-MS-CLIENT-PRINCIPAL"]},  # no user id
    ],
    ids=["not-base64", "not-an-object", "no-subject"],
)
def test_malformed_principal_headers_are_401_not_500(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/api/v1/summary", headers=headers)
    assert response.status_code == 401
    assert "X-MS-CLIENT-PRINCIPAL" in response.json()["message"]
