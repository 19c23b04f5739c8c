"""From settings to who may read the global app: the authenticator, browser sign-in, docs sign-in.

Built by ``create_app_from_settings`` at start-up. Nothing here reaches the network: the
provider's discovery document and keys are fetched when first needed.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from edgeloop.config.cloud import CloudSettings
from global_app.auth import (
    Authenticator,
    DiscoveredKeys,
    EntraAuth,
    JwksUrlKeys,
    OidcDiscovery,
    OpenAccess,
    RoleNames,
    SigningKeys,
)
from global_app.easy_auth import EasyAuth
from global_app.openapi import DocsSignIn
from global_app.session import CookieSettings, SessionCodec
from global_app.sign_in import OidcClient, OidcSignIn


def read_secret(value: SecretStr | None, path: Path | None, name: str) -> str:
    """``value``, else the content of ``path`` (a mounted secret, e.g. a Key Vault reference)."""
    if value is not None and value.get_secret_value().strip():
        return value.get_secret_value().strip()
    if path is None:
        raise ValueError(f"{name}: not set")
    try:
        content = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None
    if not content:
        raise ValueError(f"{name}_FILE: {path} is empty")
    return content


def _sign_in(settings: CloudSettings, verifier: EntraAuth, discovery: OidcDiscovery) -> OidcSignIn | None:
    if not settings.entra_client_id:
        return None
    client = OidcClient(
        client_id=settings.entra_client_id,
        client_secret=read_secret(
            settings.entra_client_secret, settings.entra_client_secret_file, "ENTRA_CLIENT_SECRET"
        ),
        authority=settings.oidc_authority,
        entra_tenant=None if settings.entra_oidc_authority else settings.entra_tenant_id,
        ca_bundle=str(settings.entra_ca_bundle) if settings.entra_ca_bundle else None,
        public_url=settings.public_url,
    )
    key = read_secret(settings.session_key, settings.session_key_file, "GLOBAL_APP_SESSION_KEY")
    cookies = CookieSettings(
        secure=settings.cookie_secure, session_lifetime_s=int(settings.session_hours * 3600)
    )
    return OidcSignIn(client, verifier, discovery, SessionCodec(key, cookies))


def _docs_sign_in(settings: CloudSettings, discovery: OidcDiscovery) -> DocsSignIn | None:
    client_id = settings.entra_docs_client_id or settings.entra_client_id
    if not client_id:
        return None
    scope = settings.entra_api_scope or f"{settings.entra_audience}/.default"
    return DocsSignIn(client_id=client_id, scopes=("openid", scope), discovery_url=discovery.url)


def access_from_settings(
    settings: CloudSettings,
) -> tuple[Authenticator, OidcSignIn | None, DocsSignIn | None]:
    roles = RoleNames(settings.entra_reader_role, settings.entra_admin_role)
    if settings.app_auth == "open":
        return OpenAccess(), None, None
    if settings.app_auth == "easyauth":
        return EasyAuth(roles), None, None
    assert settings.entra_audience is not None  # CloudSettings validates entra settings
    ca_bundle = str(settings.entra_ca_bundle) if settings.entra_ca_bundle else None
    discovery = OidcDiscovery(settings.oidc_authority, ca_bundle)
    keys_url = settings.entra_keys_url
    keys: SigningKeys = JwksUrlKeys(keys_url, ca_bundle) if keys_url else DiscoveredKeys(discovery)
    verifier = EntraAuth(
        keys, audience=settings.entra_audience, issuers=settings.entra_issuers, role_names=roles
    )
    return verifier, _sign_in(settings, verifier, discovery), _docs_sign_in(settings, discovery)
