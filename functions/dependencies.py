"""Every Function's dependencies: one :class:`~functions.lazy.Lazy` each, composed on first use.

A blueprint calls ``dependencies.<name>.get()`` in its invocation; the first call
builds it through its composition root in ``edgeloop.bootstrap`` (settings read
then, never at import: the host imports function_app.py to index the functions),
and every later invocation of the process shares it. Only the root asked for is
imported, so an edge worker never loads cloud code. The cloud's dependencies share
one :class:`~edgeloop.adapters.azure_clients.AzureClients` (one credential per
identity). Tests replace one with ``.override(value)``; ``.override(None)``
composes from settings again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.lazy import Lazy

if TYPE_CHECKING:
    from collections.abc import Callable

    from edgeloop.adapters.azure_clients import AzureClients
    from edgeloop.domain.signed_pointer import SignedPointer
    from edgeloop.ports import Trainer
    from edgeloop.service_layer.drift_watch import DriftWatch
    from edgeloop.service_layer.filtering import InsightFilter
    from edgeloop.service_layer.ingest import InsightIngest
    from edgeloop.service_layer.lake_feed import LakeFeed
    from edgeloop.service_layer.powerbi_feed import PowerBIFeed
    from edgeloop.service_layer.retraining import RetrainingService
    from functions.asgi import AsgiFunction


def _compose_insight_filter() -> InsightFilter:
    from edgeloop.bootstrap.edge import build_insight_filter

    return build_insight_filter()


def _compose_cloud_clients() -> AzureClients:
    from edgeloop.adapters.azure_clients import AzureClients
    from edgeloop.config.azure_sdk import AzureSdkSettings

    # One set of clients for the cloud functions: STORAGE_API_VERSION is an app setting of the app.
    return AzureClients.from_settings(AzureSdkSettings())


def _compose_insight_ingest() -> InsightIngest:
    from edgeloop.bootstrap.cloud import build_ingest

    return build_ingest(clients=cloud_clients.get())


def _compose_powerbi_feed() -> PowerBIFeed:
    from edgeloop.bootstrap.powerbi import build_feed
    from edgeloop.config.powerbi import PowerBISettings

    return build_feed(PowerBISettings(), clients=cloud_clients.get())


def _compose_lake_feed() -> LakeFeed:
    from edgeloop.bootstrap.lake import build_lake_feed
    from edgeloop.config.lake import LakeSettings

    return build_lake_feed(LakeSettings(), clients=cloud_clients.get())


def _compose_trainer() -> Trainer:
    from edgeloop.bootstrap.retraining import build_trainer
    from edgeloop.config.retraining import RetrainingSettings

    return build_trainer(RetrainingSettings(), cloud_clients.get())


def _compose_drift_watch() -> DriftWatch:
    from edgeloop.bootstrap.retraining import build_drift_watch
    from edgeloop.config.retraining import RetrainingSettings

    return build_drift_watch(RetrainingSettings(), trainer.get())


def _compose_retraining() -> RetrainingService:
    from edgeloop.bootstrap.retraining import build_retraining
    from edgeloop.config.retraining import RetrainingSettings

    return build_retraining(RetrainingSettings(), cloud_clients.get())


def _compose_line_retraining() -> Callable[[str | None], RetrainingService]:
    from edgeloop.bootstrap.model_lines import build_line_retrainings
    from edgeloop.config.retraining import RetrainingSettings

    return build_line_retrainings(RetrainingSettings(), cloud_clients.get())


def _compose_retraining_lines() -> tuple[str | None, ...]:
    from edgeloop.config.retraining import RetrainingSettings

    lines = RetrainingSettings().model_lines
    return (None, *(cohort.line for cohort in lines.cohorts))


def _compose_pointer_refresher() -> Callable[[], SignedPointer | None]:
    from edgeloop.bootstrap.retraining import build_pointer_refresher
    from edgeloop.config.retraining import RetrainingSettings

    return build_pointer_refresher(RetrainingSettings(), cloud_clients.get())


def _compose_shadow_refresher() -> Callable[[], object]:
    from edgeloop.bootstrap.retraining import build_shadow_refresher
    from edgeloop.config.retraining import RetrainingSettings

    return build_shadow_refresher(RetrainingSettings(), cloud_clients.get())


def _compose_rollout_step() -> Callable[[], str]:
    from edgeloop.bootstrap.rollouts import build_rollout_timer
    from edgeloop.config.retraining import RetrainingSettings

    return build_rollout_timer(RetrainingSettings(), cloud_clients.get())


def _compose_global_app() -> AsgiFunction:
    from functions.asgi import AsgiFunction
    from global_app.app import create_app_from_settings

    return AsgiFunction(create_app_from_settings())


insight_filter: Lazy[InsightFilter] = Lazy(_compose_insight_filter)  # edge role
cloud_clients: Lazy[AzureClients] = Lazy(_compose_cloud_clients)
insight_ingest: Lazy[InsightIngest] = Lazy(_compose_insight_ingest)
powerbi_feed: Lazy[PowerBIFeed] = Lazy(_compose_powerbi_feed)
lake_feed: Lazy[LakeFeed] = Lazy(_compose_lake_feed)
trainer: Lazy[Trainer] = Lazy(_compose_trainer)
retraining: Lazy[RetrainingService] = Lazy(_compose_retraining)
line_retraining: Lazy[Callable[[str | None], RetrainingService]] = Lazy(_compose_line_retraining)
retraining_lines: Lazy[tuple[str | None, ...]] = Lazy(_compose_retraining_lines)  # the lines the timer runs
drift_watch: Lazy[DriftWatch] = Lazy(_compose_drift_watch)
pointer_refresher: Lazy[Callable[[], SignedPointer | None]] = Lazy(_compose_pointer_refresher)
rollout_step: Lazy[Callable[[], str]] = Lazy(_compose_rollout_step)
shadow_refresher: Lazy[Callable[[], object]] = Lazy(_compose_shadow_refresher)  # the pointer, or None
global_app: Lazy[AsgiFunction] = Lazy(_compose_global_app)
