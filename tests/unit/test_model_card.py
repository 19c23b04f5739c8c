"""The model card's Markdown: held-out ROC AUC and average precision per model, and what the model is."""

from __future__ import annotations

from typing import Any

from edgeloop.training.model_card import model_card
from edgeloop.training.onnx_export import DERIVED_FEATURES


def report() -> dict[str, Any]:
    scores = {"roc_auc": 0.9829, "average_precision": 0.9437, "f1_at_threshold": 0.9412}
    return {
        "model": "ai4i-failure",
        "version": "2.0.0",
        "run_id": "0123456789abcdef",
        "reason": "schedule",
        "started_at": "2030-01-02T03:04:05Z",
        "champion_version": "1.0.0",
        "decision": {"outcome": "promoted", "reasons": ["roc_auc 0.9829 >= champion's 0.9819 - 0.01"]},
        "data": {
            "base_rows": 8000,
            "base_positive_rate": 0.034,
            "new_labelled_rows": 400,
            "out_of_schema_rows": 0,
            "duplicate_rows": 0,
            "train_rows": 6400,
            "holdout_rows": 2000,
        },
        "metrics": {
            "challenger": {**scores, "brier": 0.01, "ece": 0.005, "threshold": 0.49},
            "champion": {
                **scores,
                "roc_auc": 0.9819,
                "average_precision": 0.9358,
                "brier": 0.012,
                "ece": 0.006,
                "threshold": 0.89,
            },
        },
    }


def test_the_card_tables_held_out_roc_auc_and_average_precision_per_model() -> None:
    lines = model_card(report()).decode().splitlines()
    header = next(line for line in lines if line.startswith("| model |"))
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    assert columns[:3] == ["model", "roc_auc", "average_precision"]
    assert "| challenger | 0.9829 | 0.9437 |" in "\n".join(lines)
    assert "| champion | 0.9819 | 0.9358 |" in "\n".join(lines)


def test_the_card_names_the_features_the_graph_derives() -> None:
    card = model_card(report()).decode()
    assert "## Model" in card
    for name in DERIVED_FEATURES:
        assert f"`{name}`" in card
