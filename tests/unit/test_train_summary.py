"""``edgeloop train``'s closing line: the held-out figures of the trained model's own task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.manifests import demo_manifest_dict, multiclass_manifest_dict, regression_manifest_dict

from edgeloop.cli.main import _summary
from edgeloop.domain.manifest import ModelManifest


def summary(document: dict[str, Any], metrics: dict[str, float]) -> str:
    return _summary(ModelManifest.from_dict({**document, "metrics": metrics}), Path("out"))


def test_the_demo_line_is_as_before() -> None:
    metrics = {"test_roc_auc": 0.98061, "test_average_precision": 0.9419, "test_f1_at_threshold": 0.909}
    line = summary(demo_manifest_dict(), metrics)
    assert line.endswith("(binary) -> out: ROC AUC 0.981, AP 0.942, F1 0.909")


@pytest.mark.parametrize(
    ("document", "metrics", "figures"),
    [
        (
            multiclass_manifest_dict(),
            {"holdout_macro_f1": 0.6971, "holdout_accuracy": 0.9931, "holdout_log_loss": 0.0355},
            "(multiclass) -> out: macro-F1 0.697, accuracy 0.993, log loss 0.035",
        ),
        (
            regression_manifest_dict(),
            {"holdout_mae": 6.261, "holdout_r2": 0.9349, "baseline_mae": 32.4},
            "(regression) -> out: MAE 6.261, R2 0.935",
        ),
        (
            demo_manifest_dict(),
            {"holdout_roc_auc": 0.9, "holdout_f1_at_threshold": 0.5},  # the starter recipe's keys
            "(binary) -> out: ROC AUC 0.900, F1 0.500",
        ),
        (
            multiclass_manifest_dict(),
            {},
            "(multiclass) -> out: no held-out figures in the manifest's metrics",
        ),
    ],
)
def test_other_tasks_show_their_own_metrics(
    document: dict[str, Any], metrics: dict[str, float], figures: str
) -> None:
    assert summary(document, metrics).endswith(figures)
