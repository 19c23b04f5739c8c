"""App Service Authentication ("Easy Auth"): the platform signs users in and tells the app who.

App Service validates the session or token itself and forwards the user in request headers:
``X-MS-CLIENT-PRINCIPAL`` (base64 JSON: ``claims`` as ``{"typ", "val"}``, ``name_typ``,
``role_typ``) and ``X-MS-CLIENT-PRINCIPAL-ID``. It strips these headers from what clients send,
so this mode is only safe behind App Service Authentication (docs/global-app.md).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from global_app.auth import AuthError, AuthMode, Principal, RoleNames

PRINCIPAL_HEADER = "x-ms-client-principal"
PRINCIPAL_ID_HEADER = "x-ms-client-principal-id"
LOGIN_PATH = "/.auth/login/aad"
LOGOUT_PATH = "/.auth/logout"
_ROLE_TYPES = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")


def _decode(value: str) -> dict[str, Any]:
    try:
        document = json.loads(base64.b64decode(value, validate=False))
    except (binascii.Error, ValueError) as exc:
        raise AuthError(f"X-MS-CLIENT-PRINCIPAL is not base64 JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("claims", []), list):
        raise AuthError("X-MS-CLIENT-PRINCIPAL: expected an object with a 'claims' list")
    return document


class EasyAuth:
    mode: AuthMode = "easyauth"

    def __init__(self, role_names: RoleNames | None = None) -> None:
        self._role_names = role_names or RoleNames()

    def from_headers(self, headers: Mapping[str, str]) -> Principal | None:
        """The signed-in user, or None when App Service passed nobody."""
        encoded = headers.get(PRINCIPAL_HEADER)
        if not encoded:
            return None
        document = _decode(encoded)
        claims = [c for c in document.get("claims", []) if isinstance(c, dict)]
        role_types = {str(document.get("role_typ") or "roles"), *_ROLE_TYPES}
        name_type = str(document.get("name_typ") or "name")
        roles = [str(c.get("val")) for c in claims if c.get("typ") in role_types]
        names = [str(c.get("val")) for c in claims if c.get("typ") in (name_type, "name")]
        subject = headers.get(PRINCIPAL_ID_HEADER) or next(
            (str(c.get("val")) for c in claims if c.get("typ") in ("sub", "oid")), None
        )
        if not subject:
            raise AuthError("X-MS-CLIENT-PRINCIPAL names no user (no X-MS-CLIENT-PRINCIPAL-ID)")
        return Principal(subject, names[0] if names else None, self._role_names.grant(roles))

    def authenticate(self, authorization: str | None) -> Principal:
        raise AuthError("sign in through App Service Authentication")
