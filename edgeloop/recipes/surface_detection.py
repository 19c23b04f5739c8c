"""Training recipe of the detection demo: where the spots and scratches are on a 96x96 surface.

``dataset.features["image"]`` holds the images (``[N, 96, 96, 3]`` uint8 RGB); each label is
the image's defects, ``(class, (x1, y1, x2, y2))`` in pixels (edgeloop.recipes.detection_images).
The graph (edgeloop.recipes.detection_graph) scores each of 121 overlapping windows; a window
is taught a class when a defect's centre lies in its central cell, background otherwise (even
when it sees part of a defect: so a defect lights up one window, and what its neighbours still
score is left to non-maximum suppression). A label may also hold known-background boxes
(class ``background``: a detection an operator rejected, edgeloop.domain.detection_feedback):
the window its centre lies in is taught background, weighted ``hard_negative_weight``. A
standardised multinomial logistic regression (scikit-learn) is fitted on the windows' features
and folded into the graph. The model card reports the holdout's precision, recall and F1 after
thresholding and NMS, as a site computes them: a detection is right when it has a defect's
class and that defect's centre inside its box, each defect found at most once.

Retraining: :func:`base_dataset` gives the generated images, split as the first bundle's
were (the same ``seed`` and ``base_images``); the sites' labelled frames join them
(edgeloop.training.detection_training_set).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from edgeloop.domain.detection_feedback import BACKGROUND, detection_scores
from edgeloop.domain.detection_task import Detection, DetectionTask
from edgeloop.domain.image_batches import prepare_batch
from edgeloop.domain.images import ImageSpec
from edgeloop.domain.recipes import RecipeResult, TrainingDataset
from edgeloop.recipes import detection_graph, detection_images
from edgeloop.recipes.image_features import IMAGE_INPUT
from edgeloop.recipes.recipe_parts import FORMAT_FIELDS, RecipeInputError, merged_parameters, split_indices

MODEL_NAME = "surface-detection"
ENTRY_POINT = "edgeloop.recipes.surface_detection:train"
SPEC = ImageSpec(width=detection_images.SIZE, height=detection_images.SIZE)
OUTPUTS = (detection_graph.BOXES, detection_graph.CLASSES, detection_graph.SCORES)
DEFAULT_PARAMETERS: Mapping[str, Any] = {
    "seed": 7,
    "regularisation": 1.0,
    "score_threshold": 0.3,  # the holdout's best F1 (precision 1.0, recall 0.84 at seed 7)
    "iou_threshold": 0.1,  # adjacent windows overlap by 1/3, diagonal ones by 1/7
    "min_confidence": 0.6,  # a detection below it is flagged low_confidence
    "base_images": 600,  # generated images of base_dataset (the first bundle's training data)
    "hard_negative_weight": 3.0,  # a rejected detection's window counts this many background windows
}

Labels = Sequence[tuple[detection_images.Defect, ...]]


def task(
    score_threshold: float = 0.3, iou_threshold: float = 0.1, min_confidence: float = 0.6
) -> DetectionTask:
    """Every defect class is an alert; an unsure detection is flagged too."""
    classes = detection_images.CLASSES
    return DetectionTask(classes, *OUTPUTS, score_threshold, iou_threshold, 10, classes, min_confidence)


def generated_dataset(count: int = 600, seed: int = 7) -> TrainingDataset:
    """``count`` generated images, split 60/20/20."""
    images, labels = detection_images.generate(count, seed)
    order = np.random.default_rng(seed).permutation(count)
    split = np.empty(count, dtype=object)
    split[order[: count * 3 // 5]] = "train"
    split[order[count * 3 // 5 : count * 4 // 5]] = "validation"
    split[order[count * 4 // 5 :]] = "holdout"
    label_column = np.empty(count, dtype=object)
    label_column[:] = labels
    return TrainingDataset(
        task=task(),
        features={IMAGE_INPUT: images},
        labels=label_column,
        site=np.full(count, "", dtype=object),
        time=np.full(count, np.datetime64("NaT"), dtype="datetime64[s]"),
        split=split,
        source=f"generated surfaces (edgeloop.recipes.detection_images, seed {seed}, {count} images)",
    )


def base_dataset(parameters: Mapping[str, Any]) -> TrainingDataset:
    """The retraining's base images: the generated ones the first bundle was trained on, split alike."""
    settings = merged_parameters(DEFAULT_PARAMETERS, parameters)
    return generated_dataset(int(settings["base_images"]), int(settings["seed"]))


def _windows_of(centre: tuple[float, float]) -> npt.NDArray[np.bool_]:
    """The windows whose central cell holds ``centre`` (pixels)."""
    cells = (
        detection_graph.window_boxes().astype(np.float64) + np.array([1, 1, -1, -1]) * detection_graph.CELL
    )
    cx, cy = centre
    inside: npt.NDArray[np.bool_] = (
        (cells[:, 0] <= cx) & (cx < cells[:, 2]) & (cells[:, 1] <= cy) & (cy < cells[:, 3])
    )
    return inside


