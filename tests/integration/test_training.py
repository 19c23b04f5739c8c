"""Training the demo model through the real CLI, and writing bundles atomically."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from support.bundles import DEMO_DATA, REPO_ROOT, defect_manifest_fields

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.bootstrap.first_bundle import parse_template, train_first_bundle
from edgeloop.domain.manifest import ManifestError, load_manifest
from edgeloop.domain.validation import validate_rows
from edgeloop.recipes.ai4i_failure import manifest_template
from edgeloop.training import bundle as bundle_module
from edgeloop.training.bundle import BundleWriteError, write_bundle
from edgeloop.training.dataset import TrainingDataError, load_ai4i, scoring_rows
from edgeloop.training.demo_model import split_indices

pytestmark = pytest.mark.slow


def train_command(data: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "edgeloop.cli", "train", "--data", str(data), "--out", str(out), *extra]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle trained by the CLI, exactly as ``make run`` does (timed: must stay well under 60 s)."""
    out = tmp_path_factory.mktemp("train") / "demo"
    started = time.monotonic()
    result = subprocess.run(
        train_command(DEMO_DATA, out, "--version", "2026.1.0"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 60
    assert "Fitting failure classifier" in result.stderr  # rich progress
    assert "ROC AUC" in result.stderr
    return out


def test_trained_bundle_meets_the_quality_bar(trained: Path) -> None:
    manifest = load_manifest(trained)
    assert (manifest.name, manifest.version) == ("ai4i-failure", "2026.1.0")
    assert manifest.metrics["test_roc_auc"] >= 0.95
    assert manifest.metrics["test_average_precision"] >= 0.7
    assert manifest.metrics["test_f1_at_threshold"] >= 0.7
    assert manifest.metrics["onnx_max_abs_difference"] < 1e-4
    assert 0.0 < manifest.threshold < 1.0
    assert manifest.ood_output == "ood_score"
    assert manifest.ood_direction == "above"
    assert manifest.metrics["test_ood_flag_rate"] < 0.01
    assert manifest.training_data["rows"] == 8000
    assert manifest.training_data["positives"] == 271
    assert manifest.training_data["split"] == {"train": 4800, "validation": 1600, "test": 1600}


# The previous demo model (raw inputs + temperature difference, power and strain; depth-5 trees)
# on the same seeded test rows. Its average precision was already close to what this split
# allows (about 0.943: a perfect rule-based ranking, docs/benchmarks.md), so the bar is half a
# point; averaged over nine seeded splits the gain is about eleven points.
PREVIOUS_TEST_ROC_AUC = 0.981895
PREVIOUS_TEST_AVERAGE_PRECISION = 0.935805
PREVIOUS_TEST_F1 = 0.92


def test_trained_bundle_beats_the_previous_model_on_the_seeded_test_rows(trained: Path) -> None:
    """Scored through the edge's own path (validation, then the exported ONNX graph)."""
    data = load_ai4i(DEMO_DATA)
    _, _, test = split_indices(data.labels, 7)
    model = OnnxModel.load(trained)
    risk = model.predict(validate_rows(model.manifest, scoring_rows(data, test)))["failure_probability"]
    labels = data.labels[test]
    roc_auc, average_precision = roc_auc_score(labels, risk), average_precision_score(labels, risk)
    # One 1,600-row split is noisy (the fit subsamples by row position, and the recipe gets its
    # rows in file order): docs/benchmarks.md has the nine-split means these bounds stand for.
    assert roc_auc >= PREVIOUS_TEST_ROC_AUC - 0.002
    assert average_precision >= PREVIOUS_TEST_AVERAGE_PRECISION + 0.005
    assert f1_score(labels, risk >= model.manifest.threshold) >= PREVIOUS_TEST_F1 - 0.02
    # The manifest reports the same figures (they were computed from the graph at training time).
    assert model.manifest.metrics["test_roc_auc"] == pytest.approx(roc_auc, abs=1e-6)
    assert model.manifest.metrics["test_average_precision"] == pytest.approx(average_precision, abs=1e-6)


def test_trained_bundle_schema(trained: Path) -> None:
    manifest = load_manifest(trained)
    assert manifest.feature_names == (
        "type",
        "air_temperature_k",
        "process_temperature_k",
        "rotational_speed_rpm",
        "torque_nm",
        "tool_wear_min",
    )
    assert manifest.input("type").categories == ("L", "M", "H")
    units = {spec.name: spec.unit for spec in manifest.inputs}
    assert units["torque_nm"] == "Nm"
    assert units["rotational_speed_rpm"] == "rpm"
    # Bounds are physically plausible and contain the observed data (see the whole-dataset test).
    torque = manifest.input("torque_nm")
    assert torque.min is not None
    assert torque.max is not None
    assert 0.0 <= torque.min <= 3.8
    assert 76.6 <= torque.max <= 150.0
    assert manifest.files["model.onnx"] == hashlib.sha256((trained / "model.onnx").read_bytes()).hexdigest()
    assert sorted(p.name for p in trained.iterdir()) == ["manifest.json", "model.onnx"]
    assert OnnxModel.load(trained).manifest == manifest


def test_training_is_deterministic(trained: Path, tmp_path: Path) -> None:
    """The demo's recipe again, in process (train_first_bundle, as the CLI calls it): the same graph."""
    template = parse_template(manifest_template(str(DEMO_DATA)))
    again = train_first_bundle(
        template.recipe, template.name, tmp_path / "again", task=template.task, version="x"
    )
    assert again.files["model.onnx"] == load_manifest(trained).files["model.onnx"]
    assert again.metrics == load_manifest(trained).metrics


def test_bad_data_fails_cleanly_and_writes_nothing(tmp_path: Path) -> None:
    lines = DEMO_DATA.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace(",L,", ",X,").replace(",M,", ",X,").replace(",H,", ",X,")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "models" / "demo"
    result = subprocess.run(train_command(bad, out), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "row 5, feature 'type': expected L, M or H, got 'X'" in result.stderr  # the recipe's check
    assert not out.exists()


def test_killed_training_leaves_no_bundle(tmp_path: Path) -> None:
    out = tmp_path / "models" / "demo"
    process = subprocess.Popen(
        train_command(DEMO_DATA, out), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        for line in process.stderr:  # bounded: the process ends or we kill it at the step
            if "Fitting failure classifier" in line or time.monotonic() > deadline:
                break
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert not out.exists()
    assert not (out.parent.exists() and any(out.parent.iterdir()))


def test_data_without_label_column(tmp_path: Path) -> None:
    bad = tmp_path / "no_label.csv"
    bad.write_text("UDI,Type\n1,L\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match="missing columns"):
        load_ai4i(bad)


# --- atomic bundle writing -----------------------------------------------------------------------------


def test_write_failure_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "bundle"
    real_write = bundle_module._write_synced
    written: list[str] = []

    def write_then_fail(path: Path, data: bytes) -> None:
        if written:
            raise OSError("disk full")
        written.append(path.name)
        real_write(path, data)

    monkeypatch.setattr(bundle_module, "_write_synced", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_bundle(out, defect_manifest_fields(), {"press.onnx": b"graph"})
    assert written == ["press.onnx"]
    assert list(tmp_path.iterdir()) == []


def test_failed_replacement_keeps_the_previous_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "bundle"
    write_bundle(out, defect_manifest_fields("1.0.0"), {"press.onnx": b"one"})

    def fail(path: Path, data: bytes) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(bundle_module, "_write_synced", fail)
    with pytest.raises(OSError, match="disk full"):
        write_bundle(out, defect_manifest_fields("2.0.0"), {"press.onnx": b"two"})
    assert load_manifest(out).version == "1.0.0"
    assert (out / "press.onnx").read_bytes() == b"one"
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]


def test_replacing_a_bundle(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(out, defect_manifest_fields("1.0.0"), {"press.onnx": b"one"})
    manifest = write_bundle(out, defect_manifest_fields("2.0.0"), {"press.onnx": b"two"})
    assert load_manifest(out) == manifest
    assert manifest.version == "2.0.0"
    assert manifest.files["press.onnx"] == hashlib.sha256(b"two").hexdigest()
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["version"] == "2.0.0"


def test_invalid_manifest_is_never_written(tmp_path: Path) -> None:
    fields = defect_manifest_fields()
    fields["threshold"] = "high"
    with pytest.raises(ManifestError, match="threshold"):
        write_bundle(tmp_path / "bundle", fields, {"press.onnx": b"x"})
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_replace_a_directory_that_is_not_a_bundle(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(BundleWriteError, match="not a model bundle"):
        write_bundle(out, defect_manifest_fields(), {"press.onnx": b"x"})
    assert os.listdir(out) == ["notes.txt"]
