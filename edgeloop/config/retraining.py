"""Settings of the cloud's retraining runs and model registry (environment, then local.settings.json).

* ``RETRAIN_SCHEDULE``: NCRONTAB (six fields, UTC) of the ``schedule_retraining`` timer
  function; the Functions host reads it as ``%RETRAIN_SCHEDULE%``. Nightly at 02:00 by default.
* ``RETRAIN_TRAINER``: ``local`` (a message on queue ``retrain-requests`` of the cloud
  account, run by the ``run_retraining`` queue function) or ``azureml`` (an Azure
  Machine Learning command job, ``AZUREML_*`` below).
* ``RETRAIN_BASE_DATA``, ``RETRAIN_SEED``, ``RETRAIN_N_ESTIMATORS``: the base dataset,
  the split/model seed and the number of boosted trees of the challenger.
* ``RETRAIN_MIN_NEW_LABELS``: labelled rows from the sites needed, else the run is *skipped*.
* ``RETRAIN_PRIMARY_METRIC`` (``roc_auc`` | ``average_precision``) and
  ``RETRAIN_PROMOTION_MARGIN``: the challenger may be at most that much worse.
* ``RETRAIN_MAX_OUT_OF_SCHEMA_SHARE``, ``RETRAIN_MAX_LABEL_RATE_RATIO``: sanity checks.
* ``RETRAIN_LOOKBACK_DAYS``: compliant records older than this are not read.
* ``RETRAIN_INSIGHTS_FROM``: ``blobs`` (default) or ``lake``: the insights' inputs from the lake
  table ``lake/insights`` (``feed_lake``); the feedback labels always from the compliant blobs.
* ``RETRAIN_STALE_RUN_SECONDS``: files of an unregistered version untouched this long are
  the leftovers of a dead run and are deleted at the start of the next one.
* ``RETRAIN_COMPLIANT_CONTAINER`` (``compliant``), ``MODEL_REGISTRY_CONTAINER`` (``models``),
  ``MODEL_NAME`` (``ai4i-failure``).
* ``CloudStorage``: the cloud account (registry, compliant records, queue ``retrain-requests``),
  a connection string or identity-based ``CloudStorage__blobServiceUri`` +
  ``CloudStorage__queueServiceUri`` (edgeloop.config.connections). No default: ``make run``
  and the tests set it; in Azure main.bicep does.
* ``MODEL_SIGNING_PRIVATE_KEY``: base64 of the raw 32-byte Ed25519 private key, as
  ``edgeloop models keygen`` writes it (in Azure a Key Vault reference to the secret
  ``model-signing-private-key``). Unset (local default): a key pair is generated once under
  ``MODEL_SIGNING_KEY_DIR`` (``var/local``), never committed; the public half goes to the sites.
* ``AZUREML_SUBSCRIPTION_ID``, ``AZUREML_RESOURCE_GROUP``, ``AZUREML_WORKSPACE``: the
  workspace (all three needed to submit); ``AZUREML_COMPUTE``, ``AZUREML_ENVIRONMENT``,
  ``AZUREML_EXPERIMENT``, ``AZUREML_CODE``: the command job's target, image, experiment, code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from edgeloop.config.azure_sdk import AzureSdkOptions
from edgeloop.config.base import EdgeloopSettings
from edgeloop.config.connections import CloudStorageConnection
from edgeloop.wire.storage_layout import COMPLIANT_CONTAINER, MODELS_CONTAINER

DEFAULT_SCHEDULE = "0 0 2 * * *"


class RetrainingSettings(CloudStorageConnection, AzureSdkOptions, EdgeloopSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    schedule: str = Field(default=DEFAULT_SCHEDULE, alias="RETRAIN_SCHEDULE")
    trainer: Literal["local", "azureml"] = Field(default="local", alias="RETRAIN_TRAINER")

    base_data: Path = Field(default=Path("data/ai4i2020-train.csv"), alias="RETRAIN_BASE_DATA")
    seed: int = Field(default=7, alias="RETRAIN_SEED")
    n_estimators: int = Field(default=100, ge=5, le=2000, alias="RETRAIN_N_ESTIMATORS")
    min_new_labels: int = Field(default=50, ge=1, alias="RETRAIN_MIN_NEW_LABELS")
    primary_metric: Literal["roc_auc", "average_precision"] = Field(
        default="roc_auc", alias="RETRAIN_PRIMARY_METRIC"
    )
    promotion_margin: float = Field(default=0.01, ge=0.0, le=1.0, alias="RETRAIN_PROMOTION_MARGIN")
    max_out_of_schema_share: float = Field(
        default=0.05, ge=0.0, le=1.0, alias="RETRAIN_MAX_OUT_OF_SCHEMA_SHARE"
    )
    max_label_rate_ratio: float = Field(default=5.0, gt=1.0, alias="RETRAIN_MAX_LABEL_RATE_RATIO")
    lookback_days: int = Field(default=90, ge=1, alias="RETRAIN_LOOKBACK_DAYS")
    # Where the insights' inputs are read: the compliant blobs, or the lake table (feed_lake's,
    # one partition-pruned read); the feedback labels come from the compliant blobs either way.
    insights_from: Literal["blobs", "lake"] = Field(default="blobs", alias="RETRAIN_INSIGHTS_FROM")
    stale_run_seconds: float = Field(default=3600.0, ge=0.0, alias="RETRAIN_STALE_RUN_SECONDS")

    compliant_container: str = Field(
        default=COMPLIANT_CONTAINER, min_length=3, alias="RETRAIN_COMPLIANT_CONTAINER"
    )
    models_container: str = Field(default=MODELS_CONTAINER, min_length=3, alias="MODEL_REGISTRY_CONTAINER")
    model_name: str = Field(default="ai4i-failure", min_length=1, alias="MODEL_NAME")

    signing_private_key: SecretStr | None = Field(default=None, alias="MODEL_SIGNING_PRIVATE_KEY")
    signing_key_dir: Path = Field(default=Path("var/local"), alias="MODEL_SIGNING_KEY_DIR")

    azureml_subscription_id: str | None = Field(default=None, alias="AZUREML_SUBSCRIPTION_ID")
    azureml_resource_group: str | None = Field(default=None, alias="AZUREML_RESOURCE_GROUP")
    azureml_workspace: str | None = Field(default=None, alias="AZUREML_WORKSPACE")
    azureml_compute: str = Field(default="cpu-cluster", alias="AZUREML_COMPUTE")
    azureml_environment: str = Field(default="azureml:edgeloop-train@latest", alias="AZUREML_ENVIRONMENT")
    azureml_experiment: str = Field(default="edgeloop-retraining", alias="AZUREML_EXPERIMENT")
    azureml_code: str = Field(default=".", alias="AZUREML_CODE")

    @property
    def azureml_workspace_configured(self) -> bool:
        return bool(self.azureml_subscription_id and self.azureml_resource_group and self.azureml_workspace)
