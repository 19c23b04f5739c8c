"""Composition root of retraining and the model registry (cloud side): settings in, wired objects out.

Used by the cloud Functions (timer + queue worker), the ``edgeloop models`` CLI
and ``make run``'s start-up (first champion). Never at import time. Every client is
built through one :class:`AzureClients` per root, from the ``CloudStorage`` connection
(a connection string locally, the app's identity in Azure).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.ed25519_signing import BundleSigner, BundleVerifier, SigningKeyError, ensure_key_pair
from edgeloop.adapters.sqlite_drift_trigger_ledger import SqliteDriftTriggerLedger
from edgeloop.bootstrap.golden_rows import golden_rows_for
from edgeloop.bootstrap.site_trust import verified_blobs
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.manifest import MANIFEST_FILE, ModelManifest, load_manifest
from edgeloop.domain.promotion import PromotionPolicy
from edgeloop.domain.recipes import RecipeSpec
from edgeloop.domain.signed_pointer import SignedPointer
from edgeloop.domain.site_fit import SiteFitPolicy
from edgeloop.ports import ScoringModel, Trainer, TrainingFailed
from edgeloop.service_layer.champion_pointers import PointerSigning
from edgeloop.service_layer.drift_trigger import DriftTrigger
from edgeloop.service_layer.drift_watch import DriftWatch
from edgeloop.service_layer.line_champions import refresh_line_pointers
from edgeloop.service_layer.model_publishing import publish_bundle, refuse_a_taken_version
from edgeloop.wire.messaging import RETRAIN_QUEUE

if TYPE_CHECKING:  # needs the train extra; imported at run time only when a run is built
    from edgeloop.domain.shadow_pointer import SignedShadowPointer
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


def build_pointer_signing(settings: RetrainingSettings, signer: BundleSigner | None = None) -> PointerSigning:
    """Pointers signed with the signing key; built on if it or a MODEL_SIGNING_TRUSTED_KEYS key signed."""
    signer = signer or build_signer(settings)
    try:
        trusted = BundleVerifier(f"{signer.public_key_b64},{settings.signing_trusted_keys or ''}")
    except SigningKeyError as exc:
        raise SigningKeyError(f"MODEL_SIGNING_TRUSTED_KEYS: {exc}") from None
    return PointerSigning(
        sign=signer.sign_pointer,
        verify=trusted.verify_pointer,
        lifetime=timedelta(hours=settings.pointer_lifetime_hours),
        refresh_within=timedelta(hours=settings.pointer_refresh_hours),
    )


def build_pointer_refresher(
    settings: RetrainingSettings, clients: AzureClients | None = None
) -> Callable[[], SignedPointer | None]:
    """The retraining timer's first step: re-sign each line's champion pointer once it expires within
    MODEL_POINTER_REFRESH_HOURS (the fleet line's new pointer; None: nothing to do there)."""
    registry, signing = build_registry(settings, clients), build_pointer_signing(settings)
    return functools.partial(refresh_line_pointers, registry, settings.model_lines, signing)


def build_shadow_refresher(
    settings: RetrainingSettings, clients: AzureClients | None = None
) -> Callable[[], SignedShadowPointer | None]:
    """The retraining timer's step for a shadow test: re-sign MODEL_NAME's shadow pointer once it
    expires within MODEL_POINTER_REFRESH_HOURS, as the champion's (None: none, or not yet)."""
    from edgeloop.adapters.blob_shadow_pointers import BlobShadowPointers
    from edgeloop.service_layer.shadow_pointers import refresh_shadow

    registry, signing = build_registry(settings, clients), build_pointer_signing(settings)
    pointers = BlobShadowPointers(registry.container)
    return functools.partial(refresh_shadow, pointers, registry, settings.model_name, signing)


def build_registry(settings: RetrainingSettings, clients: AzureClients | None = None) -> BlobModelRegistry:
    # CloudStorage (a connection string) or CloudStorage__blobServiceUri (the app's identity).
    connection = settings.resolve_cloud_storage("blob")
    clients = clients or AzureClients.from_settings(settings)
    return BlobModelRegistry.from_connection(connection, settings.models_container, clients)


def champion_recipe(settings: RetrainingSettings, clients: AzureClients | None = None) -> RecipeSpec | None:
    """The recipe a run would use now: ``RETRAIN_RECIPE``, else the champion manifest's."""
    if settings.recipe is not None:
        return settings.recipe
    registry = build_registry(settings, clients)
    found = registry.champion(settings.model_name)
    if found is None:
        return None
    document = json.loads(registry.read(settings.model_name, found[0].version, MANIFEST_FILE))
    return ModelManifest.from_dict(document).recipe


def build_trainer(settings: RetrainingSettings, clients: AzureClients | None = None) -> Trainer:
    if settings.trainer == "azureml":
        from edgeloop.adapters.azureml_trainer import AzureMLTrainer

        return AzureMLTrainer(settings, lambda: champion_recipe(settings, clients))
    from edgeloop.adapters.local_trainer import QueueTrainer
    from edgeloop.adapters.storage_queue import StorageQueueSender

    # CloudStorage (a connection string) or CloudStorage__queueServiceUri (the app's identity).
    connection = settings.resolve_cloud_storage("queue")
    clients = clients or AzureClients.from_settings(settings)
    return QueueTrainer(StorageQueueSender(connection, RETRAIN_QUEUE, retries=3, clients=clients))


def build_drift_trigger(settings: RetrainingSettings, trainer: Trainer | None = None) -> DriftTrigger:
    """Drift-triggered runs through ``trainer`` (default: the configured one), rate-limited per model."""
    return DriftTrigger(
        trainer or build_trainer(settings),
        SqliteDriftTriggerLedger(settings.drift_ledger_path),
        timedelta(hours=settings.drift_interval_hours),
    )


def build_drift_watch(settings: RetrainingSettings, trainer: Trainer | None = None) -> DriftWatch:
    """What ingest_insights hands site statuses to (RETRAIN_DRIFT_TRIGGER=false: one that asks nothing)."""
    trigger = build_drift_trigger(settings, trainer) if settings.drift_trigger else None
    cohort_lines = [cohort.line for cohort in settings.model_lines.cohorts]
    return DriftWatch(trigger, settings.model_name, cohort_lines=cohort_lines)


def load_model(bundle_dir: Path) -> ScoringModel:
    from edgeloop.adapters.onnx_model import OnnxModel

    return OnnxModel.load(bundle_dir)


def load_trained_model(bundle_dir: Path) -> ScoringModel:
    """:func:`load_model` for retraining: a graph unlike its manifest is a failed run, not a crash."""
    from edgeloop.adapters.onnx_model import BundleError

    try:
        return load_model(bundle_dir)
    except BundleError as exc:
        raise TrainingFailed(f"the challenger's bundle does not load: {exc}") from None


def build_retraining(
    settings: RetrainingSettings, clients: AzureClients | None = None, line: str | None = None
) -> RetrainingService:
    """The RetrainingService of ``line`` (default ``MODEL_NAME``; a ``RETRAIN_COHORTS`` line) with the
    recipe challenger trainer (needs the ``train`` extra, hence imported here)."""
    from edgeloop.adapters.blob_storage import AzureBlobStore
    from edgeloop.adapters.pillow_decoder import PillowDecoder
    from edgeloop.service_layer.labelled_frames import LabelledFrames
    from edgeloop.service_layer.retraining import RetrainingConfig, RetrainingService
    from edgeloop.training.challenger_trainer import RecipeChallengerTrainer

    lines = settings.model_lines
    if line is not None and line not in lines.names:
        raise ValueError(f"{line!r} is not a model line ({', '.join(lines.names)}; RETRAIN_COHORTS)")
    config = RetrainingConfig(
        model_name=line or settings.model_name,
        compliant_container=settings.compliant_container,
        policy=PromotionPolicy(
            min_new_labels=settings.min_new_labels,
            max_out_of_schema_share=settings.max_out_of_schema_share,
            primary_metric=settings.primary_metric,
            margin=settings.promotion_margin,
            max_label_shift=settings.max_label_shift,
        ),
        lookback_days=settings.lookback_days,
        stale_run_seconds=settings.stale_run_seconds,
        recipe=settings.recipe,
        lines=lines,
        site_fit=SiteFitPolicy(settings.site_fit_min_rows, settings.site_fit_tolerance),
    )
    clients = clients or AzureClients.from_settings(settings)
    lake = None
    if settings.insights_from == "lake":
        from edgeloop.bootstrap.lake import build_lake_table

        lake = build_lake_table(settings, clients)
    # One blob client of the cloud account: the compliant records and blob:// base data.
    cloud_blobs = AzureBlobStore.from_connection(settings.resolve_cloud_storage("blob"), clients)
    # What the sites wrote, only where they signed it.
    site_blobs = verified_blobs(cloud_blobs, settings, settings.compliant_container)
    signer = build_signer(settings)
    from edgeloop.bootstrap.rollouts import build_rollouts  # it builds on this module

    return RetrainingService(
        registry=build_registry(settings, clients),
        compliant=site_blobs,
        trainer=RecipeChallengerTrainer(cloud_blobs, settings.base_data, settings.seed),
        sign=signer.sign,
        pointers=build_pointer_signing(settings, signer),
        load_model=load_trained_model,
        config=config,
        lake=lake,
        frames=LabelledFrames(site_blobs, PillowDecoder()),  # the frames the sites' policies let out
        rollouts=build_rollouts(settings, clients),
    )


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
    ``(version, became champion)``: it becomes champion only where its model has none.
    VersionExists if that version is registered with another model file."""
    registry = build_registry(settings)
    refuse_a_taken_version(registry, bundle_dir)
    return _publish(settings, registry, bundle_dir, actor)


def _publish(
    settings: RetrainingSettings, registry: BlobModelRegistry, bundle_dir: Path, actor: str
) -> tuple[str, bool]:
    signer = build_signer(settings)
    version, promoted = publish_bundle(
        registry,
        bundle_dir,
        golden_rows_for(settings, load_manifest(bundle_dir)),
        signer.sign,
        load_model,
        actor=actor,
        pointers=build_pointer_signing(settings, signer),
    )
    if promoted:
        logger.info("published %s as the first champion", version)
    return version, promoted
