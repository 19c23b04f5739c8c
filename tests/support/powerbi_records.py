"""One Power BI dataset per task (from the unit manifests) and wire records of each task's model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from support.manifests import FAILURE_MODES, demo_manifest, multiclass_manifest_dict, regression_manifest_dict

from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.powerbi_dataset import PowerBIDataset
from edgeloop.domain.records import FeedbackRecord, InsightRecord, Label, ModelRef, TaskKind

INTERVAL = {"lower_output": "wear_low", "upper_output": "wear_high"}


def binary_dataset() -> PowerBIDataset:
    return PowerBIDataset.for_manifest(demo_manifest())


def multiclass_dataset() -> PowerBIDataset:
    return PowerBIDataset.for_manifest(ModelManifest.from_dict(multiclass_manifest_dict()))


def regression_dataset(*, interval: bool = True) -> PowerBIDataset:
    document = regression_manifest_dict(**(INTERVAL if interval else {}))
    if interval:  # the bounds are outputs of the graph too
        for column, name in enumerate(INTERVAL.values(), start=1):
            document["outputs"].append({"name": name, "description": name})
            document["onnx_outputs"].append({"output": name, "name": "probabilities", "column": column})
    return PowerBIDataset.for_manifest(ModelManifest.from_dict(document))


def insight(
    index: int,
    task: TaskKind = "binary",
    outputs: dict[str, float] | None = None,
    prediction: Label | None = None,
) -> dict[str, Any]:
    """A wire insight of a ``task`` model (outputs: the demo's unless given)."""
    return InsightRecord(
        insight_id=f"{index:032x}-{index % 100_000:05d}",
        site_id="site-a",
        scored_at=datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
        model=ModelRef("model", "3", "ab" * 32, task),
        inputs={"torque_nm": 42, "type": "M"},
        outputs=outputs if outputs is not None else {"failure_probability": 0.93, "ood_score": 1.5},
        anomaly=index % 2 == 0,
        anomaly_kinds=("high_risk",) if index % 2 == 0 else (),
        context={"product_id": "hmac-sha256:abcd"},
        prediction=prediction,
    ).to_wire()


def multiclass_insight(index: int, predicted: str | None = "HDF") -> dict[str, Any]:
    probabilities = {f"p_{name.lower()}": 0.05 for name in FAILURE_MODES}
    if predicted is not None:
        probabilities[f"p_{predicted.lower()}"] = 0.8
    return insight(index, "multiclass", {**probabilities, "ood_score": 1.0}, predicted)


def regression_insight(index: int, value: float | None = 0.8) -> dict[str, Any]:
    outputs = {"wear_rate": value or 0.0, "wear_low": 0.6, "wear_high": 1.1, "ood_score": 1.0}
    return insight(index, "regression", outputs, value)


def feedback(index: int, label: Label) -> dict[str, Any]:
    return FeedbackRecord(
        feedback_id=f"{index:032x}-f{index % 10_000:04d}",
        insight_id=f"{index:032x}-{index % 100_000:05d}",
        site_id="site-a",
        label=label,
        recorded_at=datetime(2025, 3, 1, 13, 0, tzinfo=UTC),
    ).to_wire()
