"""Composition of a site's model delivery: called by the scoring composition root, never at import.

Delivery runs only when the site trusts a signing key (``SCORING_MODEL_SIGNING_PUBLIC_KEY``,
one or several); then the site swaps in the bundle it last installed right at start-up (so a
restart while the cloud is unreachable still serves the latest champion) and starts the poller.
The newest champion pointer accepted is kept in ``<SCORING_MODEL_CACHE_DIR>/pointer-ledger.sqlite3``,
as is the newest rollout pointer (the site follows it as ``EDGELOOP_SITE_ID``: docs/rollouts.md).
A site with no bundle of its own (a new site) needs delivery: it serves the first verified champion.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.blob_rollouts import BlobRollouts
from edgeloop.adapters.blob_shadow_pointers import BlobShadowPointers
from edgeloop.adapters.ed25519_signing import BundleVerifier, SigningKeyError
from edgeloop.adapters.onnx_model import BundleError
from edgeloop.adapters.sqlite_pointer_ledger import SqlitePointerLedger
from edgeloop.config.model_delivery import ModelDeliverySettings
from edgeloop.domain.auto_rollback import RollbackRule
from edgeloop.domain.rollout_pointer import WHAT, ledger_key
from edgeloop.ports import ScoringModel
from edgeloop.service_layer.bundle_cache import cached_champion
from edgeloop.service_layer.delivery_poller import DeliveryPoller
from edgeloop.service_layer.model_delivery import LoadModel, ModelDelivery
from edgeloop.service_layer.pointer_gate import PointerGate
from edgeloop.service_layer.rollout_follow import RolloutFollower
from edgeloop.service_layer.scoring import ModelHolder
from edgeloop.service_layer.shadow_delivery import ShadowDelivery
from edgeloop.service_layer.shadow_scoring import ShadowSlot

POINTER_LEDGER_FILE = "pointer-ledger.sqlite3"

logger = logging.getLogger(__name__)


def install_cached_champion(holder: ModelHolder, settings: ModelDeliverySettings, load: LoadModel) -> None:
    """Serve the bundle this site installed last, if there is one and it still loads."""
    cached = cached_champion(settings.model_cache_dir)
    serving = holder.current.manifest.version if holder.loaded else None
    if cached is None or cached.name == serving:
        return
    try:
        holder.swap(load(cached))
    except BundleError as exc:  # a damaged cache must not keep the site from starting
        logger.error("cached champion %s unusable, keeping %s: %s", cached, serving or "none", exc)


def start_site_delivery(
    holder: ModelHolder, load: LoadModel, settings: ModelDeliverySettings | None = None
) -> tuple[ModelDelivery, DeliveryPoller] | None:
    """Model delivery for the scoring app's lifespan; None when it is off (no public key set).

    ``load`` builds sessions the way the first model's was (threads, execution providers).
    """
    settings = settings or ModelDeliverySettings()
    if not settings.enabled:
        if not holder.loaded:
            raise ValueError(
                "SCORING_MODEL_DIR: no model bundle, and model delivery is off "
                "(SCORING_MODEL_SIGNING_PUBLIC_KEY unset): this site would never have a model to serve"
            )
        return None
    holder.waiting_for(f"no model yet: waiting for the champion of {settings.model_name} from the registry")
    install_cached_champion(holder, settings, load)
    return start_delivery(holder, settings, load)


def start_delivery(
    holder: ModelHolder, settings: ModelDeliverySettings, load: LoadModel
) -> tuple[ModelDelivery, DeliveryPoller] | None:
    if not settings.enabled or settings.model_signing_public_key is None:
        return None
    try:
        verifier = BundleVerifier(settings.model_signing_public_key)
    except SigningKeyError as exc:
        raise SigningKeyError(f"SCORING_MODEL_SIGNING_PUBLIC_KEY: {exc}") from None
    connection, container = settings.registry_connection(), settings.model_registry_container
    clients = AzureClients.from_settings(settings)
    source = BlobModelRegistry.from_connection(connection, container, clients, site_side=True)
    ledger = SqlitePointerLedger(settings.model_cache_dir / POINTER_LEDGER_FILE)
    name = settings.model_name
    rollout = RolloutFollower(
        BlobRollouts.from_connection(connection, container, clients, site_side=True),
        PointerGate(verifier.verify_pointer, ledger, name, ledger_key=ledger_key(name), what=WHAT),
        name,
        settings.site_id,
    )
    delivery = ModelDelivery(
        holder=holder,
        source=source,
        gate=PointerGate(verifier.verify_pointer, ledger, settings.model_name),
        verify=verifier.verify,
        load_model=load,
        cache_dir=settings.model_cache_dir,
        model_name=settings.model_name,
        rule=RollbackRule(
            multiple=settings.rollback_rate_multiple,
            window_rows=settings.rollback_window_rows,
            min_baseline_rows=settings.rollback_min_baseline_rows,
        ),
        rollout=rollout,
    )
    poller = DeliveryPoller(delivery, settings.model_poll_seconds).start()
    return delivery, poller


def start_shadow_delivery(
    slot: ShadowSlot,
    site_id: str,
    load: LoadModel,
    settings: ModelDeliverySettings | None = None,
    served: Callable[[], ScoringModel | None] = lambda: None,
) -> tuple[ShadowDelivery, DeliveryPoller] | None:
    """The shadow pointer's poller beside the champion's (same registry, keys, ledger file); None
    when model delivery is off: a site that takes no champion from the registry shadows none.
    ``served``: the model served now (a shadow taking another kind of input is refused)."""
    settings = settings or ModelDeliverySettings()
    if not settings.enabled or settings.model_signing_public_key is None:
        return None
    verifier = BundleVerifier(settings.model_signing_public_key)  # checked by start_delivery already
    registry = BlobModelRegistry.from_connection(
        settings.registry_connection(),
        settings.model_registry_container,
        AzureClients.from_settings(settings),
        site_side=True,
    )
    delivery = ShadowDelivery(
        slot=slot,
        pointers=BlobShadowPointers(registry.container),
        source=registry,
        verify_pointer=verifier.verify_pointer,
        ledger=SqlitePointerLedger(settings.model_cache_dir / POINTER_LEDGER_FILE),
        verify=verifier.verify,
        load_model=load,
        cache_dir=settings.model_cache_dir,
        model_name=settings.model_name,
        site_id=site_id,
        served=served,
    )
    return delivery, DeliveryPoller(delivery, settings.model_poll_seconds, name="shadow-delivery").start()
