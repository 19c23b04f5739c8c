"""The values of a retraining run: its request, and what it hands its ChallengerTrainer and gets back.

Plain values (edgeloop.ports re-exports them): labelled rows from the sites in, a
fitted model and both models' scores out; :class:`TrainingFailed` when the run
cannot produce a usable challenger (the base data is unreadable, the recipe raised
or timed out, its graph or manifest disagree, its outputs are not finite): the run
ends *failed*.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edgeloop.domain.tasks import Label

Scores = Mapping[str, float]  # metric name -> figure (edgeloop.domain.metrics.TASK_METRICS per task)


@dataclass(frozen=True, slots=True)
class RetrainRequest:
    run_id: str
    requested_at: datetime
    # "schedule", "manual" (the CLI), "drift: site S, features a, b" (edgeloop.domain.drift_window)
    reason: str
    line: str | None = (
        None  # a champion line of RETRAIN_COHORTS (edgeloop.domain.model_lines); None: MODEL_NAME
    )


@dataclass(frozen=True, slots=True)
class LabelledRow:
    """An insight's inputs with the latest feedback label its site gave it (retraining data).

    ``label`` is the task's label: 0/1 (binary), a class name (multiclass) or a number (regression);
    for a detection, the verdicts on the insight's ``prediction`` (its detections, flat), which
    the row carries so the verdicts can be read as boxes (edgeloop.domain.detection_feedback).
    """

    insight_id: str
    inputs: dict[str, Any]
    label: Label
    site: str = ""
    scored_at: datetime | None = None
    prediction: Any = None  # the insight's prediction as the site scored it (None: not recorded)


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model: its ONNX graph and its manifest's fields but ``files`` (added with the hashes)."""

    onnx_bytes: bytes
    manifest_fields: dict[str, Any]


@dataclass(frozen=True)
class Comparison:
    """Challenger and champion scored on the same held-out rows, keyed ``challenger`` / ``champion``."""

    scores: Mapping[str, Scores]  # on the trusted held-out rows: what the promotion decision uses
    all_holdout_scores: Mapping[str, Scores] | None  # on every held-out row; None: a class is absent
    plots: dict[str, bytes]  # file name -> PNG (curves, confusion matrix, residuals), for the version


class TrainingFailed(RuntimeError):
    """No usable challenger: ``reason`` says why, ``detail`` (e.g. the recipe's traceback tail)
    goes to the run report too."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def complete_manifest_fields(
    recipe_fields: Mapping[str, Any],
    *,
    name: str,
    version: str,
    created_at: str,
    recipe: Mapping[str, Any],
    training_data: Mapping[str, Any],
    defaults: Mapping[str, Any],
) -> dict[str, Any]:
    """A recipe's manifest fields with what Edgeloop owns: name, version, time, the recipe block,
    the run's ``training_data`` entries (over the recipe's); ``defaults`` fill what it left out
    (``evaluation``, ``description``...). A recipe that writes the task object writes format 2."""
    fields = {**defaults, **recipe_fields}
    if "task" in recipe_fields:
        fields.setdefault("format_version", 2)
    fields.setdefault("model_file", "model.onnx")
    own = recipe_fields.get("training_data")
    fields.update(
        name=name,
        version=version,
        created_at=created_at,
        recipe=dict(recipe),
        training_data={**(own if isinstance(own, Mapping) else {}), **training_data},
    )
    return fields
