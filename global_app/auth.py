"""Who may read the global app: open (the local default) or an Entra ID bearer token.

``EntraAuth`` validates the token's RS256 signature against the tenant's
signing keys (JWKS), its audience, issuer (v1 or v2 endpoint of the tenant),
expiry and not-before. Keys come from a ``SigningKeys`` source: the tenant's
JWKS URL in Azure (cached by PyJWT's client), or a JWKS document given
directly (tests, air-gapped setups).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import jwt

AuthMode = Literal["open", "entra"]


class AuthError(Exception):
    """No or an invalid token (401)."""


class KeysUnavailable(Exception):
    """The signing keys cannot be fetched right now (503)."""


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    name: str | None = None


class Authenticator(Protocol):
    mode: AuthMode

    def authenticate(self, authorization: str | None) -> Principal: ...


class OpenAccess:
    """No sign-in: for the local system only, and the page says so."""

    mode: AuthMode = "open"

    def authenticate(self, authorization: str | None) -> Principal:
        return Principal("anonymous")


class SigningKeys(Protocol):
    def key_for(self, token: str) -> Any: ...


class JwksUrlKeys:
    """The tenant's published keys, fetched over HTTPS and cached."""

    def __init__(self, url: str) -> None:
        self._client = jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=10)

    def key_for(self, token: str) -> Any:
        try:
            return self._client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            raise KeysUnavailable(str(exc)) from exc


class StaticJwks:
    """Keys from a JWKS document held in memory."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys = {key.key_id: key for key in jwt.PyJWKSet.from_dict(dict(jwks)).keys}

    def key_for(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        if kid not in self._keys:
            raise jwt.InvalidKeyError(f"no signing key with kid {kid!r}")
        return self._keys[kid].key


class EntraAuth:
    mode: AuthMode = "entra"

    def __init__(
        self, keys: SigningKeys, *, audience: str, issuers: Sequence[str], leeway_s: int = 60
    ) -> None:
        self._keys = keys
        self._audience = audience
        self._issuers = list(issuers)
        self._leeway = leeway_s

    def authenticate(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("a bearer token is required")
        try:
            claims = jwt.decode(
                token.strip(),
                key=self._keys.key_for(token.strip()),
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuers,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        return Principal(str(claims["sub"]), claims.get("name") or claims.get("preferred_username"))
