"""bench/vision_bench.py: the API (a real scoring app process), score_frames and onnxruntime all
measured on the same model and batch size, and their figures. Rates are only checked to exist
(no timed assertion)."""

from __future__ import annotations

from bench import vision_bench


def test_the_api_score_frames_and_onnxruntime_are_all_measured() -> None:
    rates = vision_bench.measure(seconds=0.4, rounds=1, batch=2)
    assert rates.batch == 2
    assert rates.api_frames_per_s > 0
    assert rates.frames_path_per_s > 0
    assert rates.onnxruntime_frames_per_s > 0
    api, frames = vision_bench.figures(rates)
    assert (api.key, frames.key) == ("vision_api", "vision_frames")
    assert api.unit == frames.unit == "x"
    assert api.value == rates.api_frames_per_s / rates.onnxruntime_frames_per_s
    assert frames.value == rates.frames_path_per_s / rates.onnxruntime_frames_per_s
