"""Task kinds in the manifest: parsing (format 1 and 2), anomaly rules and labels per task."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from edgeloop.domain.anomaly import detect_anomalies
from edgeloop.domain.manifest import ManifestError, ModelManifest
from edgeloop.domain.tasks import BinaryTask, MulticlassTask, RegressionTask
from tests.support.manifests import (
    demo_manifest,
    demo_manifest_dict,
    multiclass_manifest_dict,
    regression_manifest_dict,
    task_manifest_dict,
)


def test_a_format_1_manifest_is_a_binary_task_with_the_demo_s_outcome_names() -> None:
    manifest = demo_manifest()
    assert manifest.task == BinaryTask("failure_probability", 0.5, ("did not fail", "failed"))
    assert manifest.evaluation.primary_metric == "roc_auc"


def test_format_2_round_trips_every_task_kind() -> None:
    binary = task_manifest_dict({"kind": "binary", "risk_output": "risk", "threshold": 0.3}, ["risk"])
    for document in (binary, multiclass_manifest_dict(alert_classes=["HDF"]), regression_manifest_dict()):
        manifest = ModelManifest.from_dict(document)
        written = manifest.to_dict()
        assert written["format_version"] == 2
        assert "risk_output" not in written
        assert ModelManifest.from_dict(written) == manifest


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (multiclass_manifest_dict(classes=["a"], probability_outputs=["p_none"]), "task.classes"),
        (multiclass_manifest_dict(probability_outputs=["p_none"]), "task.probability_outputs"),
        (multiclass_manifest_dict(alert_classes=["XXX"]), "task.alert_classes[0]"),
        (multiclass_manifest_dict(min_confidence=1.5), "task.min_confidence"),
        (regression_manifest_dict(value_output="nope"), "task.value_output"),
        (regression_manifest_dict(lower_output="wear_rate"), "task.upper_output"),
        (regression_manifest_dict(band={"low": 3, "high": 1}), "task.band.high"),
        (task_manifest_dict({"kind": "ranking"}, ["x"]), "task.kind"),
        ({**demo_manifest_dict(), "format_version": 2}, "task"),
        (
            {**multiclass_manifest_dict(), "evaluation": {"primary_metric": "roc_auc"}},
            "evaluation.primary_metric",
        ),
    ],
)
def test_a_bad_task_names_its_field(document: dict[str, Any], field: str) -> None:
    with pytest.raises(ManifestError) as caught:
        ModelManifest.from_dict(document)
    assert caught.value.field == field


def _outputs(**columns: list[float]) -> dict[str, Any]:
    return {name: np.array(values, dtype=np.float32) for name, values in columns.items()}


def test_multiclass_anomalies_are_alert_classes_and_low_confidence() -> None:
    manifest = ModelManifest.from_dict(multiclass_manifest_dict(alert_classes=["HDF"], min_confidence=0.5))
    probabilities = {  # rows: confident none; confident HDF; unsure TWF; NaN
        "p_none": [0.9, 0.05, 0.3, math.nan],
        "p_twf": [0.05, 0.05, 0.4, 0.2],
        "p_hdf": [0.05, 0.9, 0.3, 0.2],
        "p_pwf": [0.0, 0.0, 0.0, 0.2],
        "p_osf": [0.0, 0.0, 0.0, 0.2],
    }
    outputs = _outputs(**probabilities, ood_score=[1.0, 1.0, 1.0, 1.0])
    flags, kinds = detect_anomalies(manifest, outputs)
    assert kinds == [(), ("alert_class",), ("low_confidence",), ("invalid_output",)]
    assert flags.tolist() == [False, True, True, True]
    assert isinstance(manifest.task, MulticlassTask)
    assert manifest.task.predicted_classes(outputs)[:3] == ["none", "HDF", "TWF"]


def test_regression_anomalies_are_values_outside_the_band_and_beyond_the_ood_threshold() -> None:
    manifest = ModelManifest.from_dict(regression_manifest_dict())
    outputs = _outputs(wear_rate=[1.0, 2.5, -0.1, 1.0], ood_score=[1.0, 1.0, 1.0, 11.0])
    _, kinds = detect_anomalies(manifest, outputs)
    assert kinds == [(), ("out_of_band",), ("out_of_band",), ("out_of_distribution",)]


@pytest.mark.parametrize(
    ("task", "good", "bad"),
    [
        (BinaryTask("risk", 0.5), [0, 1], [True, 2, 0.0, "1", None]),
        (MulticlassTask(("a", "b"), ("pa", "pb")), ["a", "b"], ["c", 0, "", None]),
        (RegressionTask("value"), [0, -3.5, 1e9], [math.nan, math.inf, True, "1", None]),
    ],
)
def test_labels_follow_the_task(task: Any, good: list[object], bad: list[object]) -> None:
    assert [task.label_problem(label) for label in good] == [None] * len(good)
    assert all(task.label_problem(label) for label in bad)
