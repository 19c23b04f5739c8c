"""Composition root of a site's cameras: settings -> one worker per camera, on the PyAV connector.

Called from the scoring app's lifespan after the model and outbox are up, never at import.
The frames are scored by the served model's image scoring (``site_frame_scorer``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.pyav_camera import PyAvConnector
from edgeloop.bootstrap.scoring import ScoringComponents
from edgeloop.config.cameras import CameraSettings
from edgeloop.domain.cameras import MAX_BATCH_SIZE, FrameStamp
from edgeloop.domain.images import ImageBounds, ImageSource
from edgeloop.ports.cameras import CameraConnector, FrameScorer, RgbFrame
from edgeloop.service_layer.camera_worker import CameraFleet, CameraWorker
from edgeloop.service_layer.frame_keeping import FrameKeeping
from edgeloop.service_layer.image_scoring import ImageScoringService, ScoredImages

logger = logging.getLogger(__name__)


def build_camera_fleet(
    settings: CameraSettings, scorer: FrameScorer, connector: CameraConnector | None = None
) -> CameraFleet | None:
    """The site's camera workers, not started; None when no camera is configured."""
    cameras = settings.camera_specs()
    if not cameras:
        return None
    connector = connector or PyAvConnector(
        settings.camera_open_timeout_seconds, settings.camera_read_timeout_seconds
    )
    backoff = settings.backoff()
    return CameraFleet(
        [
            CameraWorker(
                camera,
                connector,
                scorer,
                backoff,
                batch_max_wait=settings.camera_batch_max_wait_seconds,
                group_batches=settings.camera_group_batches,
            )
            for camera in cameras
        ]
    )


def start_camera_fleet(
    settings: CameraSettings, scorer: FrameScorer, connector: CameraConnector | None = None
) -> CameraFleet | None:
    fleet = build_camera_fleet(settings, scorer, connector)
    if fleet is not None:
        fleet.start()
        for worker in fleet.workers:
            camera = worker.camera
            logger.info(
                "camera %s: %s (%s), %.3g frames/s sampled, batches of %d",
                camera.id, camera.redacted_url(), camera.kind, camera.sample_fps, camera.batch_size,
            )  # fmt: skip
    return fleet


class CameraImageScoring:
    """The ``FrameScorer`` port on the image scoring use case: a camera's batches, one graph call
    each, one insight per frame (derived results and the camera's id; never a pixel), the group
    in one outbox commit; then, when the site keeps frames, each frame kept on site (in the
    camera's scorer thread)."""

    def __init__(self, images: ImageScoringService, keeping: FrameKeeping | None = None) -> None:
        self._images = images
        self._keeping = keeping

    def score_batches(self, batches: Sequence[Sequence[RgbFrame]], stamp: FrameStamp) -> ScoredImages:
        scored = self._images.score_frame_batches(batches, ImageSource.camera(stamp.camera_id))
        if self._keeping is not None:
            self._keeping.keep_camera_frames(scored, [frame for frames in batches for frame in frames], stamp)
        return scored


def site_frame_scorer(components: ScoringComponents, keeping: FrameKeeping | None = None) -> FrameScorer:
    """The served model's image scoring (each batch then offered to the shadow, when the site has
    shadow scoring); refused at start-up when the model takes rows."""
    # A new site (no model yet) starts its cameras; frames are dropped as scoring errors until
    # the first champion arrives.
    manifest = components.model.current.manifest if components.model.loaded else None
    if manifest is not None and manifest.image_input is None:
        raise ValueError(
            f"SCORING_CAMERAS: the served model {manifest.name} takes rows, not images "
            "(SCORING_MODEL_DIR: an image model's bundle)"
        )
    holder = components.model
    # The upload bounds (SCORING_IMAGE_MAX_FILES) are for requests; a camera's batch is its own.
    bounds = ImageBounds(max_images=MAX_BATCH_SIZE)
    shadow = components.shadow.offer_frames if components.shadow is not None else None
    images = ImageScoringService(
        components.outbox,
        components.settings.site_id,
        lambda: holder.current,
        PillowDecoder(),
        bounds,
        shadow=shadow,
    )
    return CameraImageScoring(images, keeping)


def start_site_cameras(
    components: ScoringComponents,
    settings: CameraSettings | None = None,
    scorer: FrameScorer | None = None,
    keeping: FrameKeeping | None = None,
) -> CameraFleet | None:
    """The scoring app's cameras, started; None when the site has none (``SCORING_CAMERAS``).
    ``keeping``: the site's frame keeping (None: it keeps no frames); unused with ``scorer``."""
    settings = settings or CameraSettings()
    if not settings.camera_specs():
        return None
    if components.settings.workers > 1:  # each worker process runs this lifespan: every camera twice
        raise ValueError(
            "SCORING_CAMERAS: needs SCORING_WORKERS=1 (every worker process would read and score "
            "every camera); run the cameras in a scoring process of their own"
        )
    return start_camera_fleet(settings, scorer or site_frame_scorer(components, keeping))
