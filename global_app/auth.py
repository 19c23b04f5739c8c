"""Who may read the global app: open (the local default), Entra ID (bearer tokens for the API,
OpenID Connect sign-in for browsers: global_app/sign_in.py) or App Service Easy Auth.

``EntraAuth`` validates a token's RS256 signature against the provider's signing keys (JWKS),
its audience, issuer (v1 or v2 endpoint of the tenant), expiry and not-before. Keys come from a
``SigningKeys`` source: a JWKS URL (cached by PyJWT's client), the ``jwks_uri`` of an OpenID
Connect discovery document, or a JWKS document given directly (tests, air-gapped setups).
The token's ``roles`` claim maps to the app's roles: reader, and admin (who also reads).
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import jwt

AuthMode = Literal["open", "entra", "easyauth"]
READER = "reader"
ADMIN = "admin"


class AuthError(Exception):
    """No or an invalid token (401)."""


class Forbidden(Exception):
    """Authenticated, but without a role that may read (403)."""


class KeysUnavailable(Exception):
    """The signing keys cannot be fetched right now (503)."""


@dataclass(frozen=True, slots=True)
class RoleNames:
    """The values of the ``roles`` claim that grant the app's roles."""

    reader: str = READER
    admin: str = ADMIN

    def grant(self, claimed: Iterable[str]) -> frozenset[str]:
        values = set(claimed)
        if self.admin in values:
            return frozenset({ADMIN, READER})
        return frozenset({READER}) if self.reader in values else frozenset()


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    name: str | None = None
    roles: frozenset[str] = frozenset()

    @property
    def may_read(self) -> bool:
        return READER in self.roles

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles


class Authenticator(Protocol):
    mode: AuthMode

    def authenticate(self, authorization: str | None) -> Principal: ...


class OpenAccess:
    """No sign-in: for the local system only, and the page says so."""

    mode: AuthMode = "open"

    def authenticate(self, authorization: str | None) -> Principal:
        return Principal("anonymous", roles=frozenset({READER}))


class SigningKeys(Protocol):
    def key_for(self, token: str) -> Any: ...


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The system's trust store, or a private CA's bundle (a provider on a private network)."""
    return ssl.create_default_context(cafile=ca_bundle)


class JwksUrlKeys:
    """The provider's published keys, fetched over HTTPS and cached."""

    def __init__(self, url: str, ca_bundle: str | None = None) -> None:
        self._client = jwt.PyJWKClient(
            url, cache_keys=True, lifespan=3600, timeout=10, ssl_context=tls_context(ca_bundle)
        )

    def key_for(self, token: str) -> Any:
        try:
            return self._client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            raise KeysUnavailable(str(exc)) from exc


class OidcDiscovery:
    """A provider's ``.well-known/openid-configuration``, fetched once when first needed."""

    def __init__(self, authority: str, ca_bundle: str | None = None) -> None:
        self.url = f"{authority.rstrip('/')}/.well-known/openid-configuration"
        self.ca_bundle = ca_bundle
        self._document: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def document(self) -> dict[str, Any]:
        with self._lock:
            if self._document is None:
                try:
                    with urllib.request.urlopen(
                        self.url, timeout=10, context=tls_context(self.ca_bundle)
                    ) as answer:
                        self._document = dict(json.load(answer))
                except (OSError, ValueError) as exc:
                    raise KeysUnavailable(f"{self.url}: {exc}") from exc
            return self._document


class DiscoveredKeys:
    """The keys at the ``jwks_uri`` a discovery document names."""

    def __init__(self, discovery: OidcDiscovery) -> None:
        self._discovery = discovery
        self._keys: JwksUrlKeys | None = None

    def key_for(self, token: str) -> Any:
        if self._keys is None:
            self._keys = JwksUrlKeys(str(self._discovery.document()["jwks_uri"]), self._discovery.ca_bundle)
        return self._keys.key_for(token)


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
        self,
        keys: SigningKeys,
        *,
        audience: str,
        issuers: Sequence[str],
        leeway_s: int = 60,
        role_names: RoleNames | None = None,
    ) -> None:
        self._keys = keys
        self._audience = audience
        self._issuers = list(issuers)
        self._leeway = leeway_s
        self._role_names = role_names or RoleNames()

    def authenticate(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("a bearer token is required")
        return self.principal(self.validate(token.strip()))

    def validate(
        self, token: str, *, audience: str | None = None, issuer: str | None = None
    ) -> dict[str, Any]:
        """The claims of ``token`` (this API's audience, or ``audience``: an ID token's client id)."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=self._keys.key_for(token),
                algorithms=["RS256"],
                audience=audience or self._audience,
                issuer=[issuer] if issuer else self._issuers,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        return claims

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        roles = claims.get("roles")
        claimed = [str(role) for role in roles] if isinstance(roles, list) else []
        name = claims.get("name") or claims.get("preferred_username")
        return Principal(str(claims["sub"]), str(name) if name else None, self._role_names.grant(claimed))
