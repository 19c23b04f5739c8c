"""The site's background parts, started by the scoring app's lifespan after its components.

Model delivery (the champion poller, and the shadow pointer's beside it), the frame store with
its upload timer (before the cameras, whose scored frames it keeps), the cameras, and the
heartbeat (carrying the drift monitor's summary):
each optional by settings. They start in that order and stop in reverse, before the components
close, so none of them writes to a closed outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

from edgeloop.bootstrap.cameras import start_site_cameras
from edgeloop.bootstrap.frames import FrameComponents, start_site_frames
from edgeloop.bootstrap.model_delivery import start_shadow_delivery, start_site_delivery
from edgeloop.bootstrap.scoring import ScoringComponents
from edgeloop.bootstrap.site_status import start_heartbeat
from edgeloop.config.cameras import CameraSettings
from edgeloop.ports import FrameScorer
from edgeloop.service_layer.camera_worker import CameraFleet
from edgeloop.service_layer.model_delivery import ModelDelivery
from edgeloop.service_layer.shadow_delivery import ShadowDelivery
from edgeloop.service_layer.site_status import no_drift
from scoring_app.camera_metrics import CameraCollector
from scoring_app.delivery_metrics import DeliveryCollector
from scoring_app.drift_metrics import DriftCollector
from scoring_app.frame_metrics import FrameCollector
from scoring_app.shadow_metrics import ShadowCollector
from scoring_app.telemetry import ScoringMetrics


@dataclass
class SiteParts:
    delivery: ModelDelivery | None = None  # None: model delivery off on this site
    shadow: ShadowDelivery | None = None  # None: no shadow pointer followed (delivery or shadow off)
    frames: FrameComponents | None = None  # None: this site keeps no frames
    cameras: CameraFleet | None = None  # None: no camera configured (SCORING_CAMERAS)
    stops: list[Callable[[], None]] = field(default_factory=list)  # in start order

    async def stop(self) -> None:
        for stop in reversed(self.stops):
            await run_in_threadpool(stop)


async def start_site_parts(
    components: ScoringComponents,
    telemetry: ScoringMetrics,
    camera_settings: CameraSettings | None = None,
    frame_scorer: FrameScorer | None = None,
) -> SiteParts:
    parts = SiteParts()
    try:
        await run_in_threadpool(_start, parts, components, telemetry, camera_settings, frame_scorer)
    except BaseException:
        await parts.stop()
        await run_in_threadpool(components.close)  # the lifespan's finally never runs: close here
        raise
    return parts


def _start(
    parts: SiteParts,
    components: ScoringComponents,
    telemetry: ScoringMetrics,
    camera_settings: CameraSettings | None,
    frame_scorer: FrameScorer | None,
) -> None:
    if components.drift is not None:
        telemetry.registry.register(DriftCollector(components.drift))
    # The champion poller (None when no signing key is trusted): swaps models in the background.
    delivery = start_site_delivery(components.model, components.load_model)
    if delivery is not None:
        parts.delivery = delivery[0]
        parts.stops.append(delivery[1].stop)
        telemetry.registry.register(DeliveryCollector(delivery[0]))
    _start_shadow(parts, components, telemetry)
    parts.frames = start_site_frames(components.settings.site_id)
    if parts.frames is not None:
        telemetry.registry.register(FrameCollector(parts.frames))
        parts.stops.append(parts.frames.close)  # stops the timer (its run finishes), closes the store
    keeping = parts.frames.keeping if parts.frames is not None else None
    parts.cameras = start_site_cameras(components, camera_settings, frame_scorer, keeping)
    if parts.cameras is not None:
        telemetry.registry.register(CameraCollector(parts.cameras))
        parts.stops.append(parts.cameras.stop)  # what was sampled is scored into the open outbox
    drift = components.drift.summary if components.drift is not None else no_drift
    heartbeat = start_heartbeat(components, parts.delivery, telemetry.scoring_errors, drift)
    if heartbeat is not None:
        parts.stops.append(heartbeat.stop)


def _start_shadow(parts: SiteParts, components: ScoringComponents, telemetry: ScoringMetrics) -> None:
    """The shadow pointer's poller, filling the scorer's slot (the scorer itself runs with the components)."""
    if components.shadow is None:
        return
    telemetry.registry.register(ShadowCollector(components.shadow))
    holder = components.model
    shadow = start_shadow_delivery(
        components.shadow.slot,
        components.settings.site_id,
        components.load_model,
        served=lambda: holder.current if holder.loaded else None,
    )
    if shadow is not None:
        parts.shadow = shadow[0]
        parts.stops.append(shadow[1].stop)
