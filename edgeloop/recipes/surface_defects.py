"""Training recipe of the vision demo: surface defects (ok, scratch, spot, crack) from a 64x64 image.

Edgeloop calls ``train(dataset, parameters)``; ``dataset.features["image"]`` holds the
images, ``[N, H, W, 3]`` uint8 RGB, and the labels are class names. The images become
the model's input tensor exactly as a site prepares frames (edgeloop.domain.image_batches,
from the manifest's image input), the fixed feature nodes (edgeloop.recipes.image_features)
turn them into 36 numbers each, and a standardised logistic regression (scikit-learn,
converted by skl2onnx) is fitted on those and runs after them in one graph. No deep-learning
framework: the graph is about 6 KB. The first bundle's images come from the seeded generator
(edgeloop.recipes.surface_images, :func:`generated_dataset`); the model card reports the
held-out accuracy and macro-F1. A retraining run trains on :func:`base_dataset` (the same
generated images, split as the champion's were) plus the frames the sites labelled and let out
(edgeloop.training.image_training_set); ``dataset.features["image"]`` then holds frames of any
size (an object array), each resized as a site resizes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from onnx import TensorProto, helper
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from edgeloop.domain.image_batches import prepare_batch
from edgeloop.domain.images import ImageSpec
from edgeloop.domain.recipes import RecipeResult, TrainingDataset
from edgeloop.domain.tasks import MulticlassTask
from edgeloop.recipes import graph_parts, surface_images
from edgeloop.recipes.image_features import IMAGE_INPUT, surface_features
from edgeloop.recipes.recipe_parts import FORMAT_FIELDS, RecipeInputError, merged_parameters, split_indices
from edgeloop.recipes.starter_multiclass import holdout_metrics

MODEL_NAME = "surface-defects"
ENTRY_POINT = "edgeloop.recipes.surface_defects:train"
PROBABILITIES = "probabilities"
SPEC = ImageSpec(width=surface_images.SIZE, height=surface_images.SIZE)  # RGB, NCHW, float32 in [0, 1]
DEFAULT_PARAMETERS: Mapping[str, Any] = {
    "seed": 7,
    "regularisation": 1.0,  # the logistic regression's C
    "min_confidence": 0.6,  # below it, an image is flagged low_confidence
    "base_per_class": 500,  # generated base images of each class (base_dataset)
}


def task(min_confidence: float = 0.6) -> MulticlassTask:
    """Every defect class is an alert; an unsure answer is flagged too."""
    outputs = tuple(f"p_{name}" for name in surface_images.CLASSES)
    return MulticlassTask(surface_images.CLASSES, outputs, surface_images.DEFECT_CLASSES, min_confidence)


def generated_dataset(per_class: int = 500, seed: int = 7) -> TrainingDataset:
    """``per_class`` generated images of each class, split 60/20/20 stratified by class."""
    images, labels = surface_images.generate([per_class] * len(surface_images.CLASSES), seed)
    classes = np.array(labels, dtype=object)
    rows = np.arange(len(labels))
    rest, holdout = train_test_split(rows, test_size=0.2, stratify=classes, random_state=seed)
    train_rows, validation = train_test_split(rest, test_size=0.25, stratify=classes[rest], random_state=seed)
    split = np.empty(len(labels), dtype=object)
    split[train_rows], split[validation], split[holdout] = "train", "validation", "holdout"
    return TrainingDataset(
        task=task(),
        features={IMAGE_INPUT: images},
        labels=classes,
        site=np.full(len(labels), "", dtype=object),
        time=np.full(len(labels), np.datetime64("NaT"), dtype="datetime64[s]"),
        split=split,
        source=f"generated surfaces (edgeloop.recipes.surface_images, seed {seed}, {len(labels)} images)",
    )


def base_dataset(parameters: Mapping[str, Any]) -> TrainingDataset:
    """The generated base images a retraining run adds the sites' labelled frames to: the same
    images and split as a first bundle trained with these parameters, so its held-out images
    stay unseen by champion and challenger alike."""
    settings = merged_parameters(DEFAULT_PARAMETERS, parameters)
    return generated_dataset(int(settings["base_per_class"]), int(settings["seed"]))


def train(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    """Fit on the train images, report the holdout figures; the graph takes the manifest's tensor."""
    settings = merged_parameters(DEFAULT_PARAMETERS, parameters)
    if IMAGE_INPUT not in dataset.features:
        raise RecipeInputError(f"this recipe trains on images: the dataset has no {IMAGE_INPUT!r} feature")
    model_task = task(float(settings["min_confidence"]))
    known = set(model_task.classes)
    labels = np.array([model_task.classes.index(label) if label in known else -1 for label in dataset.labels])
    if (labels < 0).any():
        raise RecipeInputError(f"labels must be classes {', '.join(model_task.classes)}")
    train_rows, _, holdout_rows = split_indices(dataset)
    features = surface_features(SPEC.height, SPEC.width)
    tensor = prepare_batch(list(dataset.features[IMAGE_INPUT]), SPEC)
    matrix = graph_parts.run_features(features, {IMAGE_INPUT: tensor})
    regression = LogisticRegression(
        C=float(settings["regularisation"]), max_iter=5000, random_state=int(settings["seed"])
    )
    estimator = make_pipeline(StandardScaler(), regression).fit(matrix[train_rows], labels[train_rows])
    core = graph_parts.convert(estimator, features.width)
    output = helper.make_tensor_value_info(PROBABILITIES, TensorProto.FLOAT, [None, len(model_task.classes)])
    produced = graph_parts.core_output(core)  # skl2onnx names it "probabilities" already
    rename = [] if produced == PROBABILITIES else [helper.make_node("Identity", [produced], [PROBABILITIES])]
    graph = graph_parts.compose(MODEL_NAME, features, core, rename, [], [output]).SerializeToString()
    # The model card's figures from the graph a site runs, on images the fit never saw.
    probabilities = _run(graph, tensor[holdout_rows])
    metrics = holdout_metrics(labels[holdout_rows], probabilities)
    return RecipeResult(graph, _manifest_fields(model_task, settings, dataset, metrics))


def _run(graph: bytes, tensor: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    (values,) = session.run([PROBABILITIES], {IMAGE_INPUT: tensor})
    return np.asarray(values, dtype=np.float64)


def _manifest_fields(
    model_task: MulticlassTask,
    settings: Mapping[str, Any],
    dataset: TrainingDataset,
    metrics: Mapping[str, float],
) -> dict[str, Any]:
    image = {"name": IMAGE_INPUT, "type": "image", **SPEC.to_dict(), "description": "A photo of the surface"}
    outputs = model_task.probability_outputs
    return {
        **FORMAT_FIELDS,
        "description": "Surface defects (scratch, spot, crack) on brushed metal, from a 64x64 RGB image",
        "inputs": [image],
        "outputs": [
            {"name": name, "description": f"Probability of {label}"}
            for label, name in zip(model_task.classes, outputs, strict=True)
        ],
        "task": model_task.to_dict(),
        "onnx_inputs": [{"name": IMAGE_INPUT, "features": [IMAGE_INPUT], "dtype": "float32"}],
        "onnx_outputs": [
            {"output": name, "name": PROBABILITIES, "column": column} for column, name in enumerate(outputs)
        ],
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
