"""Signing in to the global app in a real headless Chromium, against a real OpenID Connect provider
(npm oidc-provider, tests/support/oidc_provider.mjs) the test runs on HTTPS on a free port.

The app is composed from settings exactly as in Azure (GLOBAL_APP_AUTH=entra with a client id),
pointed at the local provider with ENTRA_OIDC_AUTHORITY and trusting its certificate with
ENTRA_CA_BUNDLE. The provider's login and consent pages are its development interactions.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import Browser, BrowserContext, Page, expect
from support.oidc_test_provider import CLIENT_ID, CLIENT_SECRET, OidcTestProvider, running_provider

from edgeloop.config.cloud import CloudSettings
from global_app.app import create_app_from_settings
from global_app.session import SESSION_COOKIE
from localdev.azurite import free_port, wait_for_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AUDIENCE = "api://edgeloop-global"
SESSION_KEY = Fernet.generate_key()


@dataclass
class SignInSystem:
    url: str
    provider: OidcTestProvider


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignInSystem]:
    directory = tmp_path_factory.mktemp("sign-in")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running_provider(directory, url) as provider:
        settings = CloudSettings(
            CLOUD_SQLITE_PATH=directory / "global.sqlite3",
            GLOBAL_APP_AUTH="entra",
            ENTRA_OIDC_AUTHORITY=provider.issuer,
            ENTRA_CA_BUNDLE=provider.ca_bundle,
            ENTRA_AUDIENCE=AUDIENCE,
            ENTRA_CLIENT_ID=CLIENT_ID,
            ENTRA_CLIENT_SECRET=CLIENT_SECRET,
            GLOBAL_APP_SESSION_KEY=SESSION_KEY.decode(),
            GLOBAL_APP_COOKIE_SECURE=False,  # the test serves the app over plain HTTP
        )
        server = uvicorn.Server(
            uvicorn.Config(
                create_app_from_settings(settings), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_for_port("127.0.0.1", port, timeout=20)
        try:
            yield SignInSystem(url, provider)
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # The provider's certificate is self-signed; the app itself trusts it through ENTRA_CA_BUNDLE.
    context = browser.new_context(ignore_https_errors=True)
    yield context
    context.close()


def sign_in_at_provider(page: Page, system: SignInSystem, login: str) -> None:
    """On the provider's pages: log in as ``login`` and consent."""
    expect(page).to_have_url(re.compile(re.escape(system.provider.issuer)))
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.click("button:has-text('Continue')")  # consent to the app reading the profile


def test_a_reader_signs_in_sees_the_dashboard_and_signs_out(
    context: BrowserContext, system: SignInSystem
) -> None:
    page = context.new_page()
    page.goto(system.url + "/?from=2026-11-01T00:00Z")
    sign_in_at_provider(page, system, "ana")
    expect(page).to_have_url(system.url + "/?from=2026-11-01T00:00Z")  # back where the user was going
    expect(page.locator("#user-name")).to_have_text("Ana Reader")
    expect(page.locator("#user-role")).to_have_text("reader")
    session = next(c for c in context.cookies() if c["name"] == SESSION_COOKIE)
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert "Ana" not in session["value"]  # encrypted, not just signed

    page.click("#sign-out")
    page.click("button[name=logout]")  # the provider asks to confirm ending its session
    expect(page).to_have_url(system.url + "/auth/signed-out")
    expect(page.locator("#auth-message h2")).to_have_text("Signed out")
    assert SESSION_COOKIE not in {c["name"] for c in context.cookies()}
    page.goto(system.url + "/")  # signed out at the provider too: it asks for a login again
    expect(page.locator("input[name=login]")).to_be_visible()


def test_an_admin_is_signed_in_as_admin(context: BrowserContext, system: SignInSystem) -> None:
    page = context.new_page()
    page.goto(system.url + "/")
    sign_in_at_provider(page, system, "ada")
    expect(page.locator("#user-name")).to_have_text("Ada Admin")
    expect(page.locator("#user-role")).to_have_text("admin")


