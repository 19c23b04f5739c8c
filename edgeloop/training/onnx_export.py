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

from edgeloop.recipes.ai4i_inputs import NUMERIC_FEATURES, OVERSTRAIN_LIMITS, TYPE_CATEGORIES

OPSET = {"": 17, "ai.onnx.ml": 3}
TYPE_INPUT = "type"
NUMERIC_INPUT = "numeric"
RISK_OUTPUT = "failure_probability"
OOD_OUTPUT = "ood_score"
# 2*pi/60 turns rpm into rad/s, so torque [Nm] * speed * this = mechanical power [W].
_RPM_TO_RAD_S = np.float32(2.0 * np.pi / 60.0)
# The AI4I failure rules (data/README.md): overstrain when tool wear x torque exceeds the
# product type's limit [min*Nm] (OVERSTRAIN_LIMITS); power failure outside a band [W]; heat
# dissipation failure when the temperature difference [K] AND the speed [rpm] are both below a bound.
POWER_BAND_W = (3500.0, 9000.0)
HDF_TEMP_DIFF_K = 8.6
HDF_SPEED_RPM = 1380.0
# Margins in comparable units, so that one feature (their minimum) can hold all three rules:
# power in kW, speed in hundreds of rpm (a margin of 1 ~ 1 K of temperature difference).
_W_PER_KW = np.float32(1000.0)
_RPM_PER_UNIT = np.float32(100.0)
DERIVED_FEATURES = (
    "temp_diff_k",
    "power_w",
    "strain_min_nm",
    "strain_ratio",
    "power_margin_kw",
    "hdf_margin",
    "rule_margin",
)
N_MODEL_FEATURES = 1 + len(NUMERIC_FEATURES) + len(DERIVED_FEATURES)


def model_features(
    types: npt.NDArray[np.object_], numeric: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """The classifier's input matrix, computed exactly as the graph does (float32, same op order).

    Columns: type code, the numeric inputs, then ``DERIVED_FEATURES``. They follow the physics
    of the AI4I failure modes: the air/process temperature difference (heat dissipation),
    mechanical power (power failure) and tool wear x torque (overstrain), then each rule's
    margin (negative: the rule fires) and the smallest of the three. Each failure rule becomes
    one threshold on one column, which trees find from few examples.
    """
    codes = {category: np.float32(index) for index, category in enumerate(TYPE_CATEGORIES)}
    type_code = np.array([codes[t] for t in types], dtype=np.float32).reshape(-1, 1)
    limit = np.array([OVERSTRAIN_LIMITS[t] for t in types], dtype=np.float32).reshape(-1, 1)
    f32 = np.float32
    air, process, speed, torque, wear = (numeric[:, i : i + 1] for i in range(len(NUMERIC_FEATURES)))
    temp_diff = process - air
    power = (torque * speed) * _RPM_TO_RAD_S
    strain = wear * torque
    strain_ratio = strain / limit
    power_margin = np.minimum(power - f32(POWER_BAND_W[0]), f32(POWER_BAND_W[1]) - power) / _W_PER_KW
    hdf_margin = np.maximum(temp_diff - f32(HDF_TEMP_DIFF_K), (speed - f32(HDF_SPEED_RPM)) / _RPM_PER_UNIT)
    rule_margin = np.minimum(np.minimum(f32(1.0) - strain_ratio, power_margin), hdf_margin)
    derived = [temp_diff, power, strain, strain_ratio, power_margin, hdf_margin, rule_margin]
    return np.hstack([type_code, numeric, *derived]).astype(np.float32)


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
    scalars = {
        "pre_rpm_to_rad_s": _RPM_TO_RAD_S,
        "pre_power_low_w": POWER_BAND_W[0],
        "pre_power_high_w": POWER_BAND_W[1],
        "pre_w_per_kw": _W_PER_KW,
        "pre_hdf_temp_diff_k": HDF_TEMP_DIFF_K,
        "pre_hdf_speed_rpm": HDF_SPEED_RPM,
        "pre_rpm_per_unit": _RPM_PER_UNIT,
        "pre_one": 1.0,
    }
    return [
        numpy_helper.from_array(np.ones(len(NUMERIC_FEATURES), dtype=np.int64), "pre_split_sizes"),
        *(numpy_helper.from_array(np.array([v], dtype=np.float32), name) for name, v in scalars.items()),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "post_positive_class"),
        numpy_helper.from_array(ood.center.astype(np.float32), "ood_center"),
        numpy_helper.from_array(ood.whitening.astype(np.float32), "ood_whitening"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "ood_sum_axes"),
    ]


