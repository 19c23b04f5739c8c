"""The two example recipes (multiclass failure mode, regression tool life), trained on their base data.

Each is trained once per module on the dataset its ``base_data`` declares (seeded
60/20/20 split), through tools/example_models.py; the graph is run by onnxruntime,
the bundle is written and loaded as a site loads it, and the held-out figures are
recomputed here from the graph's outputs and compared with a trivial baseline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from sklearn.metrics import f1_score, log_loss

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.domain.anomaly import detect_anomalies
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.recipes import TrainingDataset
from edgeloop.domain.tasks import ALERT_CLASS, OUT_OF_BAND, MulticlassTask, RegressionTask
from edgeloop.domain.validation import validate_rows
from edgeloop.recipes import ai4i_failure_mode, tool_life
from edgeloop.recipes.recipe_parts import RecipeInputError
from tools.example_models import (
    EXAMPLES,
    MODEL_FILE,
    REPO_ROOT,
    TrainedExample,
    manifest_document,
    train_example,
)


# Trained afresh, never from var/models (as tests/support/example_bundles.py may): the recipe under test.
@pytest.fixture(scope="module")
def failure_mode(tmp_path_factory: pytest.TempPathFactory) -> TrainedExample:
    return train_example("failure-mode", tmp_path_factory.mktemp("failure-mode") / "failure-mode")


@pytest.fixture(scope="module")
def tool_life_model(tmp_path_factory: pytest.TempPathFactory) -> TrainedExample:
    return train_example("tool-life", tmp_path_factory.mktemp("tool-life") / "tool-life")


def _holdout_outputs(trained: TrainedExample) -> tuple[OnnxModel, np.ndarray, dict[str, np.ndarray]]:
    """The bundle loaded as a site loads it, and its outputs on the holdout rows (validated first)."""
    model = OnnxModel.load(trained.bundle)
    holdout = trained.dataset.indices("holdout")
    columns = validate_rows(model.manifest, trained.dataset.rows(holdout))
    return model, holdout, model.predict(columns)


def test_the_failure_mode_graph_has_one_probability_column_per_class(failure_mode: TrainedExample) -> None:
    session = ort.InferenceSession(failure_mode.result.onnx_model, providers=["CPUExecutionProvider"])
    rows = failure_mode.dataset.indices("holdout")[:7]
    feeds = {
        "type": np.asarray(failure_mode.dataset.features["type"][rows], dtype=object).reshape(-1, 1),
        "numeric": np.column_stack(
            [failure_mode.dataset.features[name][rows] for name in ai4i_failure_mode.NUMERIC_NAMES]
        ).astype(np.float32),
    }
    probabilities, ood = session.run(None, feeds)
    assert probabilities.shape == (7, len(ai4i_failure_mode.CLASSES))
    assert ood.shape == (7,)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_the_failure_mode_model_beats_the_majority_class_on_holdout(failure_mode: TrainedExample) -> None:
    model, holdout, outputs = _holdout_outputs(failure_mode)
    task = model.manifest.task
    assert isinstance(task, MulticlassTask)
    assert task.classes == ai4i_failure_mode.CLASSES
    truth = failure_mode.dataset.labels[holdout].tolist()
    predicted = task.predicted_classes(outputs)
    classes = list(task.classes)
    macro_f1 = f1_score(truth, predicted, labels=classes, average="macro", zero_division=0)
    majority = f1_score(truth, ["none"] * len(truth), labels=classes, average="macro", zero_division=0)
    assert macro_f1 > majority + 0.3
    assert model.manifest.metrics["holdout_macro_f1"] == pytest.approx(macro_f1, abs=1e-6)
    probabilities = task.probabilities(outputs)
    indices = [classes.index(name) for name in truth]
    figure = log_loss(indices, probabilities / probabilities.sum(axis=1, keepdims=True), labels=range(6))
    assert model.manifest.metrics["holdout_log_loss"] == pytest.approx(figure, rel=1e-3)
    assert model.manifest.metrics["holdout_log_loss"] < model.manifest.metrics["baseline_log_loss"]


def test_a_predicted_failure_mode_is_an_alert(failure_mode: TrainedExample) -> None:
    model, _, outputs = _holdout_outputs(failure_mode)
    _, kinds = detect_anomalies(model.manifest, outputs)
    predicted = model.manifest.task.predicted_classes(outputs)  # type: ignore[union-attr]
    alerts = [ALERT_CLASS in row_kinds for row_kinds in kinds]
    assert alerts == [name != "none" for name in predicted]
    assert 10 < sum(alerts) < 200  # the holdout's 1,600 rows hold about 55 failures


def test_the_tool_life_model_beats_the_mean_on_holdout(tool_life_model: TrainedExample) -> None:
    model, holdout, outputs = _holdout_outputs(tool_life_model)
    task = model.manifest.task
    assert isinstance(task, RegressionTask)
    truth = np.asarray(tool_life_model.dataset.labels[holdout], dtype=np.float64)
    value = outputs[task.value_output]
    assert value.shape == truth.shape
    mae = float(np.mean(np.abs(value - truth)))
    train_mean = float(np.mean(tool_life_model.dataset.labels[tool_life_model.dataset.indices("train")]))
    assert mae < 0.5 * float(np.mean(np.abs(truth - train_mean)))
    assert model.manifest.metrics["holdout_mae"] == pytest.approx(mae, rel=1e-4)
    assert task.lower_output is not None
    assert task.upper_output is not None
    lower, upper = outputs[task.lower_output], outputs[task.upper_output]
    assert np.all(lower < value)
    assert np.all(value < upper)
    coverage = float(np.mean((truth >= lower) & (truth <= upper)))
    assert 0.8 < coverage < 0.97  # a 90 % interval from the validation residuals


def test_the_tool_life_fit_recovers_taylors_constants(tool_life_model: TrainedExample) -> None:
    fitted = tool_life_model.result.manifest_fields["training_data"]["fitted_taylor"]
    assert fitted["n"] == pytest.approx(0.25, abs=0.02)
    assert fitted["feed_exponent"] == pytest.approx(0.5, abs=0.05)
    assert fitted["depth_exponent"] == pytest.approx(0.2, abs=0.05)


def test_a_predicted_tool_life_outside_the_band_is_flagged(tool_life_model: TrainedExample) -> None:
    model = OnnxModel.load(tool_life_model.bundle)
    rows = [
        {"cutting_speed_m_min": 290.0, "feed_mm_rev": 0.39, "depth_of_cut_mm": 3.9},  # minutes
        {"cutting_speed_m_min": 200.0, "feed_mm_rev": 0.25, "depth_of_cut_mm": 2.5},  # about 39 min
        {"cutting_speed_m_min": 151.0, "feed_mm_rev": 0.151, "depth_of_cut_mm": 1.01},  # hours
    ]
    outputs = model.predict(validate_rows(model.manifest, rows))
    _, kinds = detect_anomalies(model.manifest, outputs)
    assert [OUT_OF_BAND in row_kinds for row_kinds in kinds] == [True, False, True]
    assert 25.0 < outputs[tool_life.VALUE][1] < 60.0


# The examples trained on base data files (the vision demo's images are generated: test_surface_defects.py).
@pytest.mark.parametrize("key", sorted(key for key, example in EXAMPLES.items() if example.base_data))
def test_the_recipe_fields_make_a_manifest_that_retrains_from_its_base_data(
    key: str, request: pytest.FixtureRequest
) -> None:
    trained: TrainedExample = request.getfixturevalue(
        {"failure-mode": "failure_mode", "tool-life": "tool_life_model"}[key]
    )
    document: dict[str, Any] = {
        **manifest_document(trained.result, "x", "1"),
        "files": {MODEL_FILE: "0" * 64},
    }
    manifest = ModelManifest.from_dict(document)
    recipe = manifest.recipe
    assert recipe is not None
    assert recipe.base_data is not None
    module = {"failure-mode": ai4i_failure_mode, "tool-life": tool_life}[key]
    assert recipe.entry_point == f"{module.__name__}:train"
    assert (REPO_ROOT / recipe.base_data.uri).is_file()
    assert sorted(recipe.base_data.columns.values()) == sorted(manifest.feature_names)
    for spec in manifest.inputs:
        if spec.type == "number":
            values = trained.dataset.features[spec.name]
            assert spec.min is not None
            assert spec.max is not None
            assert spec.min <= values.min()
            assert values.max() <= spec.max


def test_an_unknown_parameter_is_named(failure_mode: TrainedExample) -> None:
    with pytest.raises(RecipeInputError, match="n_trees"):
        ai4i_failure_mode.train(failure_mode.dataset, {"n_trees": 5})


def test_a_class_without_train_rows_is_named(failure_mode: TrainedExample) -> None:
    dataset = failure_mode.dataset
    labels = np.where(dataset.labels == "RNF", "none", dataset.labels).astype(object)
    without_rnf = TrainingDataset(
        dataset.task, dataset.features, labels, dataset.site, dataset.time, dataset.split, dataset.source
    )
    with pytest.raises(RecipeInputError, match="RNF"):
        ai4i_failure_mode.train(without_rnf, {})
