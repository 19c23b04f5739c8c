"""Who is asking, for every route but /healthz, the sign-in pages and the API docs.

- open: everyone reads (the local default, marked on every page);
- entra: a bearer token (the JSON API, and any route); browsers without one use their session
  cookie (global_app/sign_in.py) or are sent to sign in (302), the API answers 401 JSON;
- easyauth: App Service's principal headers; without them, pages go to App Service's sign-in.
A principal without the reader (or admin) role is refused (403).
"""

from __future__ import annotations

import urllib.parse

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from global_app.auth import Authenticator, AuthError, Forbidden, Principal
from global_app.easy_auth import LOGIN_PATH, EasyAuth
from global_app.sign_in import OidcSignIn, SignInFailed


class SignInRequired(Exception):
    """A browser page without a session: redirect to ``login_url``."""

    def __init__(self, login_url: str) -> None:
        super().__init__(login_url)
        self.login_url = login_url


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _next_path(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _identify(request: Request, authenticator: Authenticator, sign_in: OidcSignIn | None) -> Principal:
    if isinstance(authenticator, EasyAuth):
        principal = authenticator.from_headers(request.headers)
        if principal is not None:
            return principal
        if not _is_api(request):
            raise SignInRequired(
                f"{LOGIN_PATH}?{urllib.parse.urlencode({'post_login_redirect_uri': _next_path(request)})}"
            )
        raise AuthError("sign in through App Service Authentication")
    authorization = request.headers.get("authorization")
    if authorization is None and sign_in is not None and not _is_api(request):
        principal = sign_in.principal(request)
        if principal is None:
            raise SignInRequired(f"/auth/login?{urllib.parse.urlencode({'next': _next_path(request)})}")
        return principal
    return authenticator.authenticate(authorization)


def require_reader(request: Request) -> Principal:
    """FastAPI dependency: the principal, who may read (401, 302 to sign in, or 403 otherwise)."""
    principal = _identify(request, request.app.state.authenticator, request.app.state.sign_in)
    if not principal.may_read:
        raise Forbidden(f"{principal.name or principal.subject} has no reader or admin role")
    request.state.principal = principal
    return principal


def _page(request: Request, title: str, message: str, status: int) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    context = {"title": title, "message": message, "auth_mode": request.app.state.authenticator.mode}
    return templates.TemplateResponse(request, "message.html", context, status_code=status)


def auth_error(request: Request, exc: Exception) -> Response:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return JSONResponse({"error": "unauthorized", "message": str(exc)}, status_code=401, headers=headers)


def forbidden(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse({"error": "forbidden", "message": str(exc)}, status_code=403)
    return _page(request, "No access", str(exc), 403)


def sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(exc.login_url, status_code=302)


def sign_in_failed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInFailed)
    return _page(request, "Sign-in failed", exc.message, exc.status)


def signed_out(request: Request) -> HTMLResponse:
    return _page(request, "Signed out", "You are signed out of the global insights.", 200)
