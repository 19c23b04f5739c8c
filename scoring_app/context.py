"""What the routes need, built once per process by the lifespan and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.templating import Jinja2Templates

from edgeloop.bootstrap.frames import FrameComponents
from edgeloop.bootstrap.scoring import ScoringComponents
from edgeloop.config.scoring import ScoringSettings
from edgeloop.service_layer.camera_worker import CameraFleet
from edgeloop.service_layer.model_delivery import ModelDelivery
from edgeloop.service_layer.shadow_delivery import ShadowDelivery
from scoring_app.auth import Guard
from scoring_app.grouping import RequestGrouper
from scoring_app.telemetry import ScoringMetrics


@dataclass(frozen=True)
class AppContext:
    settings: ScoringSettings
    components: ScoringComponents
    guard: Guard
    grouper: RequestGrouper
    metrics: ScoringMetrics
    templates: Jinja2Templates
    delivery: ModelDelivery | None = None  # None: model delivery off on this site
    frames: FrameComponents | None = None  # None: this site keeps no frames (SCORING_FRAMES_DIR unset)
    cameras: CameraFleet | None = None  # None: no camera configured (SCORING_CAMERAS)
    shadow: ShadowDelivery | None = None  # None: no shadow pointer followed on this site


def context_of(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx
