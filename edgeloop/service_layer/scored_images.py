"""A scored batch of images as the answer and the shadow see it, and what a graph call's outputs mean.

:func:`derived_outputs`: the per-image columns an insight holds (a detection model's boxes become
its detections and counts per class); :func:`scored_images`: the recorded batch's
:class:`ScoredImages` (one :class:`ScoredImage` per frame, its insight id, outputs, prediction and
anomaly flags). Used by the image scoring use case and by the shadow's image scoring, so that a
shadow model's results are read exactly as a served one's are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from edgeloop.domain.anomaly import detect_anomalies
from edgeloop.domain.detection_task import detection_objects
from edgeloop.domain.images import ImageSource
from edgeloop.domain.insight_ids import insight_id_of
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.tasks import DetectionTask, MulticlassTask
from edgeloop.ports import ScoringModel
from edgeloop.wire.insight_wire import (
    OutputTexts,
    detection_texts,
    output_texts,
    prediction_texts,
    text_values,
)

Outputs = dict[str, npt.NDArray[np.float64]]  # one graph call's, per manifest output


@dataclass(frozen=True, slots=True)
class ScoredImage:
    """One scored image: where it was in the request, its insight, what the model made of it."""

    index: int
    file_name: str | None  # an upload's; None for a camera frame
    insight_id: str
    outputs: dict[str, float | None]  # per manifest output (None: not a finite number)
    # The class name (multiclass), value (regression) or list of detections (detection);
    # None for binary or non-finite.
    prediction: Any
    anomaly: bool
    anomaly_kinds: tuple[str, ...]

    def result(self, probabilities: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """The answer's item; ``probabilities``: a multiclass model's (class, output) pairs."""
        item: dict[str, Any] = {"index": self.index, "insight_id": self.insight_id}
        if self.file_name is not None:
            item["file_name"] = self.file_name
        if isinstance(self.prediction, list):  # a detection model's, answered as objects
            item["detections"] = detection_objects(self.prediction)
        else:
            item["prediction"] = self.prediction
        if probabilities:
            item["probabilities"] = {name: self.outputs[output] for name, output in probabilities}
        item |= {"outputs": self.outputs, "anomaly": self.anomaly, "anomaly_kinds": list(self.anomaly_kinds)}
        return item


@dataclass(frozen=True, slots=True)
class ScoredImages:
    """A batch's scored images, in the order they came, all recorded under one batch id."""

    model_name: str
    model_version: str
    batch_id: str
    source: ImageSource
    images: tuple[ScoredImage, ...]
    # A multiclass model's classes with their probability outputs, in the task's order.
    probabilities: tuple[tuple[str, str], ...] = ()

    @property
    def anomalies(self) -> int:
        return sum(image.anomaly for image in self.images)

    def anomaly_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for image in self.images:
            for kind in image.anomaly_kinds:
                counts[kind] = counts.get(kind, 0) + 1
        return counts

    def response(self) -> dict[str, Any]:
        return {
            "model": {"name": self.model_name, "version": self.model_version},
            "results": [image.result(self.probabilities) for image in self.images],
        }


class ReadOutputs(NamedTuple):
    """A batch's graph calls read as insights hold them: per output the JSON texts, the anomaly flags
    and kinds, the prediction texts (None: a binary model)."""

    frames: int
    texts: dict[str, OutputTexts]
    anomaly: list[bool]
    kinds: list[tuple[str, ...]]
    prediction: OutputTexts | None


def read_outputs(manifest: ModelManifest, calls: Sequence[Outputs]) -> ReadOutputs:
    """The graph calls' outputs (in order, at least one) as insights hold them."""
    outputs = calls[0] if len(calls) == 1 else {
        name: np.concatenate([call[name] for call in calls]) for name in manifest.output_names
    }  # fmt: skip
    count = len(outputs[manifest.output_names[0]])
    outputs, prediction = derived_outputs(manifest, outputs)
    flags, kinds = detect_anomalies(manifest, outputs)
    texts = {name: output_texts(column) for name, column in outputs.items()}
    if prediction is None:
        prediction = prediction_texts(manifest.task, outputs, texts)
    return ReadOutputs(count, texts, flags.tolist(), kinds, prediction)


def derived_outputs(
    manifest: ModelManifest, outputs: dict[str, npt.NDArray[np.float64]]
) -> tuple[dict[str, npt.NDArray[np.float64]], OutputTexts | None]:
    """The per-image columns an insight holds, and (detection) each image's detections as JSON.

    A detection model's boxes, classes and scores are tensors: they become its detections and
    the counts per class; any other output (an OOD score) stays as it is.
    """
    task, spec = manifest.task, manifest.image_input
    if not isinstance(task, DetectionTask) or spec is None:
        return {name: outputs[name] for name in manifest.output_names}, None
    detected = task.detect(outputs, spec.width, spec.height)
    others = {name: outputs[name] for name in manifest.output_names if name not in task.prediction_outputs}
    return task.summaries(detected) | others, detection_texts(detected)


def scored_images(
    model: ScoringModel,
    batch_id: str,
    source: ImageSource,
    texts: dict[str, list[bytes]],
    anomaly: list[bool],
    kinds: list[tuple[str, ...]],
    prediction: list[bytes] | None,
) -> ScoredImages:
    manifest = model.manifest
    values = {name: text_values(column) for name, column in texts.items()}
    predicted = text_values(prediction) if prediction is not None else [None] * len(anomaly)
    images = tuple(
        ScoredImage(
            index,
            source.file_name(index),
            insight_id_of(batch_id, index),
            {name: column[index] for name, column in values.items()},
            predicted[index],
            flag,
            kinds[index],
        )
        for index, flag in enumerate(anomaly)
    )
    task = manifest.task
    pairs: tuple[tuple[str, str], ...] = ()
    if isinstance(task, MulticlassTask):
        pairs = tuple(zip(task.classes, task.probability_outputs, strict=True))
    return ScoredImages(manifest.name, manifest.version, batch_id, source, images, pairs)
