"""bench/shadow_bench.py: shadow on and off measured on the same model and rows, and its figures."""

from __future__ import annotations

from pathlib import Path

from support.bundles import build_defect_bundle, valid_rows

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
