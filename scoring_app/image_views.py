"""What the form shows of a scored image: the operator's own upload with the result drawn over it.

The picture goes back as a ``data:`` URL of the bytes just uploaded: nothing is stored for it
and no URL outlives the page (keeping frames is the frame store's business, docs/frames.md).
What is drawn over it is a list of :class:`Overlay`: a label with its score, and a box in
fractions of the image's width and height. A classification draws one overlay without a box
(its label sits over the whole picture); a detection model draws one overlay per detection, in
its box, numbered as the verdict form lists them (accept or reject each one); the operator may
draw the defects it missed over the picture (static/missed.js), of the model's classes.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

from edgeloop.domain.detection_labels import MAX_MISSED
from edgeloop.domain.detection_task import detection_objects
from edgeloop.domain.images import ImageProblem
from edgeloop.domain.tasks import DetectionTask, MulticlassTask, Task
from edgeloop.service_layer.image_scoring import ScoredImages
from scoring_app.form_views import percent, prediction_view, reasons

# The decoder has accepted the file as one of these, so its first bytes say which it is.
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


@dataclass(frozen=True)
class Box:
    """Where an overlay sits: left, top, width, height as fractions (0 to 1) of the picture."""

    left: float
    top: float
    width: float
    height: float

    def style(self) -> str:
        return "; ".join(
            f"{name}: {value * 100:.2f}%"
            for name, value in (
                ("left", self.left),
                ("top", self.top),
                ("width", self.width),
                ("height", self.height),
            )
        )


@dataclass(frozen=True)
class Overlay:
    """One thing drawn over the picture: a label with its score, in a box (None: the whole picture)."""

    label: str
    score: str
    box: Box | None = None


@dataclass(frozen=True)
class ClassBar:
    """One class's probability, as the bar list shows it (``fraction`` sets the bar's width)."""

    name: str
    fraction: float
    text: str
    predicted: bool


def data_url(data: bytes) -> str:
    """The uploaded file as a ``data:`` URL, typed by its signature (PNG or JPEG)."""
    media_type = next((kind for magic, kind in _SIGNATURES if data.startswith(magic)), "image/png")
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def class_bars(task: Task, outputs: dict[str, float | None], prediction: object) -> list[ClassBar]:
    """A multiclass model's classes with their probabilities, in the task's order; none for another task."""
    if not isinstance(task, MulticlassTask):
        return []
    bars = []
    for name, output in zip(task.classes, task.probability_outputs, strict=True):
        value = outputs.get(output)
        fraction = min(max(value, 0.0), 1.0) if value is not None and math.isfinite(value) else 0.0
        bars.append(ClassBar(name, fraction, percent(value), name == prediction))
    return bars


def detection_overlays(prediction: object) -> list[Overlay]:
    """A detection insight's boxes, best first, each labelled with its number, class and score."""
    if not isinstance(prediction, list):
        return []
    overlays = []
    for number, found in enumerate(detection_objects(prediction), start=1):
        x1, y1, x2, y2 = found["box"]
        box = Box(x1, y1, max(x2 - x1, 0.0), max(y2 - y1, 0.0))
        overlays.append(Overlay(f"{number} {found['class']}", percent(found["score"]), box))
    return overlays


def image_result(task: Task, scored: ScoredImages, file_name: str, data: bytes) -> dict[str, Any]:
    """The result page's image section for the one scored upload ``data`` (named ``file_name``)."""
    first = scored.images[0]
    view = prediction_view(task, first.outputs, first.prediction)
    if isinstance(task, DetectionTask):
        overlays = detection_overlays(first.prediction)
    else:
        overlays = [Overlay(view.value, view.detail.removeprefix("probability "))]
    return {
        "insight_id": first.insight_id,
        "file_name": file_name,
        "src": data_url(data),
        "prediction": view,
        "predicted": first.prediction if isinstance(task, MulticlassTask) else None,
        "overlays": overlays,
        "detections": overlays if isinstance(task, DetectionTask) else [],
        "missed_classes": list(task.classes) if isinstance(task, DetectionTask) else [],
        "max_missed": MAX_MISSED,
        "bars": class_bars(task, first.outputs, first.prediction),
        "anomaly": first.anomaly,
        "reasons": reasons(first.anomaly_kinds),
        "model_name": scored.model_name,
        "model_version": scored.model_version,
    }


def problem_text(problem: ImageProblem, file_name: str) -> str:
    """A refused upload for the operator: the file's name, then what is wrong with it."""
    return f"{problem.file_name or file_name}: {problem.message}"
