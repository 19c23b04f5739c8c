"""bench/vision_bench.py: the API (a real scoring app process) and onnxruntime both measured on the
same model and batch size, and its figure. Rates are only checked to exist (no timed assertion)."""

from __future__ import annotations

from bench import vision_bench


def test_the_api_and_onnxruntime_are_both_measured() -> None:
    rates = vision_bench.measure(seconds=0.4, rounds=1, batch=2)
    assert rates.batch == 2
    assert rates.api_frames_per_s > 0
    assert rates.onnxruntime_frames_per_s > 0
    (figure,) = vision_bench.figures(rates)
    assert figure.key == "vision_api"
    assert figure.unit == "x"
    assert figure.value == rates.api_frames_per_s / rates.onnxruntime_frames_per_s
