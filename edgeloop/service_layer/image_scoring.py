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
what one ``score_frames`` call per batch would record, in fewer commits. With ``shadow`` set
(the site's ``ShadowScorer.offer_frames``), each committed batch's frames, one list per graph
call, are then offered to the shadow model: it only queues them (bounded, never waits), so the
answer is what it would be without it; without it nothing is done at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import cast

import numpy as np
import numpy.typing as npt

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
from edgeloop.domain.insight_ids import new_batch_id
from edgeloop.domain.records import INSIGHT_KIND, format_timestamp, utc_now
from edgeloop.ports import ImageDecoder, ImageScoringModel, Outbox, ScoringModel
from edgeloop.service_layer.scored_images import (
    Outputs,
    ScoredImage,
    ScoredImages,
    read_outputs,
    scored_images,
)
from edgeloop.wire.insight_columns import InsightColumns
from edgeloop.wire.packing import MAX_ITEM_BYTES

__all__ = ["DEFAULT_BOUNDS", "FrameShadowOffer", "ImageScoringService", "ScoredImage", "ScoredImages"]

DEFAULT_BOUNDS = ImageBounds()  # frozen: shared safely
# ShadowScorer.offer_frames (edgeloop.service_layer.shadow_scoring): queues a committed batch's
# frames (one list per graph call) for the shadow, never blocks.
FrameShadowOffer = Callable[[ScoredImages, Sequence[Sequence[npt.NDArray[np.uint8]]], datetime], object]


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
        shadow: FrameShadowOffer | None = None,
    ) -> None:
        self._outbox = outbox
        self._shadow = shadow  # set: each committed batch's frames are offered to the shadow model
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
        batches = [frames for frames in batches if frames]
        return self._record(model, batches, [self._predict(model, frames) for frames in batches], source)

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
        batches = [frames] if frames else []
        return self._record(model, batches, [self._predict(model, frames) for frames in batches], source)

    @staticmethod
    def _predict(model: ImageScoringModel, frames: Sequence[npt.NDArray[np.uint8]]) -> Outputs:
        spec = model.manifest.image_input
        assert spec is not None  # checked by image_model
        return model.predict_images(prepare_batch(frames, spec))

    def _record(
        self,
        model: ImageScoringModel,
        batches: Sequence[Sequence[npt.NDArray[np.uint8]]],
        calls: Sequence[Outputs],
        source: ImageSource,
    ) -> ScoredImages:
        """The graph calls' outputs, in order, as one entry of insights, committed; then the batches'
        frames offered to the shadow (it never waits on it)."""
        batch_id = self._batch_ids()
        if not calls:
            return scored_images(model, batch_id, source, {}, [], [], None)
        manifest = model.manifest
        count, texts, anomaly, kinds, prediction = read_outputs(manifest, calls)
        model_ref = {"name": manifest.name, "version": manifest.version, "sha256": model.sha256}
        if manifest.task.kind != "binary":  # absent: binary, as in every record before tasks
            model_ref["task"] = manifest.task.kind
        now = self._clock()
        scored_at = format_timestamp(now)
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
        scored = scored_images(model, batch_id, source, texts, anomaly, kinds, prediction)
        if self._shadow is not None:
            self._shadow(scored, batches, now)
        return scored
