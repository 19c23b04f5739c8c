"""Settings of a site's model delivery (env prefix ``SCORING_``, read by the scoring app).

* ``SCORING_MODEL_SIGNING_PUBLIC_KEY``: base64 raw Ed25519 public key the site trusts.
  Unset: delivery is off and the site serves ``SCORING_MODEL_DIR`` only.
* ``SCORING_MODEL_REGISTRY_STORAGE``: connection string of the account holding the
  registry (read access is enough; a SAS in Azure), default the local Azurite ``cloud``.
* ``SCORING_MODEL_REGISTRY_CONTAINER`` (``models``), ``SCORING_MODEL_NAME`` (``ai4i-failure``).
* ``SCORING_MODEL_POLL_SECONDS``: seconds between looks at the champion pointer.
* ``SCORING_MODEL_CACHE_DIR``: verified bundles on the site (the last one is served
  after a restart, even offline).
* ``SCORING_ROLLBACK_RATE_MULTIPLE``, ``SCORING_ROLLBACK_WINDOW_ROWS``,
  ``SCORING_ROLLBACK_MIN_BASELINE_ROWS``: the automatic rollback rule
  (edgeloop.domain.auto_rollback).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from edgeloop.config.base import EdgeloopSettings
from edgeloop.config.cloud import local_cloud_storage


class ModelDeliverySettings(EdgeloopSettings):
    model_config = SettingsConfigDict(env_prefix="SCORING_", extra="ignore", populate_by_name=True)

    model_signing_public_key: str | None = None
    model_registry_storage: SecretStr = Field(default_factory=local_cloud_storage)
    model_registry_container: str = Field(default="models", min_length=3)
    model_name: str = Field(default="ai4i-failure", min_length=1)
    model_poll_seconds: float = Field(default=30.0, gt=0.0, le=86400.0)
    model_cache_dir: Path = Path("var/edge/models")
    rollback_rate_multiple: float = Field(default=3.0, gt=1.0)
    rollback_window_rows: int = Field(default=200, ge=1)
    rollback_min_baseline_rows: int = Field(default=50, ge=0)

    @property
    def enabled(self) -> bool:
        return bool(self.model_signing_public_key)
