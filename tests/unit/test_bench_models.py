"""bench/models_bench.py: both sides measured on the same model's batches, and its figure."""

from __future__ import annotations

from pathlib import Path

from bench import models_bench
from tools.example_models import build_bundle


def test_the_scoring_path_and_onnxruntime_are_both_measured(tmp_path: Path) -> None:
    build_bundle("tool-life", tmp_path / "tool-life")
    rates = models_bench.measure_model(tmp_path / "tool-life", models_bench._tool_life_rows(), 0.2, 2)
    assert rates.model == "tool-life"
    assert rates.task == "regression"
    assert rates.service_rows_per_s > 0
    assert rates.onnxruntime_rows_per_s > 0
    (figure,) = models_bench.figures([rates])
    assert figure.key == "models_regression"
    assert figure.unit == "x"
    assert figure.value == rates.service_rows_per_s / rates.onnxruntime_rows_per_s
