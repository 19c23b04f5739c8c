"""Composition root of retraining and the model registry (cloud side): settings in, wired objects out.

Used by the cloud Functions (timer + queue worker), the ``edgeloop models`` CLI
and ``make run``'s start-up (first champion). Never at import time. Every client is
built through one :class:`AzureClients` per root, from the ``CloudStorage`` connection
(a connection string locally, the app's identity in Azure).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.ed25519_signing import BundleSigner, SigningKeyError, ensure_key_pair
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.promotion import PromotionPolicy
from edgeloop.ports import ScoringModel, Trainer
from edgeloop.service_layer.model_publishing import GOLDEN_ROWS, publish_bundle
from edgeloop.wire.messaging import RETRAIN_QUEUE

if TYPE_CHECKING:  # needs the train extra; imported at run time only when a run is built
    from edgeloop.service_layer.retraining import RetrainingService

logger = logging.getLogger(__name__)

# What App Service leaves in a setting whose Key Vault reference it could not resolve.
_UNRESOLVED_REFERENCE = "@Microsoft.KeyVault("


def build_signer(settings: RetrainingSettings) -> BundleSigner:
    """The signing key from MODEL_SIGNING_PRIVATE_KEY, else the local default pair under var/."""
    if settings.signing_private_key is not None and settings.signing_private_key.get_secret_value():
        value = settings.signing_private_key.get_secret_value()
        if value.strip().startswith(_UNRESOLVED_REFERENCE):
            raise SigningKeyError(
                "MODEL_SIGNING_PRIVATE_KEY: the Key Vault reference was not resolved (does the secret "
                "exist, and may the app's identity read it: Key Vault Secrets User?)"
            )
        try:
            return BundleSigner(value)
        except SigningKeyError as exc:
            raise SigningKeyError(f"MODEL_SIGNING_PRIVATE_KEY: {exc}") from None
    private, _ = ensure_key_pair(settings.signing_key_dir)
    return BundleSigner(private)


def build_registry(settings: RetrainingSettings, clients: AzureClients | None = None) -> BlobModelRegistry:
    # CloudStorage (a connection string) or CloudStorage__blobServiceUri (the app's identity).
    connection = settings.resolve_cloud_storage("blob")
    clients = clients or AzureClients.from_settings(settings)
    return BlobModelRegistry.from_connection(connection, settings.models_container, clients)


def build_trainer(settings: RetrainingSettings, clients: AzureClients | None = None) -> Trainer:
    if settings.trainer == "azureml":
        from edgeloop.adapters.azureml_trainer import AzureMLTrainer

        return AzureMLTrainer(settings)
    from edgeloop.adapters.local_trainer import QueueTrainer
    from edgeloop.adapters.storage_queue import StorageQueueSender

    # CloudStorage (a connection string) or CloudStorage__queueServiceUri (the app's identity).
    connection = settings.resolve_cloud_storage("queue")
    clients = clients or AzureClients.from_settings(settings)
    return QueueTrainer(StorageQueueSender(connection, RETRAIN_QUEUE, retries=3, clients=clients))


def load_model(bundle_dir: Path) -> ScoringModel:
    from edgeloop.adapters.onnx_model import OnnxModel

    return OnnxModel.load(bundle_dir)


def build_retraining(settings: RetrainingSettings, clients: AzureClients | None = None) -> RetrainingService:
    """The RetrainingService with the demo's challenger trainer (needs the ``train`` extra, hence
    imported here)."""
    from edgeloop.adapters.blob_storage import AzureBlobStore
    from edgeloop.service_layer.retraining import RetrainingConfig, RetrainingService
    from edgeloop.training.challenger_trainer import Ai4iChallengerTrainer

    config = RetrainingConfig(
        model_name=settings.model_name,
        compliant_container=settings.compliant_container,
        policy=PromotionPolicy(
            primary_metric=settings.primary_metric,
            margin=settings.promotion_margin,
            min_new_labels=settings.min_new_labels,
            max_out_of_schema_share=settings.max_out_of_schema_share,
            max_label_rate_ratio=settings.max_label_rate_ratio,
        ),
        lookback_days=settings.lookback_days,
        stale_run_seconds=settings.stale_run_seconds,
    )
    clients = clients or AzureClients.from_settings(settings)
    lake = None
    if settings.insights_from == "lake":
        from edgeloop.bootstrap.lake import build_lake_table

        lake = build_lake_table(settings, clients)
    return RetrainingService(
        registry=build_registry(settings, clients),
        compliant=AzureBlobStore.from_connection(settings.resolve_cloud_storage("blob"), clients),
        trainer=Ai4iChallengerTrainer(settings.base_data, settings.seed, settings.n_estimators),
        sign=build_signer(settings).sign,
        load_model=load_model,
        config=config,
        lake=lake,
    )


def golden_rows_from_csv(path: Path, count: int = GOLDEN_ROWS) -> list[dict[str, Any]]:
    from edgeloop.training.dataset import load_ai4i, scoring_rows

    data = load_ai4i(path)
    return scoring_rows(data, range(min(count, data.n_rows)))


def publish_first_champion(settings: RetrainingSettings, bundle_dir: Path) -> tuple[str, bool]:
    """Register ``bundle_dir`` (the demo model) and make it champion if the registry has none;
    with a champion there already, nothing is read or signed (``make run`` at every start)."""
    registry = build_registry(settings)
    current = registry.champion(settings.model_name)
    if current is not None:
        return current[0].version, False
    return _publish(settings, registry, bundle_dir, "edgeloop start-up")


def publish_local_bundle(settings: RetrainingSettings, bundle_dir: Path, actor: str) -> tuple[str, bool]:
    """Sign and register ``bundle_dir`` as its manifest's name and version, at any time;
    ``(version, became champion)``: it becomes champion only where its model has none."""
    return _publish(settings, build_registry(settings), bundle_dir, actor)


def _publish(
    settings: RetrainingSettings, registry: BlobModelRegistry, bundle_dir: Path, actor: str
) -> tuple[str, bool]:
    version, promoted = publish_bundle(
        registry,
        bundle_dir,
        golden_rows_from_csv(settings.base_data),
        build_signer(settings).sign,
        load_model,
        actor=actor,
    )
    if promoted:
        logger.info("published %s as the first champion", version)
    return version, promoted
