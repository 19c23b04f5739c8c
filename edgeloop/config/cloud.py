"""Settings of the cloud's global insight store, its ingest function and the global app.

Names (environment first, then local.settings.json ``Values``):

* ``CLOUD_STORE``: ``sqlite`` (local default, ``CLOUD_SQLITE_PATH``) or ``cosmos``;
* ``COSMOS_ENDPOINT``, ``COSMOS_KEY`` (absent: managed identity through
  azure-identity), ``COSMOS_DATABASE``, ``COSMOS_CONTAINER``, ``COSMOS_TTL_SECONDS``
  (insight documents expire; counters stay), ``COSMOS_MAX_CONCURRENCY``,
  ``COSMOS_RETRY_TOTAL`` / ``COSMOS_RETRY_BACKOFF_MAX`` (the SDK's 429 retries),
  ``COSMOS_CREATE_CONTAINER`` (create database and container if absent);
* ``CloudStorage`` (a connection string) or ``CloudStorage__blobServiceUri`` (identity-based,
  edgeloop.config.connections): the account the compliant blobs are read from; no default;
* ``GLOBAL_APP_HOST`` / ``GLOBAL_APP_PORT``: where ``python -m global_app`` listens;
* ``GLOBAL_APP_AUTH``: ``open`` (local default, marked on every page), ``entra``
  (the API takes an Entra ID bearer token, validated against ``ENTRA_TENANT_ID``'s signing
  keys for audience ``ENTRA_AUDIENCE``; ``ENTRA_JWKS_URL`` overrides the key URL; browsers
  sign in with OpenID Connect when ``ENTRA_CLIENT_ID`` is set) or ``easyauth`` (App Service
  Authentication signs users in and passes ``X-MS-CLIENT-PRINCIPAL``);
* sign-in: ``ENTRA_CLIENT_ID``, ``ENTRA_CLIENT_SECRET`` (or ``_FILE``), ``ENTRA_OIDC_AUTHORITY``
  (another OpenID Connect provider than the tenant's), ``ENTRA_CA_BUNDLE`` (a private CA of that
  provider), ``ENTRA_READER_ROLE`` / ``ENTRA_ADMIN_ROLE`` (values of the ``roles`` claim),
  ``ENTRA_DOCS_CLIENT_ID`` / ``ENTRA_API_SCOPE`` (sign-in on the API docs page),
  ``GLOBAL_APP_SESSION_KEY`` (or ``_FILE``; a Fernet key), ``GLOBAL_APP_SESSION_HOURS``,
  ``GLOBAL_APP_COOKIE_SECURE``, ``GLOBAL_APP_PUBLIC_URL`` (the base of the redirect URI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from edgeloop.config.azure_sdk import AzureSdkOptions
from edgeloop.config.base import EdgeloopSettings
from edgeloop.config.connections import CloudStorageConnection
from edgeloop.config.site_signing import SiteTrust

ENTRA_AUTHORITY = "https://login.microsoftonline.com"


class CloudSettings(CloudStorageConnection, SiteTrust, AzureSdkOptions, EdgeloopSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    store: Literal["sqlite", "cosmos"] = Field(default="sqlite", alias="CLOUD_STORE")
    sqlite_path: Path = Field(default=Path("var/cloud/global.sqlite3"), alias="CLOUD_SQLITE_PATH")

    cosmos_endpoint: str | None = Field(default=None, alias="COSMOS_ENDPOINT")
    cosmos_key: SecretStr | None = Field(default=None, alias="COSMOS_KEY")
    cosmos_database: str = Field(default="edgeloop", min_length=1, alias="COSMOS_DATABASE")
    cosmos_container: str = Field(default="insights", min_length=1, alias="COSMOS_CONTAINER")
    cosmos_ttl_seconds: int | None = Field(default=None, ge=1, alias="COSMOS_TTL_SECONDS")
    cosmos_max_concurrency: int = Field(default=4, ge=1, le=64, alias="COSMOS_MAX_CONCURRENCY")
    cosmos_retry_total: int = Field(default=9, ge=0, le=100, alias="COSMOS_RETRY_TOTAL")
    cosmos_retry_backoff_max_s: int = Field(default=30, ge=1, le=600, alias="COSMOS_RETRY_BACKOFF_MAX")
    cosmos_create_container: bool = Field(default=False, alias="COSMOS_CREATE_CONTAINER")

    app_host: str = Field(default="127.0.0.1", alias="GLOBAL_APP_HOST")
    app_port: int = Field(default=8001, ge=1, le=65535, alias="GLOBAL_APP_PORT")
    app_auth: Literal["open", "entra", "easyauth"] = Field(default="open", alias="GLOBAL_APP_AUTH")
    entra_tenant_id: str | None = Field(default=None, alias="ENTRA_TENANT_ID")
    entra_audience: str | None = Field(default=None, alias="ENTRA_AUDIENCE")
    entra_jwks_url: str | None = Field(default=None, alias="ENTRA_JWKS_URL")
    entra_oidc_authority: str | None = Field(default=None, alias="ENTRA_OIDC_AUTHORITY")
    entra_ca_bundle: Path | None = Field(default=None, alias="ENTRA_CA_BUNDLE")
    entra_client_id: str | None = Field(default=None, alias="ENTRA_CLIENT_ID")
    entra_client_secret: SecretStr | None = Field(default=None, alias="ENTRA_CLIENT_SECRET")
    entra_client_secret_file: Path | None = Field(default=None, alias="ENTRA_CLIENT_SECRET_FILE")
    entra_reader_role: str = Field(default="reader", min_length=1, alias="ENTRA_READER_ROLE")
    entra_admin_role: str = Field(default="admin", min_length=1, alias="ENTRA_ADMIN_ROLE")
    entra_docs_client_id: str | None = Field(default=None, alias="ENTRA_DOCS_CLIENT_ID")
    entra_api_scope: str | None = Field(default=None, alias="ENTRA_API_SCOPE")
    session_key: SecretStr | None = Field(default=None, alias="GLOBAL_APP_SESSION_KEY")
    session_key_file: Path | None = Field(default=None, alias="GLOBAL_APP_SESSION_KEY_FILE")
    session_hours: float = Field(default=8, gt=0, le=24 * 7, alias="GLOBAL_APP_SESSION_HOURS")
    cookie_secure: bool = Field(default=True, alias="GLOBAL_APP_COOKIE_SECURE")
    public_url: str | None = Field(default=None, alias="GLOBAL_APP_PUBLIC_URL")

    @model_validator(mode="after")
    def _complete(self) -> CloudSettings:
        if self.store == "cosmos" and not self.cosmos_endpoint:
            raise ValueError("COSMOS_ENDPOINT: required when CLOUD_STORE=cosmos")
        if self.app_auth == "entra" and not (
            (self.entra_tenant_id or self.entra_oidc_authority) and self.entra_audience
        ):
            raise ValueError("ENTRA_TENANT_ID and ENTRA_AUDIENCE: required when GLOBAL_APP_AUTH=entra")
        if self.app_auth == "entra" and self.entra_client_id:
            if not (self.entra_client_secret or self.entra_client_secret_file):
                raise ValueError("ENTRA_CLIENT_SECRET (or _FILE): required with ENTRA_CLIENT_ID")
            if not (self.session_key or self.session_key_file):
                raise ValueError("GLOBAL_APP_SESSION_KEY (or _FILE): required with ENTRA_CLIENT_ID")
        return self

    @property
    def oidc_authority(self) -> str:
        """The OpenID Connect issuer users sign in at: the tenant's v2.0 endpoint by default."""
        return (self.entra_oidc_authority or f"{ENTRA_AUTHORITY}/{self.entra_tenant_id}/v2.0").rstrip("/")

    @property
    def entra_issuers(self) -> tuple[str, ...]:
        """Entra ID v2 and v1 token issuers of the tenant (another provider: its authority)."""
        tenant = self.entra_tenant_id
        if self.entra_oidc_authority:
            return (self.oidc_authority,)
        return (f"{ENTRA_AUTHORITY}/{tenant}/v2.0", f"https://sts.windows.net/{tenant}/")

    @property
    def entra_keys_url(self) -> str | None:
        """The signing keys' URL; None: the ``jwks_uri`` of ``ENTRA_OIDC_AUTHORITY``'s discovery."""
        if self.entra_jwks_url or self.entra_oidc_authority:
            return self.entra_jwks_url
        return f"{ENTRA_AUTHORITY}/{self.entra_tenant_id}/discovery/v2.0/keys"
