"""The demo model's derived features: the graph computes exactly what model_features computes,
and each rule margin fires where data/README.md's failure rule does (on the real AI4I rows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from sklearn.ensemble import GradientBoostingClassifier

from edgeloop.recipes.ai4i_inputs import NUMERIC_FEATURES, OVERSTRAIN_LIMITS
from edgeloop.training import onnx_export
from edgeloop.training.dataset import Ai4iData, load_ai4i

DATA = Path(__file__).resolve().parents[2] / "data" / "ai4i2020-train.csv"


@pytest.fixture(scope="module")
def data() -> Ai4iData:
    return load_ai4i(DATA)


def column(features: npt.NDArray[np.float32], name: str) -> npt.NDArray[np.float32]:
    return features[:, 1 + len(NUMERIC_FEATURES) + onnx_export.DERIVED_FEATURES.index(name)]


def graph_features(data: Ai4iData) -> npt.NDArray[np.float32]:
    """The exported graph's classifier input, made an extra graph output and run by onnxruntime."""
    features = onnx_export.model_features(data.types[:300], data.numeric[:300])
    tiny = GradientBoostingClassifier(n_estimators=2, max_depth=2, random_state=0)
    tiny.fit(features, data.labels[:300])
    identity = onnx_export.RobustDistance(np.zeros(len(NUMERIC_FEATURES)), np.eye(len(NUMERIC_FEATURES)))
    model = onnx_export.export_demo_graph(tiny, identity)
    concat = next(node for node in model.graph.node if "pre_type_code" in node.input)
    width = onnx_export.N_MODEL_FEATURES
    model.graph.output.append(
        helper.make_tensor_value_info(concat.output[0], TensorProto.FLOAT, [None, width])
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (result,) = session.run(
        [concat.output[0]],
        {onnx_export.TYPE_INPUT: data.types.reshape(-1, 1), onnx_export.NUMERIC_INPUT: data.numeric},
    )
    return np.asarray(result)


def test_the_graph_computes_model_features_bit_for_bit(data: Ai4iData) -> None:
    expected = onnx_export.model_features(data.types, data.numeric)
    assert expected.shape == (data.n_rows, onnx_export.N_MODEL_FEATURES)
    assert np.array_equal(graph_features(data), expected)


def test_each_margin_fires_where_its_failure_rule_does(data: Ai4iData) -> None:
    features = onnx_export.model_features(data.types, data.numeric)
    air, process, speed, torque, wear = data.numeric.astype(np.float64).T
    limit = np.array([OVERSTRAIN_LIMITS[t] for t in data.types])
    assert np.array_equal(column(features, "strain_ratio") > 1, wear * torque > limit)
    power = torque * speed * 2 * np.pi / 60
    assert np.array_equal(column(features, "power_margin_kw") < 0, (power < 3500) | (power > 9000))
    temp_diff = np.round(process - air, 1)  # the CSV has 0.1 K steps: 8.6 is the bound itself
    clear = temp_diff != 8.6
    fires = (temp_diff < 8.6) & (speed < 1380)
    assert np.array_equal((column(features, "hdf_margin") < 0)[clear], fires[clear])


def test_rows_where_a_rule_clearly_fires_are_all_failures(data: Ai4iData) -> None:
    """In AI4I the heat, power and overstrain rules are deterministic; the rest (tool wear, random)
    are not. Away from the heat rule's 8.6 K bound (failures there are a coin toss), a negative
    rule margin means a failure."""
    margin = column(onnx_export.model_features(data.types, data.numeric), "rule_margin")
    fired = margin < -1e-3
    assert np.all(data.labels[fired] == 1)
    assert fired.sum() >= 200  # of the 271 failures in the file
