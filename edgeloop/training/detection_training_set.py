"""A detection model's retraining data: the recipe's generated base images plus the sites' judged frames.

As an image model's (edgeloop.training.image_training_set: the recipe module's
``base_dataset(parameters)``, frames only where a site's policy let them out, each split by
its insight's hash, the base holdout the trusted yardstick, champion and challenger scored
as a site scores frames), but a frame's label is its truth (edgeloop.domain.detection_feedback):
the operator's verdicts read against the detections its insight recorded, accepted boxes the
frame's defects and rejected ones known background, in pixels of the champion's input, as
the recipe's labels are. Verdicts that do not judge the insight's detections one for one are
outside the schema: counted, left out. The figures are precision, recall and F1
(edgeloop.training.evaluation), golden rows frames with the outputs the model gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.detection_feedback import LabelledBox, VerdictsMismatch, defects_of, frame_truth
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.promotion import DataCounts
from edgeloop.domain.recipes import RecipeSpec, TrainingDataset
from edgeloop.domain.tasks import DetectionTask
from edgeloop.ports import LabelledRow, TrainingFailed
from edgeloop.training.image_training_set import ImageTrainingData, base_images, is_frame, joined_dataset
from edgeloop.training.training_set import RetrainingSet


def frame_label(row: LabelledRow, manifest: ModelManifest) -> tuple[LabelledBox, ...] | None:
    """The frame's boxes in pixels of ``manifest``'s input; None when its verdicts do not fit."""
    spec, task = manifest.image_input, manifest.task
    if spec is None or task.label_problem(row.label) is not None or not isinstance(row.label, str):
        return None
    try:
        return frame_truth(row.prediction, row.label).in_pixels(spec.width, spec.height)
    except VerdictsMismatch:
        return None


def build_detection_training_set(
    base: TrainingDataset, frames: Sequence[LabelledRow], manifest: ModelManifest, unlabelled: int = 0
) -> RetrainingSet:
    """``manifest`` is the champion's (a detection task): its image input names the feature."""
    task, name = manifest.task, manifest.inputs[0].name
    if not isinstance(task, DetectionTask):
        raise TrainingFailed(f"the champion's task is {task.kind}, not detection")
    labelled = [(row, frame_label(row, manifest)) for row in frames if is_frame(row.inputs.get(name))]
    kept = [(row, label) for row, label in labelled if label is not None]
    new_labels = np.empty(len(kept), dtype=object)
    new_labels[:] = [label for _, label in kept]
    dataset = joined_dataset(base, [row for row, _ in kept], name, task, new_labels)
    counts = _counts(task, base, dataset, new_labels, manifest, len(frames), unlabelled)
    return RetrainingSet(dataset, base.indices("holdout"), counts)


def _counts(
    task: DetectionTask,
    base: TrainingDataset,
    dataset: TrainingDataset,
    new_labels: npt.NDArray[Any],
    manifest: ModelManifest,
    new_rows: int,
    unlabelled: int,
) -> DataCounts:
    """A class's rate: the share of images holding one of its defects (the label-shift check's)."""
    fitting = np.concatenate([dataset.indices("train"), dataset.indices("validation")])
    holdout = dataset.indices("holdout")
    return DataCounts(
        base_rows=base.n_rows,
        new_labelled_rows=new_rows,
        out_of_schema_rows=new_rows - len(new_labels),
        unlabelled_insights=unlabelled,
        champion_new_rows=int(manifest.training_data.get("new_labelled_rows", 0) or 0),
        train_rows=int(fitting.size),
        holdout_rows=int(holdout.size),
        task="detection",
        classes=task.classes,
        train_classes=_present(dataset.labels[fitting]),
        holdout_classes=_present(dataset.labels[holdout]),
        base_class_rates={n: _holding(base.labels, n) / max(1, base.n_rows) for n in task.classes},
        new_class_rows={name: _holding(new_labels, name) for name in task.classes},
    )


def _holding(labels: npt.NDArray[Any], name: str) -> int:
    return sum(any(defect[0] == name for defect in defects_of(label)) for label in labels.tolist())


def _present(labels: npt.NDArray[Any]) -> tuple[str, ...]:
    return tuple(sorted({defect[0] for label in labels.tolist() for defect in defects_of(label)}))


def detection_training_data(
    frames: Sequence[LabelledRow], champion: ModelManifest, recipe: RecipeSpec, unlabelled: int
) -> ImageTrainingData:
    """The detection champion's retraining data: the recipe's base images plus the judged ``frames``."""
    training = build_detection_training_set(base_images(recipe), frames, champion, unlabelled)
    return ImageTrainingData(training, recipe)
