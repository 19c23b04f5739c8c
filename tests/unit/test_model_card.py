"""The model card: held-out figures per model, what the model is, and the plots of its task."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeloop.domain.tasks import MulticlassTask, RegressionTask
from edgeloop.recipes.ai4i_failure import ENTRY_POINT as DEMO_RECIPE
from edgeloop.training.model_card import CONFUSION_FILE, RESIDUALS_FILE, model_card, task_plots
from edgeloop.training.onnx_export import DERIVED_FEATURES

PNG = b"\x89PNG\r\n\x1a\n"


def report() -> dict[str, Any]:
    scores = {"roc_auc": 0.9829, "average_precision": 0.9437, "f1_at_threshold": 0.9412}
    return {
        "model": "ai4i-failure",
        "version": "2.0.0",
        "run_id": "0123456789abcdef",
        "reason": "schedule",
        "started_at": "2030-01-02T03:04:05Z",
        "champion_version": "1.0.0",
        "recipe": {"entry_point": DEMO_RECIPE, "parameters": {"n_estimators": 100}},
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


def test_another_recipe_s_card_names_its_parameters_and_not_the_demo_s_features() -> None:
    document = report() | {"recipe": {"entry_point": "plant.models:fit", "parameters": {"alpha": 0.1}}}
    card = model_card(document).decode()
    assert "Recipe: `plant.models:fit`." in card
    assert "Fitted by the recipe with `alpha` 0.1." in card
    assert "AI4I" not in card
    assert not any(name in card for name in DERIVED_FEATURES)


def test_a_multiclass_card_plots_a_confusion_matrix_and_a_regression_card_residuals() -> None:
    classes = MulticlassTask(("none", "TWF"), ("p_none", "p_twf"))
    probabilities = {"p_none": np.array([0.9, 0.2, 0.6]), "p_twf": np.array([0.1, 0.8, 0.4])}
    labels = np.array(["none", "TWF", "TWF"], dtype=object)
    plots = task_plots(labels, {"challenger": (classes, probabilities), "champion": (classes, probabilities)})
    assert list(plots) == [CONFUSION_FILE]
    assert plots[CONFUSION_FILE].startswith(PNG)

    values = RegressionTask("tool_life_min")
    outputs = {"tool_life_min": np.array([10.0, 20.0, 30.0])}
    plots = task_plots(np.array([12.0, 18.0, 33.0]), {"challenger": (values, outputs)})
    assert list(plots) == [RESIDUALS_FILE]
    assert plots[RESIDUALS_FILE].startswith(PNG)
