"""Composition of staged rollouts (cloud side): the Rollouts use case and the rollout watch.

Used by the retraining run (a promotion follows the model's plan), the retraining timer (the
watch, ``functions/cloud_retraining.py``) and ``edgeloop models rollout``. The rollout pointer is
signed with the champion pointer's key and lifetime (``build_pointer_signing``); the fleet a
plan is resolved against is the set of sites with a heartbeat in the global store (the
``CLOUD_STORE`` settings, edgeloop.config.cloud), read only when a rollout starts.
"""

from __future__ import annotations

from collections.abc import Callable

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_rollouts import BlobRollouts
from edgeloop.bootstrap.cloud import build_store
from edgeloop.bootstrap.retraining import build_pointer_signing, build_registry
from edgeloop.config.cloud import CloudSettings
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.ports import InsightStore
from edgeloop.service_layer.rollout_watch import RolloutWatch
from edgeloop.service_layer.rollouts import Rollouts


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
