"""The image scoring use case (edgeloop.service_layer.image_scoring) with real parts: a real ONNX
graph in onnxruntime (tests/support/image_bundles.py's tiny two-class model), the SQLite
outbox, the Pillow decoder, the demo compliance policy.

A batch is one graph call; each image gets its insight, derived results only (no pixel, no
file name), which the wire checks and the compliance policy let through; a bad upload
refuses the whole request, naming the file, and nothing is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pytest
from support.bundles import build_defect_bundle
from support.image_bundles import tiny_image_bundle
from support.image_files import encoded, uniform

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.domain.compliance import PolicyEngine
from edgeloop.domain.images import ImageBounds, ImageSource, InvalidImages, NotAnImageModel, UploadedImage
from edgeloop.domain.records import InsightRecord, record_from_wire
from edgeloop.service_layer.image_scoring import ImageScoringService
from tools.example_models import REPO_ROOT

SITE = "site-vision"


class CountingModel:
    """The real model, counting its graph calls (the only thing added to it)."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        self.manifest = model.manifest
        self.sha256 = model.sha256
        self.execution_providers = model.execution_providers
        self.calls: list[int] = []

    def predict(self, columns: Any) -> dict[str, npt.NDArray[np.float64]]:
        return self.model.predict(columns)

    def predict_images(self, batch: npt.NDArray[Any]) -> dict[str, npt.NDArray[np.float64]]:
        self.calls.append(len(batch))
        return self.model.predict_images(batch)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_image_bundle(tmp_path_factory.mktemp("tiny-vision") / "bundle")


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[SqliteOutbox]:
    box = SqliteOutbox(tmp_path / "outbox.sqlite3", 1000)
    yield box
    box.close()


@pytest.fixture
def model(bundle: Path) -> CountingModel:
    return CountingModel(OnnxModel.load(bundle))


def service(outbox: SqliteOutbox, model: Any, bounds: ImageBounds | None = None) -> ImageScoringService:
    return ImageScoringService(outbox, SITE, lambda: model, PillowDecoder(), bounds or ImageBounds())


def numbers(node: Any) -> list[float]:
    """Every number in a decoded JSON value, however deep."""
    if isinstance(node, dict):
        return [number for child in node.values() for number in numbers(child)]
    if isinstance(node, list):
        return [number for child in node for number in numbers(child)]
    return [node] if isinstance(node, int | float) and not isinstance(node, bool) else []


def insights(outbox: SqliteOutbox) -> list[dict[str, Any]]:
    return sorted(outbox.recent("insight", 100), key=lambda record: record["insight_id"])


def test_a_batch_of_frames_is_one_graph_call_and_one_insight_each(
    outbox: SqliteOutbox, model: CountingModel
) -> None:
    frames = [uniform(230), uniform(20), uniform(128, size=40), uniform(240, size=5)]
    scored = service(outbox, model).score_frames(frames, ImageSource.camera("cam-7"))
    assert model.calls == [4]
    assert [image.prediction for image in scored.images] == ["bright", "dark", "bright", "bright"]
    # dark is an alert class; a mid-grey frame is unsure (min_confidence 0.9)
    assert [image.anomaly_kinds for image in scored.images] == [(), ("alert_class",), ("low_confidence",), ()]
    records = insights(outbox)
    assert [record["insight_id"] for record in records] == [image.insight_id for image in scored.images]
    assert outbox.depth() == 4
    first = records[0]
    assert first["inputs"] == {}
    assert first["context"] == {"source": "camera", "camera_id": "cam-7"}
    assert first["model"]["task"] == "multiclass"
    assert first["prediction"] == "bright"
    assert set(first["outputs"]) == {"p_bright", "p_dark"}
    answer = scored.response()["results"][1]
    assert answer["probabilities"]["dark"] == pytest.approx(1.0, abs=1e-3)
    assert "file_name" not in answer


