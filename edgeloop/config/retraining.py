"""Settings of the cloud's retraining runs and model registry (environment, then local.settings.json).

* ``RETRAIN_SCHEDULE``: NCRONTAB (six fields, UTC) of the ``schedule_retraining`` timer
  function; the Functions host reads it as ``%RETRAIN_SCHEDULE%``. Nightly at 02:00 by default.
* ``RETRAIN_TRAINER``: ``local`` (a message on queue ``retrain-requests`` of the cloud
  account, run by the ``run_retraining`` queue function) or ``azureml`` (an Azure
  Machine Learning command job, ``AZUREML_*`` below).
* ``RETRAIN_BASE_DATA``: replaces the uri of the recipe's base data (a CSV/Parquet file or
  folder, or ``blob://container/prefix`` on the cloud account); unset: the recipe's own
  (the demo's is ``data/ai4i2020-train.csv``). ``RETRAIN_SEED``: the base data's split seed.
* ``RETRAIN_RECIPE``: JSON of a manifest ``recipe`` block that replaces the champion's
  (how an Azure ML job is told which recipe to run); unset: the champion's recipe.
* ``RETRAIN_MIN_NEW_LABELS``: labelled rows from the sites needed, else the run is *skipped*.
* ``RETRAIN_PRIMARY_METRIC``, ``RETRAIN_PROMOTION_MARGIN``, ``RETRAIN_MAX_LABEL_SHIFT``: override
  the model's ``evaluation`` (its manifest's, else the task's defaults: edgeloop.domain.metrics).
* ``RETRAIN_MAX_OUT_OF_SCHEMA_SHARE``: share of new rows outside the schema that rejects a run.
* ``RETRAIN_LOOKBACK_DAYS``: compliant records older than this are not read.
* ``RETRAIN_INSIGHTS_FROM``: ``blobs`` (default) or ``lake``: the insights' inputs from the lake
  table ``lake/insights`` (``feed_lake``); the feedback labels always from the compliant blobs.
* ``RETRAIN_SITE_FIT_MIN_ROWS`` (30), ``RETRAIN_SITE_FIT_TOLERANCE`` (unset: the model's promotion
  margin): per-site fit (edgeloop.domain.site_fit): a site with fewer labelled held-out rows is
  not judged; a challenger worse on a site's rows by more than the tolerance is not rolled out there.
* ``RETRAIN_COHORTS``: JSON list of champion lines of their own, ``[{"line": "ai4i-failure-hot",
  "sites": ["site-3"]}]`` (edgeloop.domain.model_lines): each trained on the base data plus its
  sites' rows, gated on their held-out rows; ``MODEL_NAME``'s line learns from the other sites.
  Unset: one line. A cohort's sites serve it with ``SCORING_MODEL_NAME`` set to the line.
* ``RETRAIN_STALE_RUN_SECONDS``: files of an unregistered version untouched this long are
  the leftovers of a dead run and are deleted at the start of the next one.
* ``RETRAIN_DRIFT_TRIGGER`` (true): a site's heartbeat saying "drift" may request a run
  (``ingest_insights`` hands the statuses to edgeloop.service_layer.drift_watch); false: never.
* ``RETRAIN_DRIFT_INTERVAL_HOURS`` (24): a site's drift summary triggers a run of the model at
  most once per this many hours (edgeloop.service_layer.drift_trigger, docs/drift.md);
  ``RETRAIN_DRIFT_LEDGER``: the SQLite file that remembers those runs.
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
  The same key signs the champion pointer (edgeloop.domain.signed_pointer).
* ``MODEL_SIGNING_TRUSTED_KEYS``: public keys (base64, comma-separated) besides the signing key's
  own whose champion pointers the cloud builds on (rolls back, refreshes): the previous key
  during a rotation (docs/deployment.md). Unset: the signing key only.
* ``MODEL_POINTER_LIFETIME_HOURS`` (168, a week): how long a signed champion pointer is valid;
  ``MODEL_POINTER_REFRESH_HOURS`` (144): the retraining timer re-signs it once fewer hours are
  left (with the nightly schedule: every night, so six nights may be missed before sites see
  it expire).
* ``AZUREML_SUBSCRIPTION_ID``, ``AZUREML_RESOURCE_GROUP``, ``AZUREML_WORKSPACE``: the
  workspace (all three needed to submit); ``AZUREML_COMPUTE``, ``AZUREML_ENVIRONMENT``,
  ``AZUREML_EXPERIMENT``, ``AZUREML_CODE``: the command job's target, registered environment,
  experiment, code; ``AZUREML_IMAGE``: the base image of the job's own environment, built when
  the recipe lists requirements.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from edgeloop.config.azure_sdk import AzureSdkOptions
from edgeloop.config.base import EdgeloopSettings
from edgeloop.config.connections import CloudStorageConnection
from edgeloop.config.site_signing import SiteTrust
from edgeloop.domain.manifest_specs import ManifestError
from edgeloop.domain.manifest_validation import validate_recipe_document
from edgeloop.domain.metrics import TASK_METRICS
from edgeloop.domain.model_lines import ModelLines, ModelLinesError, parse_cohorts
from edgeloop.domain.recipes import RecipeSpec, parse_recipe
from edgeloop.domain.site_fit import DEFAULT_MIN_ROWS
from edgeloop.wire.storage_layout import COMPLIANT_CONTAINER, MODELS_CONTAINER

DEFAULT_SCHEDULE = "0 0 2 * * *"
DEFAULT_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
EVERY_METRIC = sorted({name for metrics in TASK_METRICS.values() for name in metrics})


class RetrainingSettings(CloudStorageConnection, SiteTrust, AzureSdkOptions, EdgeloopSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    schedule: str = Field(default=DEFAULT_SCHEDULE, alias="RETRAIN_SCHEDULE")
    trainer: Literal["local", "azureml"] = Field(default="local", alias="RETRAIN_TRAINER")

    base_data: str | None = Field(default=None, alias="RETRAIN_BASE_DATA")
    recipe_json: str | None = Field(default=None, alias="RETRAIN_RECIPE")
    seed: int = Field(default=7, alias="RETRAIN_SEED")
    min_new_labels: int = Field(default=50, ge=1, alias="RETRAIN_MIN_NEW_LABELS")
    primary_metric: str | None = Field(default=None, alias="RETRAIN_PRIMARY_METRIC")
    promotion_margin: float | None = Field(default=None, ge=0.0, alias="RETRAIN_PROMOTION_MARGIN")
    max_label_shift: float | None = Field(default=None, gt=0.0, alias="RETRAIN_MAX_LABEL_SHIFT")
    max_out_of_schema_share: float = Field(
        default=0.05, ge=0.0, le=1.0, alias="RETRAIN_MAX_OUT_OF_SCHEMA_SHARE"
    )
    lookback_days: int = Field(default=90, ge=1, alias="RETRAIN_LOOKBACK_DAYS")
    # Where the insights' inputs are read: the compliant blobs, or the lake table (feed_lake's,
    # one partition-pruned read); the feedback labels come from the compliant blobs either way.
    insights_from: Literal["blobs", "lake"] = Field(default="blobs", alias="RETRAIN_INSIGHTS_FROM")
    stale_run_seconds: float = Field(default=3600.0, ge=0.0, alias="RETRAIN_STALE_RUN_SECONDS")
    site_fit_min_rows: int = Field(default=DEFAULT_MIN_ROWS, ge=1, alias="RETRAIN_SITE_FIT_MIN_ROWS")
    site_fit_tolerance: float | None = Field(default=None, ge=0.0, alias="RETRAIN_SITE_FIT_TOLERANCE")
    cohorts_json: str | None = Field(default=None, alias="RETRAIN_COHORTS")

    compliant_container: str = Field(
        default=COMPLIANT_CONTAINER, min_length=3, alias="RETRAIN_COMPLIANT_CONTAINER"
    )
    models_container: str = Field(default=MODELS_CONTAINER, min_length=3, alias="MODEL_REGISTRY_CONTAINER")
    model_name: str = Field(default="ai4i-failure", min_length=1, alias="MODEL_NAME")

    drift_trigger: bool = Field(default=True, alias="RETRAIN_DRIFT_TRIGGER")
    drift_interval_hours: float = Field(default=24.0, gt=0.0, alias="RETRAIN_DRIFT_INTERVAL_HOURS")
    drift_ledger_path: Path = Field(
        default=Path("var/cloud/drift-triggers.sqlite3"), alias="RETRAIN_DRIFT_LEDGER"
    )

    signing_private_key: SecretStr | None = Field(default=None, alias="MODEL_SIGNING_PRIVATE_KEY")
    signing_key_dir: Path = Field(default=Path("var/local"), alias="MODEL_SIGNING_KEY_DIR")
    signing_trusted_keys: str | None = Field(default=None, alias="MODEL_SIGNING_TRUSTED_KEYS")
    pointer_lifetime_hours: float = Field(default=168.0, gt=0.0, alias="MODEL_POINTER_LIFETIME_HOURS")
    pointer_refresh_hours: float = Field(default=144.0, gt=0.0, alias="MODEL_POINTER_REFRESH_HOURS")

    azureml_subscription_id: str | None = Field(default=None, alias="AZUREML_SUBSCRIPTION_ID")
    azureml_resource_group: str | None = Field(default=None, alias="AZUREML_RESOURCE_GROUP")
    azureml_workspace: str | None = Field(default=None, alias="AZUREML_WORKSPACE")
    azureml_compute: str = Field(default="cpu-cluster", alias="AZUREML_COMPUTE")
    azureml_environment: str = Field(default="azureml:edgeloop-train@latest", alias="AZUREML_ENVIRONMENT")
    azureml_experiment: str = Field(default="edgeloop-retraining", alias="AZUREML_EXPERIMENT")
    azureml_code: str = Field(default=".", alias="AZUREML_CODE")
    azureml_image: str = Field(default=DEFAULT_IMAGE, alias="AZUREML_IMAGE")

    @field_validator("base_data", mode="before")
    @classmethod
    def _path_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, Path) else value

    @field_validator("primary_metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        if value is not None and value not in EVERY_METRIC:
            raise ValueError(f"RETRAIN_PRIMARY_METRIC must be one of {', '.join(EVERY_METRIC)}")
        return value

    @model_validator(mode="after")
    def _valid_cohorts(self) -> RetrainingSettings:
        self.model_lines  # noqa: B018  # parsed once here, so a bad value stops the start
        return self

    @property
    def model_lines(self) -> ModelLines:
        """``MODEL_NAME``'s line and the ``RETRAIN_COHORTS`` lines."""
        try:
            document = json.loads(self.cohorts_json) if self.cohorts_json else []
            if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
                raise ModelLinesError("must be a JSON list of {line, sites} objects")
            return parse_cohorts(self.model_name, document)
        except (json.JSONDecodeError, ModelLinesError) as exc:
            raise ValueError(f"RETRAIN_COHORTS: {exc}") from None

    @field_validator("recipe_json")
    @classmethod
    def _valid_recipe(cls, value: str | None) -> str | None:
        if value:
            _parse_recipe_json(value)
        return value

    @model_validator(mode="after")
    def _refresh_before_expiry(self) -> RetrainingSettings:
        if self.pointer_refresh_hours >= self.pointer_lifetime_hours:
            raise ValueError("MODEL_POINTER_REFRESH_HOURS must be below MODEL_POINTER_LIFETIME_HOURS")
        return self

    @property
    def recipe(self) -> RecipeSpec | None:
        """``RETRAIN_RECIPE`` parsed (None when unset)."""
        return _parse_recipe_json(self.recipe_json) if self.recipe_json else None

    @property
    def azureml_workspace_configured(self) -> bool:
        return bool(self.azureml_subscription_id and self.azureml_resource_group and self.azureml_workspace)


def _parse_recipe_json(text: str) -> RecipeSpec | None:
    try:
        return parse_recipe(validate_recipe_document(json.loads(text)))
    except (json.JSONDecodeError, ManifestError) as exc:
        raise ValueError(f"RETRAIN_RECIPE: {exc}") from None
