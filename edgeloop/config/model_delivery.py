"""Settings of a site's model delivery (env prefix ``SCORING_``, read by the scoring app).

* ``SCORING_MODEL_SIGNING_PUBLIC_KEY``: base64 raw Ed25519 public key the site trusts, for
  bundles and champion pointers; several separated by commas while a key is rotated
  (docs/deployment.md). Unset: delivery is off and the site serves ``SCORING_MODEL_DIR`` only.
* ``SCORING_MODEL_REGISTRY_STORAGE``: the account holding the registry; read access is
  enough (in production a read/list SAS on the ``models`` container), as a connection string
  (``BlobEndpoint=https://...;SharedAccessSignature=...``) or as the SAS URL itself
  (``https://<account>.blob.core.windows.net/models?sv=...&sig=...``, what
  ``az storage container generate-sas`` gives appended to the container's URL). Required when
  the public key is set; no default (``UseDevelopmentStorage=true`` = the local Azurite ``cloud``).
* ``SCORING_MODEL_REGISTRY_CONTAINER`` (``models``), ``SCORING_MODEL_NAME`` (``ai4i-failure``).
* ``SCORING_MODEL_POLL_SECONDS``: seconds between looks at the champion pointer.
* ``SCORING_MODEL_CACHE_DIR``: verified bundles on the site (the last one is served
  after a restart, even offline) and the newest champion pointer accepted.
* ``EDGELOOP_SITE_ID``: this site, as a staged rollout names it (the version a signed rollout
  pointer gives this site is the one served; docs/rollouts.md).
* ``SCORING_ROLLBACK_RATE_MULTIPLE``, ``SCORING_ROLLBACK_WINDOW_ROWS``,
  ``SCORING_ROLLBACK_MIN_BASELINE_ROWS``: the automatic rollback rule
  (edgeloop.domain.auto_rollback).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from edgeloop.config.azure_sdk import AzureSdkOptions
from edgeloop.config.base import EdgeloopSettings
from edgeloop.config.connections import Connection, resolve_connection, sas_url_connection_string
from edgeloop.wire.storage_layout import MODELS_CONTAINER

REGISTRY_STORAGE_SETTING = "SCORING_MODEL_REGISTRY_STORAGE"


class ModelDeliverySettings(AzureSdkOptions, EdgeloopSettings):
    model_config = SettingsConfigDict(env_prefix="SCORING_", extra="ignore", populate_by_name=True)

    model_signing_public_key: str | None = None
    model_registry_storage: SecretStr | None = None
    model_registry_container: str = Field(default=MODELS_CONTAINER, min_length=3)
    model_name: str = Field(default="ai4i-failure", min_length=1)
    model_poll_seconds: float = Field(default=30.0, gt=0.0, le=86400.0)
    model_cache_dir: Path = Path("var/edge/models")
    rollback_rate_multiple: float = Field(default=3.0, gt=1.0)
    rollback_window_rows: int = Field(default=200, ge=1)
    rollback_min_baseline_rows: int = Field(default=50, ge=0)
    site_id: str = Field(default="site-local", min_length=1, alias="EDGELOOP_SITE_ID")

    @model_validator(mode="after")
    def _registry_given_when_enabled(self) -> ModelDeliverySettings:
        if self.enabled and not (
            self.model_registry_storage and self.model_registry_storage.get_secret_value()
        ):
            raise ValueError(
                f"{REGISTRY_STORAGE_SETTING}: required when SCORING_MODEL_SIGNING_PUBLIC_KEY is set "
                "(a connection string with read access to the registry container)"
            )
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.model_signing_public_key)

    def registry_connection(self) -> Connection:
        """The registry's account; ``UseDevelopmentStorage=true`` means the local Azurite ``cloud``."""
        secret = self.model_registry_storage
        value = None if secret is None else secret.get_secret_value().strip()
        if value and value.lower().startswith(("https://", "http://")):
            value = sas_url_connection_string(value, self.model_registry_container, REGISTRY_STORAGE_SETTING)
        values = {REGISTRY_STORAGE_SETTING: value}
        return resolve_connection(REGISTRY_STORAGE_SETTING, values, "blob", local_account="cloud")
