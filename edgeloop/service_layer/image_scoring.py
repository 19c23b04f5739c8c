"""Image scoring use case: score a batch of frames with one model call, record one insight per image.

``score_frames`` takes decoded ``H x W x 3`` uint8 RGB frames (a camera worker's) and
their :class:`~edgeloop.domain.images.ImageSource`; ``score_uploads`` decodes uploaded
JPEG or PNG files first, within the site's bounds (the ``ImageDecoder`` port), and
refuses the whole request, naming every bad file by index and name, before anything is
scored. Either way: the served model's manifest describes the tensor; the frames become
it once, vectorised (edgeloop.domain.image_batches); the graph runs once for the batch;
the task's anomaly rules apply (edgeloop.domain.anomaly: a defect class seen, confidence
below a bound; a detection model's boxes are thresholded and suppressed first, and its
insight holds its detections and counts per class: edgeloop.domain.detection_task); the
insights, derived results only (outputs, prediction, anomaly flags, the source and camera,
the time; never a pixel, never a file name), are committed to the outbox in one transaction,
as the tabular ones are (edgeloop.wire.insight_columns), before the call returns. An empty
batch records nothing. ``score_frame_batches`` takes several of a camera's batches at once:
one graph call per batch (the camera's batch size), their insights recorded as one entry (one
batch id, the frames numbered in order across the batches) in one commit, all or nothing:
what one ``score_frames`` call per batch would record, in fewer commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from edgeloop.domain.anomaly import detect_anomalies
from edgeloop.domain.detection_task import detection_objects
from edgeloop.domain.image_batches import prepare_batch
from edgeloop.domain.images import (
    ImageBounds,
    ImageProblem,
    ImageRefused,
    ImageSource,
    InvalidImages,
    NotAnImageModel,
    UploadedImage,
)
from edgeloop.domain.insight_ids import insight_id_of, new_batch_id
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.records import INSIGHT_KIND, format_timestamp, utc_now
from edgeloop.domain.tasks import DetectionTask, MulticlassTask
from edgeloop.ports import ImageDecoder, ImageScoringModel, Outbox, ScoringModel
from edgeloop.wire.insight_columns import InsightColumns
from edgeloop.wire.insight_wire import (
    OutputTexts,
    detection_texts,
    output_texts,
    prediction_texts,
    text_values,
)
from edgeloop.wire.packing import MAX_ITEM_BYTES

DEFAULT_BOUNDS = ImageBounds()  # frozen: shared safely
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


class ImageScoringService:
    def __init__(
        self,
        outbox: Outbox,
        site_id: str,
        current_model: Callable[[], ScoringModel],
        decoder: ImageDecoder,
        bounds: ImageBounds = DEFAULT_BOUNDS,
        *,
        clock: Callable[[], datetime] = utc_now,
        batch_ids: Callable[[], str] = new_batch_id,
    ) -> None:
        self._outbox = outbox
        self._site_id = site_id
        self._current_model = current_model
        self._decoder = decoder
        self.bounds = bounds
        self._clock = clock
        self._batch_ids = batch_ids

    def score_frames(self, frames: Sequence[npt.NDArray[np.uint8]], source: ImageSource) -> ScoredImages:
        """Score decoded RGB frames with the model served now; one graph call, one outbox commit.

        Raises NotAnImageModel (the model takes rows), InvalidImages (a frame that is not an
        RGB uint8 array, or more frames than the bounds allow), OutboxFull / OutboxUnavailable.
        """
        return self._score(self.image_model(), frames, source)

    def score_frame_batches(
        self, batches: Sequence[Sequence[npt.NDArray[np.uint8]]], source: ImageSource
    ) -> ScoredImages:
        """Score several batches of frames, one graph call each, and commit them as one entry.

        The images come back in order across the batches; each batch is held to the bounds
        (the group as a whole is not: a camera groups batches it already had). Raises as
        :meth:`score_frames`; nothing of the group is recorded when the commit fails.
        """
        model = self.image_model()
        for frames in batches:
            self._check_count(len(frames))
        return self._record(model, [self._predict(model, frames) for frames in batches if frames], source)

    def score_uploads(self, files: Sequence[UploadedImage]) -> ScoredImages:
        """Decode uploaded JPEG or PNG files within the bounds, then score them as :meth:`score_frames`.

        The model is checked first (NotAnImageModel: nothing decoded); then every file, before
        anything is scored; InvalidImages names each bad one (index and file name) and nothing of
        the request is recorded. The batch is scored by the model that was checked.
        """
        model = self.image_model()
        self._check_count(len(files))
        frames: list[npt.NDArray[np.uint8]] = []
        problems: list[ImageProblem] = []
        for index, upload in enumerate(files):
            try:
                frames.append(self._decoder.decode(upload, self.bounds))
            except ImageRefused as refused:
                problems.append(ImageProblem(index, upload.file_name, refused.kind, refused.message))
        if problems:
            raise InvalidImages(problems)
        return self._score(model, frames, ImageSource.upload([upload.file_name for upload in files]))

    def image_model(self) -> ImageScoringModel:
        """The model served now, if it takes images; else NotAnImageModel."""
        model = self._current_model()
        # The manifest says whether it takes images; a Protocol isinstance costs ~0.5 ms a call.
        if model.manifest.image_input is None or not hasattr(model, "predict_images"):
            raise NotAnImageModel(f"model {model.manifest.name} takes rows, not images")
        return cast(ImageScoringModel, model)

    def _check_count(self, count: int) -> None:
        if count > self.bounds.max_images:
            message = f"at most {self.bounds.max_images} images a request, got {count}"
            raise InvalidImages([ImageProblem(None, None, "too_many", message)])

    def _score(
        self, model: ImageScoringModel, frames: Sequence[npt.NDArray[np.uint8]], source: ImageSource
    ) -> ScoredImages:
        self._check_count(len(frames))
        return self._record(model, [self._predict(model, frames)] if frames else [], source)

    @staticmethod
    def _predict(model: ImageScoringModel, frames: Sequence[npt.NDArray[np.uint8]]) -> Outputs:
        spec = model.manifest.image_input
        assert spec is not None  # checked by image_model
        return model.predict_images(prepare_batch(frames, spec))

    def _record(
        self, model: ImageScoringModel, calls: Sequence[Outputs], source: ImageSource
    ) -> ScoredImages:
        """The graph calls' outputs, in order, as one entry of insights, committed."""
        batch_id = self._batch_ids()
        if not calls:
            return _scored(model, batch_id, source, {}, [], [], None)
        manifest = model.manifest
        outputs = calls[0] if len(calls) == 1 else {
            name: np.concatenate([call[name] for call in calls]) for name in manifest.output_names
        }  # fmt: skip
        count = len(outputs[manifest.output_names[0]])
        outputs, prediction = _derived(manifest, outputs)
        flags, kinds = detect_anomalies(manifest, outputs)
        texts = {name: output_texts(column) for name, column in outputs.items()}
        if prediction is None:
            prediction = prediction_texts(manifest.task, outputs, texts)
        anomaly: list[bool] = flags.tolist()
        model_ref = {"name": manifest.name, "version": manifest.version, "sha256": model.sha256}
        if manifest.task.kind != "binary":  # absent: binary, as in every record before tasks
            model_ref["task"] = manifest.task.kind
        scored_at = format_timestamp(self._clock())
        context = [source.context()] * count
        # No inputs: the frame stays on site; the insight holds what the model made of it.
        insights = InsightColumns(
            self._site_id,
            scored_at,
            model_ref,
            batch_id,
            0,
            {},
            texts,
            anomaly,
            kinds,
            context,
            None,
            prediction,
        )
        items = [document for document, _ in insights.documents(MAX_ITEM_BYTES)]
        self._outbox.append(batch_id, INSIGHT_KIND, items, record_count=count)
        return _scored(model, batch_id, source, texts, anomaly, kinds, prediction)


def _derived(
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


def _scored(
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
