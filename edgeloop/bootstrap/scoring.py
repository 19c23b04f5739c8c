"""Composition root of the edge scoring app: settings -> model, outbox, relay, services.

Called from the app's lifespan (once per worker process), never at import time.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.onnx_model import BundleError, OnnxModel, execution_providers
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.adapters.storage_queue import StorageQueueSender
from edgeloop.config.scoring import ScoringSettings
from edgeloop.domain.execution_providers import ProviderChoiceError
from edgeloop.domain.images import ImageBounds
from edgeloop.domain.manifest import MANIFEST_FILE
from edgeloop.observability.tracing import NO_TRACER
from edgeloop.ports import ScoringModel, Tracer
from edgeloop.service_layer.drift_monitor import DriftMonitor
from edgeloop.service_layer.feedback import FeedbackService
from edgeloop.service_layer.image_scoring import ImageScoringService
from edgeloop.service_layer.relay import OutboxRelay, RelayStats, RelayThread
from edgeloop.service_layer.scoring import ModelHolder, ScoringService
from edgeloop.service_layer.shadow_scoring import ShadowScorer, ShadowSlot

logger = logging.getLogger(__name__)

RELAY_IDLE_WAIT = 0.5  # seconds between looks at an empty outbox


def resolve_api_key(settings: ScoringSettings) -> str:
    """``SCORING_API_KEY`` if set; else the key kept in ``api_key_file``, generated on first start."""
    if settings.api_key is not None and settings.api_key.get_secret_value():
        return settings.api_key.get_secret_value()
    path: Path = settings.api_key_file
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(24)
    # O_EXCL: two workers starting together must agree on one key, the first one written.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    logger.warning("generated a scoring API key in %s (header X-API-Key)", path)
    return key


def resolve_admin_key(settings: ScoringSettings, api_key: str) -> str | None:
    """``SCORING_ADMIN_API_KEY``, else the content of ``SCORING_ADMIN_API_KEY_FILE``; None: admin off."""
    key = settings.admin_api_key.get_secret_value().strip() if settings.admin_api_key else ""
    path = settings.admin_api_key_file
    if not key and path is not None:
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"SCORING_ADMIN_API_KEY_FILE: cannot read {path}: {exc.strerror}") from None
        if not key:
            raise ValueError(f"SCORING_ADMIN_API_KEY_FILE: {path} is empty")
    if not key:
        return None
    if key == api_key:
        raise ValueError("SCORING_ADMIN_API_KEY: must differ from SCORING_API_KEY")
    return key


def model_loader(settings: ScoringSettings) -> Callable[[Path], ScoringModel]:
    """How this site builds every inference session: the first model, swaps, golden checks.

    The provider list is checked once, here at start-up: a name onnxruntime does not know
    stops the start with the setting named; one this build lacks is logged and passed over.
    """
    try:
        providers = execution_providers(settings.execution_providers, settings.execution_provider_options)
    except ProviderChoiceError as exc:
        raise ValueError(f"SCORING_EXECUTION_PROVIDERS: {exc}") from None

    def load(bundle_dir: Path) -> ScoringModel:
        return OnnxModel.load(
            bundle_dir, intra_op_threads=settings.onnx_intra_op_threads, providers=providers
        )

    return load


NO_BUNDLE_YET = "no model yet: no bundle on this site, waiting for model delivery"


def first_model(settings: ScoringSettings, load: Callable[[Path], ScoringModel]) -> ScoringModel | None:
    """The bundle in ``SCORING_MODEL_DIR``; None when there is none (a new site bootstraps).

    A bundle that is there but broken still stops the start: it is a mistake, not a new site.
    """
    if not (settings.model_dir / MANIFEST_FILE).is_file():
        logger.warning("no model bundle in %s: the site starts without a model", settings.model_dir)
        return None
    try:
        return load(settings.model_dir)
    except BundleError as exc:  # one line naming the bundle and the field, before the traceback
        logger.error("refusing to start: model bundle %s: %s", settings.model_dir, exc)
        raise


@dataclass
class ScoringComponents:
    settings: ScoringSettings
    api_key: str
    admin_key: str | None  # None: admin routes off
    model: ModelHolder
    outbox: SqliteOutbox
    scoring: ScoringService
    images: ImageScoringService
    feedback: FeedbackService
    sender: StorageQueueSender | None
    relay_stats: RelayStats
    relay_thread: RelayThread | None
    load_model: Callable[[Path], ScoringModel]
    tracer: Tracer = NO_TRACER
    drift: DriftMonitor | None = None  # None: drift monitoring off (SCORING_DRIFT_ENABLED=false)
    shadow: ShadowScorer | None = None  # None: no shadow scoring (SCORING_SHADOW_QUEUE_BATCHES=0)

    def relay_metrics(self) -> dict[str, float]:
        stats = self.relay_stats
        return {
            "sent_messages_total": stats.sent_messages,
            "sent_records_total": stats.sent_records,
            "errors_total": stats.errors,
            "consecutive_errors": stats.consecutive_errors,
            "running": 1.0 if self.relay_thread is not None and self.relay_thread.is_alive() else 0.0,
        }

    def close(self) -> None:
        """Stop the shadow worker and the relay (their current work finishes), then close the outbox."""
        try:
            if self.shadow is not None:
                self.shadow.stop()
            if self.relay_thread is not None:
                self.relay_thread.stop()
        finally:
            if self.sender is not None:
                self.sender.close()
            self.outbox.close()


def image_scoring(
    settings: ScoringSettings, outbox: SqliteOutbox, holder: ModelHolder, shadow: ShadowScorer | None = None
) -> ImageScoringService:
    """Images are scored by the model served now (a swap applies to them too), within the site's bounds;
    each committed batch's frames are offered to the shadow, when the site has shadow scoring."""
    bounds = ImageBounds(settings.image_max_files, settings.image_max_bytes, settings.image_max_pixels)
    offer = shadow.offer_frames if shadow is not None else None
    return ImageScoringService(
        outbox, settings.site_id, lambda: holder.current, PillowDecoder(), bounds, shadow=offer
    )


