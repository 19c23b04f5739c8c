"""bench/drift_bench.py: drift on and off measured on the same model and rows, and its figures."""

from __future__ import annotations

from pathlib import Path

from bench import drift_bench, models_bench
from bench.rows import batches
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.domain.validation import validate_rows
from tools.example_models import build_bundle


def test_drift_on_and_off_are_both_measured(tmp_path: Path) -> None:
    build_bundle("tool-life", tmp_path / "tool-life")
    model = OnnxModel.load(tmp_path / "tool-life", intra_op_threads=1)
    assert model.manifest.drift is not None  # training recorded the profile
    rows = models_bench._tool_life_rows()
    columns = [validate_rows(model.manifest, batch) for batch in batches(rows, 50, 4)]
    cost = drift_bench.measure_cost(model, columns, tmp_path, 0.4, 4)
    assert cost.rows == 50
    assert cost.off_rows_per_s > 0
    assert cost.on_rows_per_s > 0
    measured = drift_bench.DriftFigures("tool-life 1", [cost], {50: 1.0}, 0.5)
    (figure,) = drift_bench.figures(measured)
    assert figure.key == "drift_batch"
    assert figure.target == ">= 0.98"
    assert figure.value == cost.ratio > 0
