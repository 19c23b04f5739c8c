"""Composition of staged rollouts (cloud side): the Rollouts use case and the rollout watch.

Used by the retraining run (a promotion follows the model's plan), the retraining timer (the
watch, ``functions/cloud_retraining.py``) and ``edgeloop models rollout``. The rollout pointer is
signed with the champion pointer's key and lifetime (``build_pointer_signing``); the fleet a
plan is resolved against is the set of sites with a heartbeat in the global store (the
``CLOUD_STORE`` settings, edgeloop.config.cloud), read only when a rollout starts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_rollouts import BlobRollouts
from edgeloop.adapters.ed25519_signing import PRIVATE_KEY_FILE
from edgeloop.bootstrap.cloud import build_store
from edgeloop.bootstrap.retraining import build_pointer_signing, build_registry
from edgeloop.config.cloud import CloudSettings
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.rollout import RolloutState
from edgeloop.ports import InsightStore
from edgeloop.service_layer.rollout_watch import RolloutWatch
from edgeloop.service_layer.rollouts import Rollouts

logger = logging.getLogger(__name__)


def build_rollout_blobs(settings: RetrainingSettings, clients: AzureClients | None = None) -> BlobRollouts:
    connection = settings.resolve_cloud_storage("blob")
    return BlobRollouts.from_connection(connection, settings.models_container, clients)


def build_rollouts(
    settings: RetrainingSettings, clients: AzureClients | None = None, store: InsightStore | None = None
) -> Rollouts:
    clients = clients or AzureClients.from_settings(settings)

    def fleet() -> list[str]:
        sites = store or build_store(CloudSettings())
        return [status.site_id for status in sites.latest_site_statuses()]

    return Rollouts(
        build_registry(settings, clients),
        build_rollout_blobs(settings, clients),
        build_pointer_signing(settings),
        fleet,
    )


def build_rollout_watch(
    settings: RetrainingSettings, clients: AzureClients | None = None, store: InsightStore | None = None
) -> RolloutWatch:
    clients = clients or AzureClients.from_settings(settings)
    store = store or build_store(CloudSettings())
    rollouts = build_rollouts(settings, clients, store)
    return RolloutWatch(rollouts, build_rollout_blobs(settings, clients), store)


def build_rollout_timer(
    settings: RetrainingSettings, clients: AzureClients | None = None
) -> Callable[[], str]:
    """The retraining timer's rollout step: judge the soaking ring, then re-sign the rollout
    pointer if it expires within MODEL_POINTER_REFRESH_HOURS; returns what happened (a log line)."""
    watch = build_rollout_watch(settings, clients)

    def step() -> str:
        report = watch.run(settings.model_name)
        refreshed = watch.rollouts.refresh(settings.model_name)
        said = "no rollout soaking" if report is None else f"{report.decision.action} ({report.blob})"
        return (
            said
            if refreshed is None
            else f"{said}; rollout pointer re-signed: serial {refreshed.pointer.serial}"
        )

    return step


def build_rollout_lookup(cache_seconds: float = 10.0) -> Callable[[str], RolloutState | None] | None:
    """For the global app's fleet view: a model's verified rollout state, read at most every
    ``cache_seconds``; None when the registry's settings are not there (the view shows none).
    A read that fails (registry unreachable, a pointer that does not verify) shows none, logged."""
    try:
        settings = RetrainingSettings()
        if (
            settings.signing_private_key is None
            and not (settings.signing_key_dir / PRIVATE_KEY_FILE).exists()
        ):
            return None  # no key to verify with, and none is made here: the view shows no rollouts
        rollouts = build_rollouts(settings)
    except (ValueError, OSError) as exc:  # settings missing: a global app without a registry
        logger.warning("fleet view without rollouts: %s", exc)
        return None
    cache: dict[str, tuple[float, RolloutState | None]] = {}

    def lookup(name: str) -> RolloutState | None:
        now = time.monotonic()
        if name in cache and now - cache[name][0] < cache_seconds:
            return cache[name][1]
        try:
            state = rollouts.status(name)
        except Exception:  # shown as no rollout; the watch and the CLI say what is wrong
            logger.exception("rollout of %s not read for the fleet view", name)
            state = None
        cache[name] = (now, state)
        return state

    return lookup
