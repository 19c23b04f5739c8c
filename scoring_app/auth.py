"""Who may score: API clients by ``X-API-Key``, the browser form by a same-origin session.

The form must work without typing a key on the local default (``SCORING_FORM_OPEN``).
``GET /`` sets an HttpOnly, SameSite=Strict cookie holding a random session id and
renders a CSRF token = HMAC(form secret, session id) into the page. A form post is
accepted only with both: another site cannot send the cookie (SameSite=Strict)
nor read the token (same-origin policy), so it cannot score or send feedback in
the user's name. The form secret is derived from the API key so every worker
process agrees on it without sharing state.

The API key is required by declaring :func:`require_api_key` as a dependency of a
router; the direct route (scoring_app/fast_route.py) runs the same dependency.
Admin routes declare :func:`require_admin_key` instead: a separate key (``X-Admin-Key``,
``SCORING_ADMIN_API_KEY``), so a client that may score cannot roll the site's model back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request

from scoring_app.errors import ApiError

API_KEY_HEADER = "x-api-key"
ADMIN_KEY_HEADER = "x-admin-key"
SESSION_COOKIE = "edgeloop_form"
CSRF_FIELD = "csrf_token"


class Guard:
    def __init__(self, api_key: str, form_open: bool, admin_key: str | None = None) -> None:
        self._api_key = api_key.encode()
        self._admin_key = admin_key.encode() if admin_key else None
        self.form_open = form_open
        self._form_secret = hmac.new(self._api_key, b"edgeloop scoring form session", hashlib.sha256).digest()

    def check_api_key(self, request: Request) -> None:
        provided = request.headers.get(API_KEY_HEADER)
        if provided is None:
            raise ApiError(401, "missing X-API-Key header", {"WWW-Authenticate": "X-API-Key"})
        if not hmac.compare_digest(provided.encode(), self._api_key):
            raise ApiError(401, "invalid API key", {"WWW-Authenticate": "X-API-Key"})

    def check_admin_key(self, request: Request) -> None:
        if self._admin_key is None:
            raise ApiError(403, "admin routes are off on this site: set SCORING_ADMIN_API_KEY (or _FILE)")
        provided = request.headers.get(ADMIN_KEY_HEADER)
        challenge = {"WWW-Authenticate": "X-Admin-Key"}
        if provided is None:
            if request.headers.get(API_KEY_HEADER) is not None:
                raise ApiError(
                    403, "the scoring API key cannot administer: send the admin key in X-Admin-Key"
                )
            raise ApiError(401, "missing X-Admin-Key header", challenge)
        if not hmac.compare_digest(provided.encode(), self._admin_key):
            raise ApiError(401, "invalid admin key", challenge)

    @staticmethod
    def new_session_id() -> str:
        return secrets.token_urlsafe(24)

    def csrf_token(self, session_id: str) -> str:
        return hmac.new(self._form_secret, session_id.encode(), hashlib.sha256).hexdigest()

    def check_form(self, request: Request, csrf_token: str | None) -> None:
        """A form post: needs the form to be open, the session cookie and its CSRF token."""
        if not self.form_open:
            raise ApiError(403, "the web form is closed on this site (SCORING_FORM_OPEN=false); use the API")
        session_id = request.cookies.get(SESSION_COOKIE)
        if not session_id or not csrf_token:
            raise ApiError(403, "form session missing or expired: reload the page")
        if not hmac.compare_digest(self.csrf_token(session_id).encode(), csrf_token.encode()):
            raise ApiError(403, "form session token does not match: reload the page")


async def require_api_key(request: Request) -> None:
    """FastAPI dependency: 401 unless the request carries the site's API key."""
    guard: Guard = request.app.state.ctx.guard
    guard.check_api_key(request)


async def require_admin_key(request: Request) -> None:
    """FastAPI dependency: 401/403 unless the request carries the site's admin key."""
    guard: Guard = request.app.state.ctx.guard
    guard.check_admin_key(request)