def test_insights_carry_no_pixels_and_pass_the_wire_and_the_compliance_policy(
    outbox: SqliteOutbox, model: CountingModel
) -> None:
    canary = np.full((8, 8, 3), (201, 13, 177), dtype=np.uint8)  # a colour no output could spell
    service(outbox, model).score_frames([canary], ImageSource.camera("cam-1"))
    [record] = insights(outbox)
    assert len(orjson.dumps(record)) < 1000
    # The schema version, and probabilities: not one pixel value (201, 13, 177) anywhere.
    assert all(0.0 <= number <= 1.0 for number in numbers(record))
    parsed = record_from_wire(record)
    assert isinstance(parsed, InsightRecord)
    policy = PolicyEngine(load_compliance_policy(REPO_ROOT / "policies" / "compliance.yaml"), b"k" * 32)
    decision = policy.decide(record)
    assert decision.record == record  # nothing of it needed dropping: all derived, all allowed


def test_uploads_are_decoded_scored_and_named_in_the_answer_not_in_the_insights(
    outbox: SqliteOutbox, model: CountingModel
) -> None:
    files = [
        UploadedImage("line-3/part 17.png", "image/png", encoded(uniform(250, 16))),
        UploadedImage("dark.jpg", "image/jpeg", encoded(uniform(10, 16), "JPEG")),
    ]
    scored = service(outbox, model).score_uploads(files)
    assert [(image.file_name, image.prediction) for image in scored.images] == [
        ("line-3/part 17.png", "bright"),
        ("dark.jpg", "dark"),
    ]
    assert model.calls == [2]
    records = insights(outbox)
    assert [record["context"] for record in records] == [{"source": "upload"}] * 2
    assert b"part 17" not in orjson.dumps(records)


def test_one_bad_upload_refuses_them_all_naming_each_and_records_nothing(
    outbox: SqliteOutbox, model: CountingModel
) -> None:
    good = encoded(np.random.default_rng(1).integers(0, 256, size=(32, 32, 3), dtype=np.uint8))
    files = [
        UploadedImage("a.png", "image/png", good),
        UploadedImage("b.png", "image/png", good[: len(good) // 2]),  # truncated in its pixels
        UploadedImage("c.txt", "text/plain", b"hello"),
    ]
    with pytest.raises(InvalidImages) as refused:
        service(outbox, model).score_uploads(files)
    assert [(p.index, p.file_name, p.kind) for p in refused.value.problems] == [
        (1, "b.png", "undecodable"),
        (2, "c.txt", "unsupported_type"),
    ]
    assert model.calls == []
    assert outbox.depth() == 0


def test_more_images_than_the_bound_are_refused(outbox: SqliteOutbox, model: CountingModel) -> None:
    images = service(outbox, model, ImageBounds(max_images=2))
    with pytest.raises(InvalidImages, match="at most 2 images"):
        images.score_frames([uniform(1)] * 3, ImageSource.camera("cam-1"))
    with pytest.raises(InvalidImages, match="at most 2 images"):
        images.score_uploads([UploadedImage("x.png", None, b"")] * 3)
    assert outbox.depth() == 0


def test_no_frames_record_nothing(outbox: SqliteOutbox, model: CountingModel) -> None:
    scored = service(outbox, model).score_frames([], ImageSource.camera("cam-1"))
    assert scored.images == ()
    assert outbox.depth() == 0


def test_a_model_of_rows_takes_no_images(outbox: SqliteOutbox, tmp_path: Path) -> None:
    rows_model = OnnxModel.load(build_defect_bundle(tmp_path / "defect"))
    with pytest.raises(NotAnImageModel, match="takes rows"):
        service(outbox, rows_model).score_frames([uniform(1)], ImageSource.camera("cam-1"))
    with pytest.raises(NotAnImageModel):  # before a file is looked at
        service(outbox, rows_model).score_uploads([UploadedImage("x.pdf", None, b"%PDF")])
