"""The browser's signed-in session and the sign-in flow in flight, as encrypted cookies.

Fernet (AES-CBC + HMAC-SHA256, with a timestamp) both signs and encrypts: the browser cannot read
or change what it holds, and a cookie older than its lifetime is refused. No server-side store,
so every worker and instance agrees on a session given the same key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from global_app.auth import Principal

SESSION_COOKIE = "edgeloop_session"
FLOW_COOKIE = "edgeloop_sign_in"
FLOW_LIFETIME_S = 600  # time to finish signing in at the provider


@dataclass(frozen=True)
class CookieSettings:
    secure: bool = True
    session_lifetime_s: int = 8 * 3600


class SessionCodec:
    def __init__(self, key: str | bytes, cookies: CookieSettings) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise ValueError(f"GLOBAL_APP_SESSION_KEY: not a Fernet key ({exc})") from None
        self.cookies = cookies

    def seal(self, value: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(value).encode()).decode()

    def open(self, sealed: str | None, max_age_s: int) -> dict[str, Any] | None:
        """The value, or None for an absent, forged, tampered or expired cookie."""
        if not sealed:
            return None
        try:
            value = json.loads(self._fernet.decrypt(sealed.encode(), ttl=max_age_s))
        except (InvalidToken, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def session_value(self, principal: Principal) -> str:
        return self.seal({"sub": principal.subject, "name": principal.name, "roles": sorted(principal.roles)})

    def principal(self, sealed: str | None) -> Principal | None:
        value = self.open(sealed, self.cookies.session_lifetime_s)
        if value is None or not isinstance(value.get("sub"), str):
            return None
        roles = value.get("roles")
        granted = frozenset(str(role) for role in roles) if isinstance(roles, list) else frozenset()
        name = value.get("name")
        return Principal(value["sub"], name if isinstance(name, str) else None, granted)
