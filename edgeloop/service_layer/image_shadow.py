"""The shadow's image scoring: what a shadowed image model said of the frames the served one answered.

Contract: :func:`image_shadow_records` takes one round's :class:`ImageShadowJob` (each a committed
batch: its :class:`ScoredImages` and its frames, one list per served graph call, decoded RGB as
they were scored: never decoded again) and the shadow model. Each list is prepared for the
SHADOW's manifest (its own input spec: size, layout, resize may differ from the served model's)
and scored in one graph call; the outputs are read as a served image model's are
(edgeloop.service_layer.scored_images.read_outputs: a detection model's boxes thresholded and
suppressed, the task's anomaly rules). One ``shadow_insight`` per frame, under the frame's insight
id, holds derived results only (outputs, anomaly flags, class or detections), never a pixel.
Raises NotAnImageModel when the shadow takes rows; the worker counts any raise as failed frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import numpy as np
import numpy.typing as npt

from edgeloop.domain.image_batches import prepare_batch
from edgeloop.domain.images import NotAnImageModel
from edgeloop.domain.records import ModelRef
from edgeloop.domain.shadow_records import ServedOutcome, ShadowInsightRecord
from edgeloop.ports import ImageScoringModel, ScoringModel
from edgeloop.service_layer.scored_images import ScoredImages, read_outputs
from edgeloop.wire.insight_wire import text_values


@dataclass(frozen=True, slots=True)
class ImageShadowJob:
    served: ScoredImages
    batches: tuple[Sequence[npt.NDArray[np.uint8]], ...]  # one per served graph call, in order
    scored_at: datetime

    @property
    def n_rows(self) -> int:
        return len(self.served.images)

    @property
    def batch_id(self) -> str:
        return self.served.batch_id

    @property
    def nbytes(self) -> int:
        """What the frames held for the shadow weigh (the worker's memory bound counts it)."""
        return sum(frame.nbytes for frames in self.batches for frame in frames)


def image_shadow_records(
    model: ScoringModel, jobs: Sequence[ImageShadowJob], site_id: str
) -> list[ShadowInsightRecord]:
    """The shadow's records of the jobs' frames, in order: one graph call per served batch."""
    manifest, spec = model.manifest, model.manifest.image_input
    if spec is None or not hasattr(model, "predict_images"):
        raise NotAnImageModel(f"the shadow {manifest.name} {manifest.version} takes rows, not images")
    images = cast(ImageScoringModel, model)
    calls = [images.predict_images(prepare_batch(frames, spec)) for job in jobs for frames in job.batches]
    if not calls:
        return []
    frames, texts, anomaly, kinds, prediction = read_outputs(manifest, calls)
    outputs = {name: text_values(column) for name, column in texts.items()}
    predicted = text_values(prediction) if prediction is not None else [None] * frames
    ref = ModelRef(manifest.name, manifest.version, model.sha256, manifest.task.kind)
    records: list[ShadowInsightRecord] = []
    for job in jobs:
        for image in job.served.images:
            at = len(records)
            records.append(
                ShadowInsightRecord(
                    insight_id=image.insight_id,
                    site_id=site_id,
                    scored_at=job.scored_at,
                    model=ref,
                    served=ServedOutcome(job.served.model_version, image.anomaly, image.prediction),
                    outputs={name: values[at] for name, values in outputs.items()},
                    anomaly=anomaly[at],
                    anomaly_kinds=kinds[at],
                    prediction=predicted[at],
                )
            )
    return records
