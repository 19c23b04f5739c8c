"""Settings of the Power BI feed and the ``edgeloop powerbi`` CLI (env prefix ``POWERBI_``).

``mode``: ``local`` (default) appends rows to JSON Lines files under ``sink_dir``
so the whole path runs without Power BI; ``service`` pushes to a push dataset
through the REST API, as the service principal ``client_id`` of ``tenant_id``.
In Azure, ``POWERBI_CLIENT_SECRET`` is an app setting whose value is a Key Vault
reference (``@Microsoft.KeyVault(SecretUri=...)``) that the platform resolves;
the secret itself is never in the repo or the infra templates.

Rate limits: Power BI allows 120 POST-rows requests per minute and 1,000,000
rows per hour per dataset. A token bucket admits at most ``burst + rate * w``
requests in any window ``w``, so the defaults (100/min, burst 10) stay at or
below 110 per minute, with room for the clock skew between us and the service.
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
from edgeloop.domain.powerbi_schema import DEFAULT_DATASET_NAME, MAX_ROWS_PER_POST

POWERBI_API = "https://api.powerbi.com/v1.0/myorg"
AUTHORITY_HOST = "https://login.microsoftonline.com"
POWERBI_SCOPE = "https://analysis.windows.net/powerbi/api/.default"


class PowerBISettings(CloudStorageConnection, SiteTrust, AzureSdkOptions, EdgeloopSettings):
    """``CloudStorage`` / ``CloudStorage__blobServiceUri`` (the compliant blobs) come from the
    connection mixin, without the ``POWERBI_`` prefix (edgeloop.config.connections)."""

    model_config = SettingsConfigDict(env_prefix="POWERBI_", extra="ignore", populate_by_name=True)

    mode: Literal["local", "service"] = "local"
    api_base_url: str = POWERBI_API  # tests point it at the local stand-in server
    group_id: str | None = None  # the workspace
    dataset_id: str | None = None  # printed by `edgeloop powerbi dataset create`
    dataset_name: str = Field(default=DEFAULT_DATASET_NAME, min_length=1, max_length=100)
    # The model's definition (`edgeloop powerbi dataset generate`): what `create` sends and the
    # feed fills; the default is the demo model's.
    dataset_definition: Path = Path("powerbi/dataset.json")
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    authority_host: str = AUTHORITY_HOST
    # A bearer token used as-is instead of msal (local stand-in server, short manual runs).
    access_token: SecretStr | None = None

    sink_dir: Path = Path("var/cloud/powerbi")
    ledger_path: Path = Path("var/cloud/powerbi-ledger.sqlite3")

    max_rows_per_post: int = Field(default=MAX_ROWS_PER_POST, ge=1, le=MAX_ROWS_PER_POST)
    requests_per_minute: float = Field(default=100, gt=0, le=120)
    request_burst: int = Field(default=10, ge=1, le=120)
    rows_per_hour: int = Field(default=900_000, ge=MAX_ROWS_PER_POST, le=1_000_000)
    max_attempts: int = Field(default=6, ge=1, le=20)
    backoff_seconds: float = Field(default=1.0, gt=0)
    max_backoff_seconds: float = Field(default=60.0, gt=0)
    # A Retry-After longer than this fails the delivery (the message is retried later)
    # instead of holding the Service Bus lock.
    max_retry_after_seconds: float = Field(default=120.0, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _service_mode_is_complete(self) -> PowerBISettings:
        if self.mode == "service":
            # Not dataset_id: `edgeloop powerbi dataset create` runs before it exists.
            names = ["group_id"]
            if self.access_token is None:
                names += ["tenant_id", "client_id", "client_secret"]
            for name in names:
                self.required(name)
        return self

    def required(self, name: str) -> str:
        """The setting's value; raises naming its environment variable if it is not set."""
        value = getattr(self, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not value:
            raise ValueError(f"POWERBI_{name.upper()} must be set (POWERBI_MODE={self.mode})")
        return str(value)
