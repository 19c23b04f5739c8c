"""Settings of a site's frame store and frame upload (env prefix ``SCORING_``, read by the scoring app).

* ``SCORING_FRAMES_DIR``: the frame store's folder on the site's volume (frames and the
  upload audit, edgeloop.adapters.sqlite_frame_store). Unset: the site keeps no frames (a
  site serving tabular models), so none can leave it either.
* ``SCORING_FRAMES_MAX_BYTES``, ``SCORING_FRAMES_MAX_AGE_HOURS``: the retention bounds
  (oldest frames go first).
* ``SCORING_FRAMES_JPEG_QUALITY``: the JPEG quality camera frames are kept at (1-95, default
  85); uploads are kept as they came.
* ``SCORING_FRAME_UPLOAD_STORAGE``: connection string of the cloud account frames may be
  uploaded to; write access to the ``frames`` container is enough (in production a SAS with
  create/write on that container only; ``UseDevelopmentStorage=true`` = the local Azurite
  ``cloud``). Unset: the upload timer does not run and no frame leaves the site, whatever
  the policy says.
* ``SCORING_FRAME_UPLOAD_SECONDS``: seconds between upload runs.
* ``EDGELOOP_COMPLIANCE_POLICY``: the policy file whose ``frames`` section decides what may
  go (edgeloop.domain.frame_policy; default deny).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from edgeloop.config.azure_sdk import AzureSdkOptions
from edgeloop.config.base import EdgeloopSettings
from edgeloop.config.connections import Connection, resolve_connection
from edgeloop.config.site_signing import SiteSigningKey
from edgeloop.domain.frames import RetentionBounds

UPLOAD_STORAGE_SETTING = "SCORING_FRAME_UPLOAD_STORAGE"


class FrameSettings(SiteSigningKey, AzureSdkOptions, EdgeloopSettings):
    model_config = SettingsConfigDict(env_prefix="SCORING_", extra="ignore", populate_by_name=True)

    frames_dir: Path | None = None
    frames_max_bytes: int = Field(default=2 * 1024**3, ge=1)
    frames_max_age_hours: float = Field(default=7 * 24.0, gt=0.0)
    frames_jpeg_quality: int = Field(default=85, ge=1, le=95)
    frame_upload_storage: SecretStr | None = None
    frame_upload_seconds: float = Field(default=300.0, gt=0.0, le=86400.0)
    policy_path: Path = Field(default=Path("policies/compliance.yaml"), alias="EDGELOOP_COMPLIANCE_POLICY")

    @property
    def enabled(self) -> bool:
        return self.frames_dir is not None

    @property
    def upload_enabled(self) -> bool:
        return bool(self.frame_upload_storage and self.frame_upload_storage.get_secret_value())

    def retention(self) -> RetentionBounds:
        return RetentionBounds(self.frames_max_bytes, timedelta(hours=self.frames_max_age_hours))

    def upload_connection(self) -> Connection:
        """The frames' cloud account; ``UseDevelopmentStorage=true`` means the local Azurite ``cloud``."""
        secret = self.frame_upload_storage
        values = {UPLOAD_STORAGE_SETTING: None if secret is None else secret.get_secret_value()}
        return resolve_connection(UPLOAD_STORAGE_SETTING, values, "blob", local_account="cloud")
