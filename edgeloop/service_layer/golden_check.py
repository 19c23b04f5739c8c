"""The last check before a new model serves: its own outputs on the golden rows shipped with it.

The model is warmed up on those rows first (the first runs allocate; requests should not pay
for that), then its outputs are compared with the golden ones; any mismatch rejects the bundle.
An image model's golden rows are frames (edgeloop.domain.golden_images), prepared and scored
as a site scores frames: one ``predict_images`` call on the manifest's tensor; a detection
model's outputs are then its detections after threshold and NMS, as numbers per frame
(edgeloop.domain.detection_task.detection_columns): the frames with their expected detections.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from edgeloop.domain.bundle_integrity import GoldenSample, IntegrityError, golden_mismatches
from edgeloop.domain.detection_task import DetectionTask, detection_columns
from edgeloop.domain.golden_images import golden_frames
from edgeloop.domain.image_batches import prepare_batch
from edgeloop.domain.images import InvalidImages
from edgeloop.domain.validation import RowValidationError, validate_rows
from edgeloop.ports import ImageScoringModel, ScoringModel
from edgeloop.service_layer.signed_bundles import BundleRejected

Outputs = dict[str, npt.NDArray[np.float64]]


def golden_scorer(model: ScoringModel, rows: Sequence[Mapping[str, Any]]) -> Callable[[], Outputs]:
    """What scores ``rows`` with ``model``, once prepared: rows validated, or frames laid out as
    the manifest's image tensor. RowValidationError or IntegrityError when they do not fit."""
    manifest = model.manifest
    spec = manifest.image_input
    if spec is None:
        columns = validate_rows(manifest, list(rows))
        return lambda: model.predict(columns)
    tensor = prepare_batch(golden_frames(manifest.inputs[0].name, rows), spec)
    image_model = cast(ImageScoringModel, model)
    task = manifest.task
    if isinstance(task, DetectionTask):
        return lambda: detection_columns(
            task, task.detect(image_model.predict_images(tensor), spec.width, spec.height)
        )
    return lambda: image_model.predict_images(tensor)


WARM_UP_ROUNDS = 3


def check_golden(model: ScoringModel, golden: GoldenSample) -> None:
    """Warm the model up on the golden rows, then compare its outputs; BundleRejected on a mismatch."""
    try:
        score = golden_scorer(model, golden.rows)
    except RowValidationError as exc:
        raise BundleRejected(f"golden rows do not fit the manifest: {exc.errors[0]}") from None
    except (IntegrityError, InvalidImages) as exc:  # frames that do not decode or prepare
        raise BundleRejected(f"golden rows do not fit the manifest: {exc}") from None
    for _ in range(WARM_UP_ROUNDS):
        outputs = score()
    problems = golden_mismatches(golden, {name: values.tolist() for name, values in outputs.items()})
    if problems:
        raise BundleRejected("golden check failed: " + "; ".join(problems))
