"""One ONNX graph for the demo model: feature engineering, classifier and OOD score together.

Graph inputs: ``type`` (string ``[N, 1]``: L/M/H) and ``numeric`` (float ``[N, 5]`` in
``NUMERIC_FEATURES`` order). Outputs: ``failure_probability`` and ``ood_score`` (``[N]``).
Keeping the categorical encoding and the derived features inside the graph means the
bundle is self-contained: the edge feeds raw, validated features and needs no model code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType

from edgeloop.training.dataset import NUMERIC_FEATURES, TYPE_CATEGORIES

OPSET = {"": 17, "ai.onnx.ml": 3}
TYPE_INPUT = "type"
NUMERIC_INPUT = "numeric"
RISK_OUTPUT = "failure_probability"
OOD_OUTPUT = "ood_score"
# 2*pi/60 turns rpm into rad/s, so torque [Nm] * speed * this = mechanical power [W].
_RPM_TO_RAD_S = np.float32(2.0 * np.pi / 60.0)
N_MODEL_FEATURES = 1 + len(NUMERIC_FEATURES) + 3


def model_features(
    types: npt.NDArray[np.object_], numeric: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """The classifier's input matrix, computed exactly as the graph does (float32, same op order).

    Derived features follow the physics of the AI4I failure modes: the air/process temperature
    difference (heat dissipation), mechanical power (power failure) and tool wear x torque
    (overstrain). Trees find these thresholds far more easily than the raw columns.
    """
    codes = {category: np.float32(index) for index, category in enumerate(TYPE_CATEGORIES)}
    type_code = np.array([codes[t] for t in types], dtype=np.float32).reshape(-1, 1)
    air, process, speed, torque, wear = (numeric[:, i : i + 1] for i in range(len(NUMERIC_FEATURES)))
    temp_diff = process - air
    power = (torque * speed) * _RPM_TO_RAD_S
    strain = wear * torque
    return np.hstack([type_code, numeric, temp_diff, power, strain]).astype(np.float32)


@dataclass(frozen=True)
class RobustDistance:
    """Mahalanobis distance from a robust (MCD) centre and covariance: ``||(x - center) @ whitening||``."""

    center: npt.NDArray[np.float64]
    whitening: npt.NDArray[np.float64]  # lower Cholesky factor of the precision matrix

    def score(self, numeric: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        whitened = (np.asarray(numeric, dtype=np.float64) - self.center) @ self.whitening
        distances: npt.NDArray[np.float64] = np.sqrt(np.sum(whitened * whitened, axis=1))
        return distances


def export_demo_graph(classifier: Any, ood: RobustDistance) -> onnx.ModelProto:
    """The classifier converted by skl2onnx, between the feature engineering and the OOD score."""
    core = to_onnx(
        classifier,
        initial_types=[("features", FloatTensorType([None, N_MODEL_FEATURES]))],
        options={id(classifier): {"zipmap": False}},  # plain tensor output: no per-row dicts
        target_opset=OPSET,
    )
    core_input = core.graph.input[0].name
    probabilities = next(output.name for output in core.graph.output if output.name != "label")
    graph = helper.make_graph(
        [*_feature_nodes(core_input), *core.graph.node, *_output_nodes(probabilities)],
        "ai4i_failure",
        inputs=[
            helper.make_tensor_value_info(TYPE_INPUT, TensorProto.STRING, [None, 1]),
            helper.make_tensor_value_info(NUMERIC_INPUT, TensorProto.FLOAT, [None, len(NUMERIC_FEATURES)]),
        ],
        outputs=[
            helper.make_tensor_value_info(RISK_OUTPUT, TensorProto.FLOAT, [None]),
            helper.make_tensor_value_info(OOD_OUTPUT, TensorProto.FLOAT, [None]),
        ],
        initializer=[*core.graph.initializer, *_constants(ood)],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(domain, version) for domain, version in OPSET.items()],
        producer_name="edgeloop.training",
    )
    model.ir_version = core.ir_version
    onnx.checker.check_model(model, full_check=True)
    return model


def _constants(ood: RobustDistance) -> list[onnx.TensorProto]:
    return [
        numpy_helper.from_array(np.ones(len(NUMERIC_FEATURES), dtype=np.int64), "pre_split_sizes"),
        numpy_helper.from_array(np.array([_RPM_TO_RAD_S], dtype=np.float32), "pre_rpm_to_rad_s"),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "post_positive_class"),
        numpy_helper.from_array(ood.center.astype(np.float32), "ood_center"),
        numpy_helper.from_array(ood.whitening.astype(np.float32), "ood_whitening"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "ood_sum_axes"),
    ]


def _feature_nodes(core_input: str) -> list[onnx.NodeProto]:
    """Raw inputs -> the classifier's feature matrix, as :func:`model_features` computes it."""
    columns = ["pre_air", "pre_process", "pre_speed", "pre_torque", "pre_wear"]
    return [
        helper.make_node(
            "LabelEncoder",
            [TYPE_INPUT],
            ["pre_type_code"],
            domain="ai.onnx.ml",
            keys_strings=list(TYPE_CATEGORIES),
            values_floats=[float(i) for i in range(len(TYPE_CATEGORIES))],
            default_float=-1.0,
        ),
        helper.make_node("Split", [NUMERIC_INPUT, "pre_split_sizes"], columns, axis=1),
        helper.make_node("Sub", ["pre_process", "pre_air"], ["pre_temp_diff"]),
        helper.make_node("Mul", ["pre_torque", "pre_speed"], ["pre_torque_speed"]),
        helper.make_node("Mul", ["pre_torque_speed", "pre_rpm_to_rad_s"], ["pre_power"]),
        helper.make_node("Mul", ["pre_wear", "pre_torque"], ["pre_strain"]),
        helper.make_node(
            "Concat",
            ["pre_type_code", NUMERIC_INPUT, "pre_temp_diff", "pre_power", "pre_strain"],
            [core_input],
            axis=1,
        ),
    ]


def _output_nodes(probabilities: str) -> list[onnx.NodeProto]:
    """The positive class's probability, and the robust distance of the numeric inputs."""
    return [
        helper.make_node("Gather", [probabilities, "post_positive_class"], [RISK_OUTPUT], axis=1),
        helper.make_node("Sub", [NUMERIC_INPUT, "ood_center"], ["ood_centered"]),
        helper.make_node("MatMul", ["ood_centered", "ood_whitening"], ["ood_whitened"]),
        helper.make_node("Mul", ["ood_whitened", "ood_whitened"], ["ood_squares"]),
        helper.make_node("ReduceSum", ["ood_squares", "ood_sum_axes"], ["ood_distance_sq"], keepdims=0),
        helper.make_node("Sqrt", ["ood_distance_sq"], [OOD_OUTPUT]),
    ]
