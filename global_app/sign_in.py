"""Browser sign-in with OpenID Connect: authorization code flow with PKCE, through msal.

``/auth/login`` starts a flow (msal adds state, nonce and the PKCE verifier) and keeps it in an
encrypted, short-lived cookie; ``/auth/callback`` completes it, validates the ID token again
against the provider's keys (issuer, audience = this client, expiry, signature), maps its
``roles`` to reader/admin and sets the session cookie; ``/auth/logout`` clears the session and
sends the browser to the provider's end-session endpoint. The authority is the tenant's
(Entra ID) or any OpenID Connect provider (``ENTRA_OIDC_AUTHORITY``, msal's ``oidc_authority``).
"""

from __future__ import annotations

import threading
import urllib.parse
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
import msal
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from edgeloop.config.cloud import ENTRA_AUTHORITY
from global_app.auth import AuthError, EntraAuth, OidcDiscovery, Principal, tls_context
from global_app.session import FLOW_COOKIE, FLOW_LIFETIME_S, SESSION_COOKIE, SessionCodec

CALLBACK_PATH = "/auth/callback"


class SignInFailed(Exception):
    """The provider's answer cannot sign anyone in (an error page, 400 or 403)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class OidcClient:
    client_id: str
    client_secret: str
    authority: str  # the issuer: the tenant's v2.0 endpoint, or ENTRA_OIDC_AUTHORITY
    entra_tenant: str | None  # set: msal's Entra authority; None: a generic OpenID Connect provider
    ca_bundle: str | None = None
    public_url: str | None = None  # the app's base URL as browsers see it (behind a proxy)


def safe_next(target: str | None) -> str:
    """Only a path of this app: no open redirect to another site after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class MsalHttp:
    """The HTTP client msal talks to the provider with: httpx with an explicit trust store, which
    (unlike msal's requests session) a REQUESTS_CA_BUNDLE in the environment does not replace."""

    def __init__(self, ca_bundle: str | None) -> None:
        self._client = httpx.Client(verify=tls_context(ca_bundle), timeout=10)

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any
    ) -> httpx.Response:
        return self._client.post(url, params=params, data=data, headers=headers)

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> httpx.Response:
        return self._client.get(url, params=params, headers=headers)

    def close(self) -> None:
        self._client.close()


class OidcSignIn:
    def __init__(
        self, client: OidcClient, verifier: EntraAuth, discovery: OidcDiscovery, codec: SessionCodec
    ) -> None:
        self.client = client
        self._verifier = verifier
        self._discovery = discovery
        self.codec = codec
        self._http_cache: dict[Any, Any] = {}  # msal keeps the provider's discovery here
        self._http = MsalHttp(client.ca_bundle)
        self._lock = threading.Lock()

    def _msal(self) -> msal.ConfidentialClientApplication:
        # A fresh application per flow (msal keeps every token it obtains in its cache; this app
        # needs none after sign-in), sharing the fetched discovery documents.
        where: dict[str, Any] = (
            {"authority": f"{ENTRA_AUTHORITY}/{self.client.entra_tenant}"}
            if self.client.entra_tenant
            else {"oidc_authority": self.client.authority}
        )
        with self._lock:
            return msal.ConfidentialClientApplication(
                self.client.client_id,
                client_credential=self.client.client_secret,
                http_client=self._http,
                http_cache=self._http_cache,
                **where,
            )

    def base_url(self, request: Request) -> str:
        return (self.client.public_url or str(request.base_url)).rstrip("/")

    def principal(self, request: Request) -> Principal | None:
        return self.codec.principal(request.cookies.get(SESSION_COOKIE))

    def _set(self, response: Response, name: str, value: str, max_age: int, path: str = "/") -> None:
        # Lax: sent on the provider's top-level redirect back (a GET), not on cross-site posts.
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=path,
            httponly=True,
            secure=self.codec.cookies.secure,
            samesite="lax",
        )

    def login(self, request: Request) -> Response:
        try:
            # response_mode query (msal warns, preferring form_post): the callback is a top-level GET,
            # so the SameSite=Lax flow cookie comes along; a leaked code is useless without the
            # PKCE verifier, which never leaves this app.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
                flow = self._msal().initiate_auth_code_flow(
                    [], redirect_uri=self.base_url(request) + CALLBACK_PATH, response_mode="query"
                )
        except (ValueError, RuntimeError, httpx.HTTPError) as exc:
            raise SignInFailed(503, f"the sign-in provider cannot be reached: {exc}") from None
        sealed = self.codec.seal({"flow": flow, "next": safe_next(request.query_params.get("next"))})
        response = RedirectResponse(flow["auth_uri"], status_code=302)
        self._set(response, FLOW_COOKIE, sealed, FLOW_LIFETIME_S, path="/auth")
        return response

    def _complete(self, request: Request) -> tuple[Principal, str]:
        pending = self.codec.open(request.cookies.get(FLOW_COOKIE), FLOW_LIFETIME_S)
        if pending is None or not isinstance(pending.get("flow"), dict):
            raise SignInFailed(400, "no sign-in in progress here, or it took too long: sign in again")
        try:
            result = self._msal().acquire_token_by_auth_code_flow(pending["flow"], dict(request.query_params))
        except (ValueError, RuntimeError) as exc:
            raise SignInFailed(400, f"the sign-in answer does not match its request: {exc}") from None
        if "error" in result or "id_token" not in result:
            raise SignInFailed(
                400, f"sign-in refused: {result.get('error_description') or result.get('error')}"
            )
        issuer = str(self._discovery.document()["issuer"])
        try:
            claims = self._verifier.validate(
                result["id_token"], audience=self.client.client_id, issuer=issuer
            )
        except AuthError as exc:
            raise SignInFailed(400, f"the ID token is not valid: {exc}") from None
        principal = self._verifier.principal(claims)
        if not principal.may_read:
            raise SignInFailed(403, f"{principal.name or principal.subject} has no reader or admin role here")
        return principal, safe_next(pending.get("next"))

    def callback(self, request: Request) -> Response:
        principal, target = self._complete(request)
        response = RedirectResponse(target, status_code=303)
        self._set(
            response,
            SESSION_COOKIE,
            self.codec.session_value(principal),
            self.codec.cookies.session_lifetime_s,
        )
        response.delete_cookie(FLOW_COOKIE, path="/auth")
        return response

    def logout(self, request: Request) -> Response:
        target = self.base_url(request) + "/auth/signed-out"
        end_session = self._discovery.document().get("end_session_endpoint")
        if end_session:
            query = {"post_logout_redirect_uri": target, "client_id": self.client.client_id}
            target = f"{end_session}?{urllib.parse.urlencode(query)}"
        response = RedirectResponse(target, status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


def sign_in_router() -> APIRouter:
    router = APIRouter(prefix="/auth", include_in_schema=False)

    def sign_in(request: Request) -> OidcSignIn:
        configured: OidcSignIn | None = request.app.state.sign_in
        if configured is None:
            raise SignInFailed(404, "browser sign-in is not configured here (ENTRA_CLIENT_ID)")
        return configured

    @router.get("/login")
    def login(request: Request) -> Response:
        return sign_in(request).login(request)

    @router.get("/callback")
    def callback(request: Request) -> Response:
        return sign_in(request).callback(request)

    @router.post("/logout")
    def logout(request: Request) -> Response:
        return sign_in(request).logout(request)

    return router
