"""Test helpers for model bundles.

- ``build_defect_bundle``: a second, different model ("bring your own model") built in
  milliseconds: a logistic regression on synthetic press data, with other features
  (a category ``line`` and two sensors in bar and mm/s), one ONNX input per feature in
  float64, a risk output named ``defect_risk`` taken from column 1 of a ``[N, 2]`` tensor,
  and a novelty score where *lower* means more unusual (``ood_direction: below``).
- ``demo_bundle``: the real AI4I demo bundle (reuses ``var/models/demo`` when valid).
- ``valid_rows``: random valid scoring rows for any manifest.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.linear_model import LogisticRegression

from edgeloop.adapters.onnx_model import BundleError, OnnxModel
from edgeloop.domain.manifest import ModelManifest
from edgeloop.training.bundle import write_bundle

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DATA = REPO_ROOT / "data" / "ai4i2020-train.csv"
DEMO_BUNDLE = REPO_ROOT / "var" / "models" / "demo"

DEFECT_LINES = ("north", "south", "east")
DEFECT_SENSORS = (("pressure_bar", "bar", 0.0, 12.0), ("vibration_mm_s", "mm/s", 0.0, 50.0))
DEFECT_NOVELTY_THRESHOLD = -3.0  # more than 3 standard deviations from the training mean


def defect_training_data(n_rows: int = 600, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic press data: (lines, sensors [n, 2], labels). Defects rise with pressure and vibration."""
    rng = np.random.default_rng(seed)
    lines = rng.choice(DEFECT_LINES, size=n_rows)
    sensors = np.column_stack([rng.normal(6.0, 1.2, n_rows), rng.normal(20.0, 5.0, n_rows)])
    line_effect = np.select([lines == "north", lines == "south"], [-0.5, 0.0], 0.8)
    logit = 1.1 * (sensors[:, 0] - 6.0) + 0.35 * (sensors[:, 1] - 20.0) + line_effect - 1.5
    labels = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return lines, sensors, labels


def _one_hot(lines: np.ndarray) -> np.ndarray:
    return np.column_stack([(lines == line).astype(np.float64) for line in DEFECT_LINES])


def fit_defect_model(seed: int = 3) -> tuple[LogisticRegression, np.ndarray, np.ndarray]:
    """The fitted regression (inputs: one-hot line, then sensors) and the sensors' mean and std."""
    lines, sensors, labels = defect_training_data(seed=seed)
    model = LogisticRegression(max_iter=500).fit(np.hstack([_one_hot(lines), sensors]), labels)
    return model, sensors.mean(axis=0), sensors.std(axis=0)


def defect_reference(model: LogisticRegression, rows: list[dict[str, Any]]) -> np.ndarray:
    """scikit-learn's own defect probability for ``rows`` (to check the ONNX graph against)."""
    lines = np.array([row["line"] for row in rows])
    sensors = np.array([[row[name] for name, *_ in DEFECT_SENSORS] for row in rows], dtype=np.float64)
    probabilities: np.ndarray = model.predict_proba(np.hstack([_one_hot(lines), sensors]))
    return probabilities[:, 1]