def test_an_account_without_a_role_is_refused(context: BrowserContext, system: SignInSystem) -> None:
    page = context.new_page()
    page.goto(system.url + "/")
    sign_in_at_provider(page, system, "nobody")
    expect(page.locator("#auth-message h2")).to_have_text("Sign-in failed")
    expect(page.locator("#auth-message")).to_contain_text("No Role has no reader or admin role")
    assert SESSION_COOKIE not in {c["name"] for c in context.cookies()}


@pytest.mark.parametrize("cookie", ["forged", "expired", "garbage"])
def test_a_forged_or_expired_session_sends_the_browser_to_sign_in(
    context: BrowserContext, system: SignInSystem, cookie: str
) -> None:
    claims = json.dumps({"sub": "mallory", "name": "Mallory", "roles": ["admin", "reader"]}).encode()
    values = {
        "forged": Fernet(Fernet.generate_key()).encrypt(claims).decode(),  # not the app's key
        "expired": Fernet(SESSION_KEY).encrypt_at_time(claims, int(time.time()) - 9 * 3600).decode(),
        "garbage": "not-a-session",
    }
    context.add_cookies([{"name": SESSION_COOKIE, "value": values[cookie], "url": system.url}])
    page = context.new_page()
    page.goto(system.url + "/")
    expect(page.locator("input[name=login]")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(system.provider.issuer)))


def test_the_api_keeps_bearer_tokens_checked_against_the_providers_keys(system: SignInSystem) -> None:
    provider = system.provider
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens = {
        "valid": provider.mint(aud=AUDIENCE),
        "wrong-audience": provider.mint(),  # an ID token (audience: the app's client id) is no API token
        "expired": provider.mint(aud=AUDIENCE, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
        "forged": provider.mint(stranger, aud=AUDIENCE),  # the provider's key id, another key
    }
    with httpx.Client(base_url=system.url, timeout=30) as client:
        answers = {
            name: client.get("/api/v1/summary", headers={"Authorization": f"Bearer {token}"}).status_code
            for name, token in tokens.items()
        }
        assert answers == {"valid": 200, "wrong-audience": 401, "expired": 401, "forged": 401}
        unauthenticated = client.get("/api/v1/summary")
        assert unauthenticated.status_code == 401  # the API never redirects to a sign-in page
        assert unauthenticated.json()["error"] == "unauthorized"
        page = client.get("/", follow_redirects=False)
        assert page.status_code == 302
        assert page.headers["location"] == "/auth/login?next=%2F"


def test_the_api_docs_page_offers_sign_in_with_pkce(system: SignInSystem) -> None:
    with httpx.Client(base_url=system.url, timeout=30) as client:
        docs = client.get("/api/docs").text
        document = client.get("/api/openapi.json").json()
    assert '"usePkceWithAuthorizationCodeGrant": true' in docs
    assert f'"clientId": "{CLIENT_ID}"' in docs
    schemes = document["components"]["securitySchemes"]
    assert schemes["entra"] == {
        "type": "openIdConnect",
        "openIdConnectUrl": f"{system.provider.issuer}/.well-known/openid-configuration",
    }
    assert document["paths"]["/api/v1/summary"]["get"]["security"][0] == {
        "entra": ["openid", f"{AUDIENCE}/.default"]
    }


def test_a_sign_in_answer_without_its_flow_is_refused(system: SignInSystem) -> None:
    with httpx.Client(base_url=system.url, timeout=30) as client:
        answer = client.get("/auth/callback", params={"code": "stolen", "state": "guessed"})
    assert answer.status_code == 400
    assert "no sign-in in progress" in answer.text
    assert SESSION_COOKIE not in answer.cookies


def test_sign_in_state_from_another_flow_is_refused(context: BrowserContext, system: SignInSystem) -> None:
    page = context.new_page()
    page.goto(system.url + "/auth/login")  # a flow starts: its cookie is set, the provider asks for a login
    expect(page.locator("input[name=login]")).to_be_visible()
    page.goto(system.url + "/auth/callback?code=attacker-code&state=attacker-state")
    expect(page.locator("#auth-message")).to_contain_text("does not match its request")
