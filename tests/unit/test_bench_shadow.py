"""bench/shadow_bench.py: shadow on and off measured on the same model and rows, and its figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from support.bundles import build_defect_bundle, valid_rows
from support.image_bundles import tiny_image_bundle

from bench import shadow_bench
from bench.rows import batches
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.domain.validation import validate_rows


def test_shadow_on_and_off_are_both_measured(tmp_path: Path) -> None:
    model = OnnxModel.load(build_defect_bundle(tmp_path / "a"), intra_op_threads=1)
    shadow = OnnxModel.load(build_defect_bundle(tmp_path / "b", version="0.2.0"), intra_op_threads=1)
    rows = valid_rows(model.manifest, 200)
    columns = [validate_rows(model.manifest, batch) for batch in batches(rows, 50, 4)]
    cost = shadow_bench.measure_cost(model, shadow, columns, tmp_path, 0.4, 4, queue=4)
    assert cost.rows == 50
    assert cost.off_rows_per_s > 0
    assert cost.on_rows_per_s > 0
    assert 0 < cost.shadowed_share <= 1
    assert cost.offer_us > 0
    (figure,) = shadow_bench.figures("defect 0.1.0", [cost])
    assert figure.key == "shadow_batch"
    assert figure.target == shadow_bench.TARGET
    assert figure.value == cost.ratio > 0


def test_the_camera_path_is_measured_with_an_image_shadow_on_and_off(tmp_path: Path) -> None:
    model = OnnxModel.load(tiny_image_bundle(tmp_path / "a"), intra_op_threads=1)
    shadow = OnnxModel.load(tiny_image_bundle(tmp_path / "b"), intra_op_threads=1)
    frames = [np.full((24, 32, 3), level, np.uint8) for level in range(0, 256, 16)]
    groups = [[frames[i : i + 4], frames[i + 4 : i + 8]] for i in (0, 8)]
    cost = shadow_bench.measure_camera_cost(model, shadow, groups, tmp_path, 0.4, 4, queue=4)
    assert (cost.rows, cost.path) == (8, "camera")
    assert cost.off_rows_per_s > 0
    assert cost.on_rows_per_s > 0
    assert 0 < cost.shadowed_share <= 1
    assert cost.offer_us > 0
    (figure,) = shadow_bench.figures("tiny-vision 1", [cost])
    assert figure.key == "shadow_camera"
    assert "frames/s" in figure.detail
