"""Composition of the site's heartbeat: called from the scoring app's lifespan, never at import.

Binds each reading of ``edgeloop.service_layer.site_status`` to where it is known in the scoring
process: the model holder (serving), model delivery (the champion seen), the outbox (depth,
oldest entry), the relay's stats and the app's count of 5xx answers. The drift summary is a
provider passed in (a drift monitor's ``summary``); without one it reads "unavailable".
"""

from __future__ import annotations

from collections.abc import Callable

from edgeloop.bootstrap.scoring import ScoringComponents
from edgeloop.domain.records import ModelRef
from edgeloop.domain.site_status import UNKNOWN_MODEL
from edgeloop.ports import ScoringModel
from edgeloop.service_layer.model_delivery import ModelDelivery
from edgeloop.service_layer.scoring import ModelHolder
from edgeloop.service_layer.site_status import (
    DriftProvider,
    HeartbeatThread,
    SiteHeartbeat,
    SiteReadings,
    no_drift,
)


def serving_ref(model: ScoringModel) -> ModelRef:
    manifest = model.manifest
    return ModelRef(manifest.name, manifest.version, model.sha256, manifest.task.kind)


def serving_model_of(holder: ModelHolder) -> ModelRef:
    """The serving model; none yet (a new site waiting for its first champion): the unknown
    model, so that the site still beats and the fleet sees it alive and waiting."""
    return serving_ref(holder.current) if holder.loaded else UNKNOWN_MODEL


def start_heartbeat(
    components: ScoringComponents,
    delivery: ModelDelivery | None,
    scoring_errors: Callable[[], int],
    drift: DriftProvider = no_drift,
) -> HeartbeatThread | None:
    """The heartbeat's thread, beating now and every interval; None when the setting is 0."""
    interval = components.settings.heartbeat_interval_seconds
    if interval <= 0:
        return None
    holder, stats = components.model, components.relay_stats
    readings = SiteReadings(
        serving_model=lambda: serving_model_of(holder),
        champion_version=lambda: delivery.stats.champion_version if delivery is not None else None,
        outbox_oldest_age=components.outbox.oldest_pending_age,
        relay_last_success=lambda: stats.last_success_at,
        relay_last_sent=lambda: stats.last_sent_at,
        relay_failures=lambda: stats.errors,
        scoring_errors=scoring_errors,
        drift=drift,
        rejected_versions=lambda: () if delivery is None else tuple(sorted(delivery.status()["rejected"])),
    )
    heartbeat = SiteHeartbeat(components.settings.site_id, components.outbox, readings)
    return HeartbeatThread(heartbeat, interval)