def drift_monitor(settings: ScoringSettings, holder: ModelHolder) -> DriftMonitor | None:
    """The served model's drift monitor, restarted on each model swapped in; None when off."""
    if not settings.drift_enabled:
        return None
    monitor = DriftMonitor(
        holder.current.manifest if holder.loaded else None,  # a new site: its first champion starts it
        window_rows=settings.drift_window_rows,
        min_rows=settings.drift_min_rows,
        cache_seconds=settings.drift_cache_seconds,
    )
    holder.on_swap(monitor.reset)
    return monitor


def shadow_scorer(settings: ScoringSettings, outbox: SqliteOutbox) -> ShadowScorer | None:
    """The shadow's worker (its slot empty until shadow delivery fills it); None when shadow is off."""
    if settings.shadow_queue_batches == 0:
        return None
    return ShadowScorer(
        outbox,
        settings.site_id,
        ShadowSlot(),
        settings.shadow_queue_batches,
        busy_share=settings.shadow_busy_share,
        max_frame_bytes=settings.shadow_queue_frame_mib * 2**20,
    )


def build_scoring(settings: ScoringSettings, tracer: Tracer = NO_TRACER) -> ScoringComponents:
    api_key = resolve_api_key(settings)
    admin_key = resolve_admin_key(settings, api_key)  # before anything opens: a bad setting fails fast
    load_model = model_loader(settings)
    holder = ModelHolder(first_model(settings, load_model), NO_BUNDLE_YET)
    drift = drift_monitor(settings, holder)
    outbox = SqliteOutbox(
        settings.outbox_path,
        settings.outbox_capacity,
        synchronous=settings.outbox_synchronous,
        busy_timeout=settings.outbox_busy_timeout_seconds,
    )
    stats = RelayStats()
    relay_thread = None
    sender = None
    shadow = shadow_scorer(settings, outbox)
    try:
        if settings.relay_enabled:
            # EdgeStorage (a connection string) or EdgeStorage__queueServiceUri (an identity).
            sender = StorageQueueSender(
                settings.resolve_edge_storage("queue"),
                settings.insights_queue,
                clients=AzureClients.from_settings(settings),
            )
            relay = OutboxRelay(
                outbox, sender, stats=stats, max_in_flight=settings.relay_max_in_flight, tracer=tracer
            )
            relay_thread = relay.start(idle_wait=RELAY_IDLE_WAIT)
        offer = shadow.start().offer if shadow is not None else None
        return ScoringComponents(
            settings=settings,
            api_key=api_key,
            admin_key=admin_key,
            model=holder,
            outbox=outbox,
            scoring=ScoringService(outbox, settings.site_id, tracer=tracer, drift=drift, shadow=offer),
            images=image_scoring(settings, outbox, holder, shadow),
            feedback=FeedbackService(
                outbox, settings.site_id, serving_task=lambda: holder.current.manifest.task
            ),
            sender=sender,
            relay_stats=stats,
            relay_thread=relay_thread,
            load_model=load_model,
            tracer=tracer,
            drift=drift,
            shadow=shadow,
        )
    except BaseException:
        if shadow is not None:
            shadow.stop()
        if relay_thread is not None:
            relay_thread.stop()
        if sender is not None:
            sender.close()
        outbox.close()
        raise