def window_labels(labels: Labels, classes: Sequence[str]) -> npt.NDArray[np.int64]:
    """``[images, windows]``: 1 + the class index where a defect's centre is in the window's cell, else 0."""
    found = np.zeros((len(labels), detection_graph.GRID**2), dtype=np.int64)
    for image, defects in enumerate(labels):
        for name, (x1, y1, x2, y2) in defects:
            if name != BACKGROUND:
                found[image, _windows_of(((x1 + x2) / 2, (y1 + y2) / 2))] = 1 + classes.index(name)
    return found


def hard_negative_windows(labels: Labels) -> npt.NDArray[np.bool_]:
    """``[images, windows]``: True where a known-background box's centre is in the window's cell."""
    found = np.zeros((len(labels), detection_graph.GRID**2), dtype=np.bool_)
    for image, boxes in enumerate(labels):
        for name, (x1, y1, x2, y2) in boxes:
            if name == BACKGROUND:
                found[image] |= _windows_of(((x1 + x2) / 2, (y1 + y2) / 2))
    return found


def train(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    """Fit on the train images' windows; report the holdout's detection figures."""
    settings = merged_parameters(DEFAULT_PARAMETERS, parameters)
    if IMAGE_INPUT not in dataset.features:
        raise RecipeInputError(f"this recipe trains on images: the dataset has no {IMAGE_INPUT!r} feature")
    model_task = task(
        float(settings["score_threshold"]),
        float(settings["iou_threshold"]),
        float(settings["min_confidence"]),
    )
    labels = list(dataset.labels)
    known = (*model_task.classes, BACKGROUND)
    if not all(isinstance(defects, tuple) and all(d[0] in known for d in defects) for defects in labels):
        raise RecipeInputError(f"each label must be a tuple of (class, box), classes {', '.join(known)}")
    train_rows, _, holdout_rows = split_indices(dataset)
    tensor = prepare_batch(list(dataset.features[IMAGE_INPUT]), SPEC)
    nodes, constants = detection_graph.feature_nodes()
    features = _run(detection_graph.model(nodes, constants, [detection_graph.FEATURES]), tensor)[0]
    matrix = features.transpose(0, 2, 3, 1).reshape(len(labels), -1, detection_graph.feature_width())
    targets = window_labels(labels, model_task.classes)
    x = matrix[train_rows].reshape(-1, detection_graph.feature_width())
    y = targets[train_rows].reshape(-1)
    hard = hard_negative_windows(labels)[train_rows].reshape(-1) & (y == 0)
    weight = np.where(hard, float(settings["hard_negative_weight"]), 1.0)
    scaler = StandardScaler().fit(x)
    regression = LogisticRegression(
        C=float(settings["regularisation"]), max_iter=5000, random_state=int(settings["seed"])
    ).fit(scaler.transform(x), y, sample_weight=weight)
    weights = regression.coef_ / scaler.scale_
    bias = regression.intercept_ - weights @ scaler.mean_
    head, head_constants = detection_graph.head_nodes(weights, bias)
    graph = detection_graph.model([*nodes, *head], [*constants, *head_constants], list(OUTPUTS))
    # The model card's figures from the graph a site runs, on images the fit never saw.
    outputs = dict(zip(OUTPUTS, _run(graph, tensor[holdout_rows]), strict=True))
    detected = model_task.detect(outputs, SPEC.width, SPEC.height)
    metrics = detection_metrics(detected.detections, [labels[row] for row in holdout_rows.tolist()])
    return RecipeResult(graph, _manifest_fields(model_task, settings, dataset, metrics))


def detection_metrics(found: Sequence[Sequence[Detection]], labels: Labels) -> dict[str, float]:
    """``holdout_precision``, ``holdout_recall``, ``holdout_f1`` (edgeloop.domain.detection_feedback)."""
    scores = detection_scores(found, labels, detection_images.SIZE, detection_images.SIZE)
    return {f"holdout_{name}": value for name, value in scores.items()}


def _run(graph: bytes, tensor: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return [np.asarray(value) for value in session.run(names, {IMAGE_INPUT: tensor})]


def _manifest_fields(
    model_task: DetectionTask,
    settings: Mapping[str, Any],
    dataset: TrainingDataset,
    metrics: Mapping[str, float],
) -> dict[str, Any]:
    image = {"name": IMAGE_INPUT, "type": "image", **SPEC.to_dict(), "description": "A photo of the surface"}
    described = {
        detection_graph.BOXES: "Each window's box: x1, y1, x2, y2 in input pixels",
        detection_graph.CLASSES: "Each window's most likely defect class (an index into the classes)",
        detection_graph.SCORES: "That class's probability",
    }
    return {
        **FORMAT_FIELDS,
        "description": "Where the spots and scratches are on brushed metal, from a 96x96 RGB image",
        "inputs": [image],
        "outputs": [{"name": name, "description": text} for name, text in described.items()],
        "task": model_task.to_dict(),
        "onnx_inputs": [{"name": IMAGE_INPUT, "features": [IMAGE_INPUT], "dtype": "float32"}],
        "onnx_outputs": [{"output": name, "name": name} for name in OUTPUTS],
        "metrics": dict(metrics),
        "training_data": {"source": dataset.source, "rows": dataset.n_rows},
        "recipe": {
            "entry_point": ENTRY_POINT,
            "parameters": dict(settings),
            "requirements": [],
            "time_limit_seconds": 600.0,
            "base_data": None,
        },
    }
