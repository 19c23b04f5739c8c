"""The values of a retraining run: its request, and what it hands its ChallengerTrainer and gets back.

Plain values (edgeloop.ports re-exports them): labelled rows from the sites in, a
fitted model and both models' scores out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edgeloop.domain.promotion import ModelScores


@dataclass(frozen=True, slots=True)
class RetrainRequest:
    run_id: str
    requested_at: datetime
    reason: str  # "schedule", "cli", ...


@dataclass(frozen=True, slots=True)
class LabelledRow:
    """An insight's inputs with the latest feedback label its site gave it (retraining data)."""

    insight_id: str
    inputs: dict[str, Any]
    label: int


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model: its ONNX graph and its manifest's fields but ``files`` (added with the hashes)."""

    onnx_bytes: bytes
    manifest_fields: dict[str, Any]


@dataclass(frozen=True)
class Comparison:
    """Challenger and champion scored on the same held-out rows, keyed ``challenger`` / ``champion``."""

    scores: dict[str, ModelScores]  # on the trusted held-out rows: what the promotion decision uses
    all_holdout_scores: dict[str, ModelScores] | None  # on every held-out row; None: a class is absent
    plots: dict[str, bytes]  # file name -> PNG of the curves, for the registered version