def _defect_graph(model: LogisticRegression, mean: np.ndarray, std: np.ndarray) -> onnx.ModelProto:
    """Hand-built graph: the line's coefficient via LabelEncoder, sensors via MatMul, then Sigmoid."""
    coef = model.coef_[0]
    line_coef = [float(c) for c in coef[: len(DEFECT_LINES)]]
    initializers = [
        numpy_helper.from_array(coef[len(DEFECT_LINES) :].reshape(-1, 1).astype(np.float64), "sensor_coef"),
        numpy_helper.from_array(np.array([model.intercept_[0]], dtype=np.float64), "intercept"),
        numpy_helper.from_array(np.array([1.0], dtype=np.float64), "one"),
        numpy_helper.from_array(mean.astype(np.float64), "sensor_mean"),
        numpy_helper.from_array(std.astype(np.float64), "sensor_std"),
    ]
    nodes = [
        helper.make_node(
            "LabelEncoder",
            ["line"],
            ["line_term32"],
            domain="ai.onnx.ml",
            keys_strings=list(DEFECT_LINES),
            values_floats=line_coef,
            default_float=0.0,
        ),
        helper.make_node("Cast", ["line_term32"], ["line_term"], to=TensorProto.DOUBLE),
        helper.make_node("Concat", [name for name, *_ in DEFECT_SENSORS], ["sensors"], axis=1),
        helper.make_node("MatMul", ["sensors", "sensor_coef"], ["sensor_term"]),
        helper.make_node("Add", ["sensor_term", "line_term"], ["partial_logit"]),
        helper.make_node("Add", ["partial_logit", "intercept"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["positive"]),
        helper.make_node("Sub", ["one", "positive"], ["negative"]),
        helper.make_node("Concat", ["negative", "positive"], ["scores"], axis=1),
        helper.make_node("Sub", ["sensors", "sensor_mean"], ["centered"]),
        helper.make_node("Div", ["centered", "sensor_std"], ["z"]),
        helper.make_node("Abs", ["z"], ["abs_z"]),
        helper.make_node("ReduceMax", ["abs_z"], ["max_abs_z"], axes=[1], keepdims=0),
        helper.make_node("Neg", ["max_abs_z"], ["novelty"]),
    ]
    graph = helper.make_graph(
        nodes,
        "press_defect",
        inputs=[
            helper.make_tensor_value_info("line", TensorProto.STRING, [None, 1]),
            *(
                helper.make_tensor_value_info(name, TensorProto.DOUBLE, [None, 1])
                for name, *_ in DEFECT_SENSORS
            ),
        ],
        outputs=[
            helper.make_tensor_value_info("scores", TensorProto.DOUBLE, [None, 2]),
            helper.make_tensor_value_info("novelty", TensorProto.DOUBLE, [None]),
        ],
        initializer=initializers,
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]
    graph_model = helper.make_model(graph, opset_imports=opsets, producer_name="tests.support.bundles")
    graph_model.ir_version = 8
    onnx.checker.check_model(graph_model, full_check=True)
    return graph_model


def defect_manifest_fields(version: str = "0.1.0") -> dict[str, Any]:
    sensors = [
        {"name": name, "type": "number", "unit": unit, "min": low, "max": high, "description": name}
        for name, unit, low, high in DEFECT_SENSORS
    ]
    return {
        "name": "press-defect",
        "version": version,
        "created_at": "2026-01-01T00:00:00Z",
        "model_file": "press.onnx",
        "inputs": [{"name": "line", "type": "category", "categories": list(DEFECT_LINES)}, *sensors],
        "outputs": [
            {"name": "defect_risk", "description": "Probability that the pressed part is defective"},
            {"name": "novelty", "description": "Minus the largest sensor z-score; lower is more unusual"},
        ],
        "risk_output": "defect_risk",
        "threshold": 0.5,
        "ood_output": "novelty",
        "ood_threshold": DEFECT_NOVELTY_THRESHOLD,
        "ood_direction": "below",
        "onnx_inputs": [
            {"name": "line", "features": ["line"], "dtype": "string"},
            *({"name": name, "features": [name], "dtype": "float64"} for name, *_ in DEFECT_SENSORS),
        ],
        "onnx_outputs": [
            {"output": "defect_risk", "name": "scores", "column": 1},
            {"output": "novelty", "name": "novelty", "column": None},
        ],
        "metrics": {},
        "training_data": {"source": "synthetic (tests/support/bundles.py)"},
    }


def build_defect_bundle(out_dir: Path, *, version: str = "0.1.0", seed: int = 3) -> Path:
    """Write the press-defect bundle to ``out_dir`` (milliseconds); returns ``out_dir``."""
    model, mean, std = fit_defect_model(seed)
    graph = _defect_graph(model, mean, std)
    write_bundle(out_dir, defect_manifest_fields(version), {"press.onnx": graph.SerializeToString()})
    return out_dir


def demo_bundle(work_dir: Path) -> Path:
    """The trained AI4I demo bundle: ``var/models/demo`` if it loads, else trained into ``work_dir``.

    (``make test`` trains ``var/models/demo`` before pytest, so normally nothing is trained here.)
    """
    try:
        OnnxModel.load(DEMO_BUNDLE)
    except BundleError:
        target = work_dir / "demo"
        command = [
            sys.executable,
            "-m",
            "edgeloop.cli",
            "train",
            "--data",
            str(DEMO_DATA),
            "--out",
            str(target),
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
        return target
    return DEMO_BUNDLE


def valid_rows(manifest: ModelManifest, n_rows: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """Random rows every validator accepts: numbers in the middle half of their range, known categories."""
    rng = np.random.default_rng(seed)
    columns: dict[str, list[Any]] = {}
    for spec in manifest.inputs:
        if spec.type == "number":
            assert spec.min is not None
            assert spec.max is not None
            span = spec.max - spec.min
            values = rng.uniform(spec.min + span / 4, spec.max - span / 4, n_rows)
            columns[spec.name] = [round(float(v), 2) for v in values]
        else:
            columns[spec.name] = [str(c) for c in rng.choice(list(spec.categories or ()), n_rows)]
    return [{name: values[i] for name, values in columns.items()} for i in range(n_rows)]
