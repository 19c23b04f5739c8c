"""OnnxModel on real onnxruntime: the trained demo bundle and a second, different bundle.

The second bundle (tests/support/bundles.py) has other features, units, categories, output
names, ONNX input layout and OOD direction: it runs through the same validation, adapter and
anomaly rules with no code change ("bring your own model").
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from support.bundles import DEMO_DATA, defect_reference, fit_defect_model, valid_rows
from support.manifests import TYPICAL_ROW

from edgeloop.adapters.onnx_model import BundleError, OnnxModel, file_sha256
from edgeloop.domain.anomaly import HIGH_RISK, OUT_OF_DISTRIBUTION, detect_anomalies
from edgeloop.domain.validation import RowError, RowValidationError, validate_rows
from edgeloop.ports import ScoringModel


@pytest.fixture(scope="module")
def demo(demo_bundle_dir: Path) -> OnnxModel:
    return OnnxModel.load(demo_bundle_dir)


@pytest.fixture(scope="module")
def defect(defect_bundle_dir: Path) -> OnnxModel:
    return OnnxModel.load(defect_bundle_dir)


def csv_rows() -> tuple[list[dict[str, Any]], np.ndarray]:
    """All AI4I rows as scoring rows (the CSV's columns renamed to the feature names), and labels."""
    with DEMO_DATA.open(encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    rows = [
        {
            "type": r["Type"],
            "air_temperature_k": float(r["Air temperature [K]"]),
            "process_temperature_k": float(r["Process temperature [K]"]),
            "rotational_speed_rpm": int(r["Rotational speed [rpm]"]),
            "torque_nm": float(r["Torque [Nm]"]),
            "tool_wear_min": int(r["Tool wear [min]"]),
        }
        for r in records
    ]
    return rows, np.array([int(r["Machine failure"]) for r in records])


def test_demo_bundle_loads_and_implements_the_port(demo: OnnxModel, demo_bundle_dir: Path) -> None:
    model: ScoringModel = demo
    assert model.manifest.name == "ai4i-failure"
    assert model.sha256 == file_sha256(demo_bundle_dir / "model.onnx")
    assert model.manifest.output_names == ("failure_probability", "ood_score")


def test_demo_single_row(demo: OnnxModel) -> None:
    outputs = demo.predict(validate_rows(demo.manifest, [TYPICAL_ROW]))
    assert set(outputs) == {"failure_probability", "ood_score"}
    for values in outputs.values():
        assert values.shape == (1,)
        assert values.dtype == np.float64
    assert 0.0 <= outputs["failure_probability"][0] < demo.manifest.threshold
    assert 0.0 <= outputs["ood_score"][0] < (demo.manifest.ood_threshold or 0)


def test_demo_batch_equals_row_by_row(demo: OnnxModel) -> None:
    rows = valid_rows(demo.manifest, 1000, seed=4)
    batch = demo.predict(validate_rows(demo.manifest, rows))
    assert batch["failure_probability"].shape == (1000,)
    for index in (0, 1, 517, 999):
        single = demo.predict(validate_rows(demo.manifest, [rows[index]]))
        for name in demo.manifest.output_names:
            assert single[name][0] == pytest.approx(batch[name][index], rel=1e-6, abs=1e-6)


def test_demo_separates_failures_on_the_whole_dataset(demo: OnnxModel) -> None:
    """Every data row passes validation (ranges cover the data) and the risk ranks failures high."""
    rows, labels = csv_rows()
    columns = validate_rows(demo.manifest, rows)
    outputs = demo.predict(columns)
    assert roc_auc_score(labels, outputs["failure_probability"]) >= 0.95
    flags, kinds = detect_anomalies(demo.manifest, outputs)
    high_risk = np.array([HIGH_RISK in k for k in kinds])
    assert high_risk[labels == 1].mean() > 0.5  # most failures are flagged ...
    assert high_risk[labels == 0].mean() < 0.02  # ... and few healthy rows
    assert np.mean([OUT_OF_DISTRIBUTION in k for k in kinds]) < 0.01
    assert flags.sum() == sum(1 for k in kinds if k)


def test_demo_flags_inputs_unlike_the_training_data(demo: OnnxModel) -> None:
    """Each value is within its valid range, but process temperature below air temperature and
    high torque at high speed never occur together in the data: out of distribution."""
    odd = [
        {**TYPICAL_ROW, "air_temperature_k": 308.0, "process_temperature_k": 302.0},
        {**TYPICAL_ROW, "rotational_speed_rpm": 3500, "torque_nm": 100.0},
    ]
    outputs = demo.predict(validate_rows(demo.manifest, [TYPICAL_ROW, *odd]))
    _, kinds = detect_anomalies(demo.manifest, outputs)
    assert OUT_OF_DISTRIBUTION not in kinds[0]
    assert OUT_OF_DISTRIBUTION in kinds[1]
    assert OUT_OF_DISTRIBUTION in kinds[2]


def test_thread_options_do_not_change_results(demo_bundle_dir: Path, demo: OnnxModel) -> None:
    threaded = OnnxModel.load(demo_bundle_dir, intra_op_threads=2, inter_op_threads=2)
    columns = validate_rows(demo.manifest, valid_rows(demo.manifest, 50, seed=9))
    assert np.allclose(
        threaded.predict(columns)["failure_probability"], demo.predict(columns)["failure_probability"]
    )


def test_empty_batch(demo: OnnxModel) -> None:
    outputs = demo.predict(validate_rows(demo.manifest, []))
    assert {name: values.shape for name, values in outputs.items()} == {
        "failure_probability": (0,),
        "ood_score": (0,),
    }


def test_thousand_rows_predict_fast(demo: OnnxModel) -> None:
    """Typically ~2 ms for 1,000 rows; the bound is loose for a loaded CI machine."""
    columns = validate_rows(demo.manifest, valid_rows(demo.manifest, 1000, seed=2))
    best = np.inf
    for _ in range(5):
        started = time.perf_counter()
        demo.predict(columns)
        best = min(best, time.perf_counter() - started)
    assert best < 0.05


# --- a second, different bundle ----------------------------------------------------------------


def test_second_bundle_predicts_what_scikit_learn_predicts(defect: OnnxModel) -> None:
    assert defect.manifest.feature_names == ("line", "pressure_bar", "vibration_mm_s")
    assert defect.manifest.input("pressure_bar").unit == "bar"
    rows = valid_rows(defect.manifest, 200, seed=1)
    outputs = defect.predict(validate_rows(defect.manifest, rows))
    assert set(outputs) == {"defect_risk", "novelty"}
    model, _, _ = fit_defect_model()
    assert np.allclose(outputs["defect_risk"], defect_reference(model, rows), atol=1e-6)
    assert outputs["defect_risk"].min() < 0.5 < outputs["defect_risk"].max()


def test_second_bundle_anomaly_rules_with_lower_is_unusual(defect: OnnxModel) -> None:
    rows = [
        {"line": "north", "pressure_bar": 6.0, "vibration_mm_s": 20.0},
        {"line": "east", "pressure_bar": 11.5, "vibration_mm_s": 45.0, "operator": "op-2"},
        {"line": "south", "pressure_bar": 6.1, "vibration_mm_s": 49.0},
    ]
    columns = validate_rows(defect.manifest, rows)
    outputs = defect.predict(columns)
    assert outputs["novelty"][0] > -1.0
    flags, kinds = detect_anomalies(defect.manifest, outputs)
    assert kinds[0] == ()
    assert kinds[1] == (HIGH_RISK, OUT_OF_DISTRIBUTION)
    assert OUT_OF_DISTRIBUTION in kinds[2]
    assert flags.tolist() == [False, True, True]
    assert columns.context[1] == {"operator": "op-2"}


def test_second_bundle_validation_uses_its_own_schema(defect: OnnxModel) -> None:
    with pytest.raises(RowValidationError) as caught:
        validate_rows(
            defect.manifest, [{"line": "west", "pressure_bar": 13, "vibration_mm_s": 1.0}, TYPICAL_ROW]
        )
    errors = caught.value.errors
    assert errors[0] == RowError(0, "line", "must be one of north, south, east, got 'west'")
    assert errors[1] == RowError(0, "pressure_bar", "must be between 0.0 and 12.0, got 13")
    assert RowError(1, "line", "is missing") in errors
    assert {e.field for e in errors if e.row == 1} >= {"torque_nm", "type", "pressure_bar"}


# --- broken bundles --------------------------------------------------------------------------------


@pytest.fixture
def bundle_copy(tmp_path: Path, demo_bundle_dir: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(demo_bundle_dir, target)
    return target


def edit_manifest(bundle: Path, change: Any) -> None:
    path = bundle / "manifest.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document), encoding="utf-8")


def test_hash_mismatch_names_the_file(bundle_copy: Path) -> None:
    with (bundle_copy / "model.onnx").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(BundleError, match=r"^model\.onnx: sha256 [0-9a-f]{64} does not match"):
        OnnxModel.load(bundle_copy)


def test_missing_model_file(bundle_copy: Path) -> None:
    (bundle_copy / "model.onnx").unlink()
    with pytest.raises(BundleError, match=r"^model\.onnx: listed in the manifest but missing"):
        OnnxModel.load(bundle_copy)


def test_invalid_manifest_names_the_field(bundle_copy: Path) -> None:
    # The demo bundle is format 2 when freshly trained (the rule in "task"), format 1 when older.
    edit_manifest(bundle_copy, lambda d: d.get("task", d).update(threshold="high"))
    with pytest.raises(BundleError, match=r"manifest field (task\.)?threshold: must be a number"):
        OnnxModel.load(bundle_copy)


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        OnnxModel.load(tmp_path)


def test_unloadable_model_with_matching_hash(bundle_copy: Path) -> None:
    (bundle_copy / "model.onnx").write_bytes(b"not an onnx model")
    digest = file_sha256(bundle_copy / "model.onnx")
    edit_manifest(bundle_copy, lambda d: d["files"].update({"model.onnx": digest}))
    with pytest.raises(BundleError, match="onnxruntime cannot load it"):
        OnnxModel.load(bundle_copy)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["onnx_inputs"][1].update(name="sensors"), "graph inputs"),
        (
            lambda d: d["onnx_inputs"][1].update(dtype="float64"),
            "is tensor\\(float\\), manifest says float64",
        ),
        (lambda d: d["onnx_outputs"][0].update(name="probabilities"), "graph has no output 'probabilities'"),
    ],
    ids=["input name", "input dtype", "output name"],
)
def test_manifest_that_does_not_fit_the_graph(bundle_copy: Path, change: Any, message: str) -> None:
    edit_manifest(bundle_copy, change)
    with pytest.raises(BundleError, match=message):
        OnnxModel.load(bundle_copy)


def test_manifest_mapping_fewer_columns_than_the_graph(bundle_copy: Path) -> None:
    def drop_tool_wear(document: dict[str, Any]) -> None:
        document["inputs"] = [i for i in document["inputs"] if i["name"] != "tool_wear_min"]
        document["onnx_inputs"][1]["features"].remove("tool_wear_min")
        if "drift" in document:  # the training profile names the same inputs
            features = document["drift"]["features"]
            document["drift"]["features"] = [f for f in features if f["name"] != "tool_wear_min"]

    edit_manifest(bundle_copy, drop_tool_wear)
    with pytest.raises(BundleError, match="input 'numeric' has 5 columns, manifest maps 4"):
        OnnxModel.load(bundle_copy)
