"""What the browser form shows of a model's task: a scoring's result, the recent rows, the outcome control.

Per task (edgeloop.domain.tasks): a binary model shows its risk as a percentage and offers
its two outcomes as buttons (named by ``label_names``); a multiclass model shows the
predicted class and its probability and offers a choice of the classes; a regression
shows the value (with its unit and interval, if any) and takes the actual value as a
number; a detection model (an image model: its form is image_views') shows how many it found
and takes a verdict per detection, then the defects it missed (boxes the operator drew, each a
``missed`` field, ``class@x1,y1,x2,y2``: edgeloop.domain.detection_labels). The actual outcome
is checked against the serving model's task, and by the feedback use case against the insight,
as the API's is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from starlette.datastructures import FormData

from edgeloop.domain.detection_labels import MISSED_SEPARATOR, label_pattern
from edgeloop.domain.detection_task import FIELDS
from edgeloop.domain.label_bounds import MAX_LABEL_LENGTH
from edgeloop.domain.records import Label
from edgeloop.domain.tasks import BinaryTask, DetectionTask, MulticlassTask, RegressionTask, Task

ANOMALY_REASONS = {
    "high_risk": "high failure risk",
    "alert_class": "predicted class is an alert class",
    "low_confidence": "low confidence in the predicted class (or in a detection)",
    "out_of_band": "value outside its band",
    "out_of_distribution": "unusual reading (unlike the training data)",
    "invalid_output": "model produced an invalid value",
}


@dataclass(frozen=True)
class OutcomeControl:
    """How the operator reports the actual outcome: buttons, a choice of classes, or a number."""

    kind: Literal["buttons", "choice", "number", "verdicts"]
    choices: tuple[tuple[str, str], ...] = ()  # (form value, text), for buttons and choice
    unit: str = ""
    pattern: str = ""  # verdicts: the label's grammar as the text field's pattern
    max_length: int = MAX_LABEL_LENGTH


@dataclass(frozen=True)
class PredictionView:
    """A scoring's prediction for people: ``heading`` ``value`` (``detail``)."""

    heading: str
    value: str
    detail: str = ""


def percent(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value * 100:.1f} %"
    return "—"


def reasons(kinds: Sequence[str]) -> list[str]:
    return [ANOMALY_REASONS.get(kind, kind) for kind in kinds]


def prediction_column(task: Task) -> str:
    """The recent table's heading of the prediction column."""
    if isinstance(task, BinaryTask):
        return "Risk"
    return "Prediction" if isinstance(task, MulticlassTask) else "Value"


def outcome_control(task: Task) -> OutcomeControl:
    if isinstance(task, BinaryTask):
        negative, positive = task.label_names
        return OutcomeControl("buttons", (("1", positive), ("0", negative)))
    if isinstance(task, MulticlassTask):
        return OutcomeControl("choice", tuple((name, name) for name in task.classes))
    if isinstance(task, DetectionTask):
        choices = (("accept", "accept"), ("reject", "reject"))
        return OutcomeControl("verdicts", choices, pattern=label_pattern(task.classes))
    return OutcomeControl("number", unit=task.unit)


def form_label(task: Task, text: object) -> Label | None:
    """The label a form field's text stands for under ``task``; None when it stands for none."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if isinstance(task, BinaryTask):
        return int(text) if text in ("0", "1") else None
    if isinstance(task, MulticlassTask):
        return text if text in task.classes else None
    if isinstance(task, DetectionTask):
        return text if task.label_problem(text) is None else None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def detection_label_text(form: FormData) -> str | None:
    """The verdict form's ``verdict-0``, ``verdict-1``, ... and its ``missed`` boxes as one detection
    label (the grammar's: verdicts, then ``;class@x1,y1,x2,y2`` each); None when it holds neither."""
    verdicts: list[str] = []
    while isinstance(value := form.get(f"verdict-{len(verdicts)}"), str):
        verdicts.append(value)
    missed = [value.strip() for value in form.getlist("missed") if isinstance(value, str) and value.strip()]
    if not verdicts and not missed:
        return None
    return MISSED_SEPARATOR.join([",".join(verdicts), *missed])


def label_text(task: Task, label: object) -> str:
    """A reported label for people (a label of another task, from an earlier model: as it is)."""
    if isinstance(task, BinaryTask) and type(label) is int and label in (0, 1):
        return task.label_names[label]
    if isinstance(task, RegressionTask) and isinstance(label, int | float) and not isinstance(label, bool):
        return _number(label, task.unit)
    return str(label)


def label_hint(task: Task, text: object = None) -> str:
    """What to do when no valid outcome was given (``text``: what was, for a detection's reason)."""
    if isinstance(task, BinaryTask):
        negative, positive = task.label_names
        return f"choose {positive} or {negative}"
    if isinstance(task, MulticlassTask):
        return "choose one of the classes"
    if isinstance(task, DetectionTask):
        problem = task.label_problem(text) if isinstance(text, str) and text else None
        return (
            f"not recorded: the label {problem}"
            if problem
            else "accept or reject each detection, or add a missed defect"
        )
    return "enter the actual value as a number"


def prediction_view(task: Task, outputs: Mapping[str, Any], prediction: object) -> PredictionView:
    """One scoring's prediction: from its outputs and, for a task that is not binary, its prediction."""
    if isinstance(task, BinaryTask):
        return PredictionView("Failure risk", percent(outputs.get(task.risk_output)))
    if isinstance(task, MulticlassTask):
        if not isinstance(prediction, str) or prediction not in task.classes:
            return PredictionView("Predicted class", "—")
        output = task.probability_outputs[task.classes.index(prediction)]
        return PredictionView("Predicted class", prediction, f"probability {percent(outputs.get(output))}")
    if isinstance(task, DetectionTask):
        if not isinstance(prediction, list):
            return PredictionView("Detections", "—")
        found = ", ".join(str(name) for name in prediction[::FIELDS])
        return PredictionView("Detections", str(len(prediction) // FIELDS), found)
    if not isinstance(prediction, int | float) or isinstance(prediction, bool):
        return PredictionView("Predicted value", "—")
    detail = ""
    if task.lower_output is not None and task.upper_output is not None:
        low, high = outputs.get(task.lower_output), outputs.get(task.upper_output)
        if isinstance(low, int | float) and isinstance(high, int | float):
            detail = f"interval {_number(low, '')} to {_number(high, task.unit)}"
    return PredictionView("Predicted value", _number(prediction, task.unit), detail)


def recent_prediction(task: Task, outputs: Mapping[str, Any], record_prediction: object) -> str:
    """A recent row's prediction cell (a row of an earlier model of another task: what it has)."""
    if isinstance(task, BinaryTask) and record_prediction is None:
        return percent(outputs.get(task.risk_output))
    if record_prediction is None:
        return "—"
    view = prediction_view(task, outputs, record_prediction)
    if view.value == "—":  # scored by an earlier model of another task
        return str(record_prediction)
    return f"{view.value} ({view.detail})" if view.detail else view.value


def _number(value: float, unit: str) -> str:
    text = f"{value:.4g}"
    return f"{text} {unit}" if unit else text