def _type_encoder(output: str, values: list[float], default: float) -> onnx.NodeProto:
    """``type`` (string ``[N, 1]``) -> one float per row, by category."""
    return helper.make_node(
        "LabelEncoder",
        [TYPE_INPUT],
        [output],
        domain="ai.onnx.ml",
        keys_strings=list(TYPE_CATEGORIES),
        values_floats=values,
        default_float=default,
    )


def _feature_nodes(core_input: str) -> list[onnx.NodeProto]:
    """Raw inputs -> the classifier's feature matrix, as :func:`model_features` computes it."""
    columns = ["pre_air", "pre_process", "pre_speed", "pre_torque", "pre_wear"]
    derived = ["pre_temp_diff", "pre_power", "pre_strain", "pre_strain_ratio"]
    derived += ["pre_power_margin", "pre_hdf_margin", "pre_rule_margin"]  # DERIVED_FEATURES' order
    # An unknown type (validation refuses it before scoring) gets code -1 and the strictest limit.
    limits = [OVERSTRAIN_LIMITS[category] for category in TYPE_CATEGORIES]
    node = helper.make_node
    return [
        _type_encoder("pre_type_code", [float(i) for i in range(len(TYPE_CATEGORIES))], -1.0),
        _type_encoder("pre_strain_limit", limits, min(limits)),
        node("Split", [NUMERIC_INPUT, "pre_split_sizes"], columns, axis=1),
        node("Sub", ["pre_process", "pre_air"], ["pre_temp_diff"]),
        node("Mul", ["pre_torque", "pre_speed"], ["pre_torque_speed"]),
        node("Mul", ["pre_torque_speed", "pre_rpm_to_rad_s"], ["pre_power"]),
        node("Mul", ["pre_wear", "pre_torque"], ["pre_strain"]),
        node("Div", ["pre_strain", "pre_strain_limit"], ["pre_strain_ratio"]),
        *_margin_nodes(),
        node("Concat", ["pre_type_code", NUMERIC_INPUT, *derived], [core_input], axis=1),
    ]


def _margin_nodes() -> list[onnx.NodeProto]:
    """Each failure rule's margin (negative: it fires) and their minimum, as in :func:`model_features`."""
    node = helper.make_node
    return [
        node("Sub", ["pre_power", "pre_power_low_w"], ["pre_power_over_low_w"]),
        node("Sub", ["pre_power_high_w", "pre_power"], ["pre_power_under_high_w"]),
        node("Min", ["pre_power_over_low_w", "pre_power_under_high_w"], ["pre_power_margin_w"]),
        node("Div", ["pre_power_margin_w", "pre_w_per_kw"], ["pre_power_margin"]),
        node("Sub", ["pre_temp_diff", "pre_hdf_temp_diff_k"], ["pre_hdf_temp_margin"]),
        node("Sub", ["pre_speed", "pre_hdf_speed_rpm"], ["pre_hdf_speed_margin_rpm"]),
        node("Div", ["pre_hdf_speed_margin_rpm", "pre_rpm_per_unit"], ["pre_hdf_speed_margin"]),
        node("Max", ["pre_hdf_temp_margin", "pre_hdf_speed_margin"], ["pre_hdf_margin"]),
        node("Sub", ["pre_one", "pre_strain_ratio"], ["pre_strain_margin"]),
        node("Min", ["pre_strain_margin", "pre_power_margin"], ["pre_strain_power_margin"]),
        node("Min", ["pre_strain_power_margin", "pre_hdf_margin"], ["pre_rule_margin"]),
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
