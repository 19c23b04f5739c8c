"""The detection task kind end to end on site, with real parts: the manifest's rules (faults named by
field), a real ONNX graph in onnxruntime (tests/support/detection_bundles.py's tiny model, whose
answers are known), thresholding and NMS after it, the SQLite outbox, the wire checks, the demo
compliance policy, the Power BI rows and the feedback's measure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from support.detection_bundles import detection_manifest_dict, quadrant_frame, tiny_detection_bundle
from support.powerbi_records import feedback

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.domain.compliance import PolicyEngine
from edgeloop.domain.detection_task import DetectionTask
from edgeloop.domain.feedback_quality import judge
from edgeloop.domain.images import ImageSource
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.manifest_specs import ManifestError
from edgeloop.domain.powerbi_dataset import PowerBIDataset
from edgeloop.domain.powerbi_rows import rows_for_records
from edgeloop.domain.powerbi_schema import FEEDBACK_TABLE, INSIGHTS_TABLE
from edgeloop.domain.powerbi_tasks import task_columns, task_columns_from_dict
from edgeloop.domain.records import InsightRecord, RecordError, record_from_wire
from edgeloop.service_layer.image_scoring import ImageScoringService
from tools.example_models import REPO_ROOT

SITE = "site-detect"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> OnnxModel:
    return OnnxModel.load(tiny_detection_bundle(tmp_path_factory.mktemp("tiny-detection") / "bundle"))


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[SqliteOutbox]:
    box = SqliteOutbox(tmp_path / "outbox.sqlite3", 1000)
    yield box
    box.close()


def scored_records(outbox: SqliteOutbox, model: OnnxModel, frames: list[Any]) -> list[dict[str, Any]]:
    ImageScoringService(outbox, SITE, lambda: model, PillowDecoder()).score_frames(
        frames, ImageSource.camera("cam-2")
    )
    return sorted(outbox.recent("insight", 100), key=lambda record: record["insight_id"])


def test_the_manifest_s_detection_task_is_parsed_with_its_thresholds() -> None:
    task = ModelManifest.from_dict(detection_manifest_dict()).task
    assert isinstance(task, DetectionTask)
    assert task.classes == ("stain", "glare")
    assert task.prediction_outputs == ("boxes", "classes", "scores")
    assert (task.score_threshold, task.iou_threshold, task.max_detections) == (0.5, 0.45, 4)
    assert ModelManifest.from_dict(ModelManifest.from_dict(detection_manifest_dict()).to_dict()).task == task


@pytest.mark.parametrize(
    ("task", "field"),
    [
        ({"boxes_output": "corners"}, "task.boxes_output"),
        ({"scores_output": "boxes"}, "task"),
        ({"alert_classes": ["rust"]}, "task.alert_classes[0]"),
        ({"classes": ["stain", "stain"]}, "task.classes"),
        ({"min_confidence": 0.2}, "task.min_confidence"),
        ({"iou_threshold": 0.0}, "task.iou_threshold"),
        ({"max_detections": 0}, "task.max_detections"),
    ],
)
def test_a_bad_detection_task_is_refused_naming_its_field(task: dict[str, Any], field: str) -> None:
    with pytest.raises(ManifestError) as refused:
        ModelManifest.from_dict(detection_manifest_dict(**task))
    assert refused.value.field == field


def test_a_detection_model_must_take_an_image() -> None:
    document = detection_manifest_dict()
    document["inputs"] = [{"name": "torque", "type": "number", "min": 0.0, "max": 1.0}]
    document["onnx_inputs"] = [{"name": "torque", "features": ["torque"], "dtype": "float32"}]
    with pytest.raises(ManifestError, match="takes an image") as refused:
        ModelManifest.from_dict(document)
    assert refused.value.field == "task.kind"


def test_boxes_are_thresholded_suppressed_and_recorded_as_derived_results(
    outbox: SqliteOutbox, model: OnnxModel
) -> None:
    frames = [quadrant_frame(()), quadrant_frame((0,)), quadrant_frame((1, 3), level=60)]
    records = scored_records(outbox, model, frames)
    # Flat on the wire, six values a detection: class, score, x1, y1, x2, y2 (fractions of the input).
    assert [record["prediction"] for record in records] == [
        [],
        ["stain", 1.0, 0.0, 0.0, 0.5, 0.5],
        # 1 - 60/255 = 0.7647: kept (above 0.5), best first (equal: the earlier box), and unsure (< 0.8)
        ["stain", 0.7647, 0.5, 0.0, 1.0, 0.5, "stain", 0.7647, 0.5, 0.5, 1.0, 1.0],
    ]
    assert [record["outputs"] for record in records] == [
        {"count_stain": 0, "count_glare": 0, "uncertain": 0},
        {"count_stain": 1, "count_glare": 0, "uncertain": 0},
        {"count_stain": 2, "count_glare": 0, "uncertain": 2},
    ]
    assert [record["anomaly_kinds"] for record in records] == [
        [],
        ["alert_class"],
        ["alert_class", "low_confidence"],
    ]
    assert records[0]["model"]["task"] == "detection"
    assert records[0]["inputs"] == {}
    parsed = record_from_wire(records[2])
    assert isinstance(parsed, InsightRecord)
    assert parsed.prediction == records[2]["prediction"]
    policy = PolicyEngine(load_compliance_policy(REPO_ROOT / "policies" / "compliance.yaml"), b"k" * 32)
    assert policy.decide(records[2]).record == records[2]  # all derived, all allowed out


def test_the_answer_lists_each_image_s_detections(outbox: SqliteOutbox, model: OnnxModel) -> None:
    scored = ImageScoringService(outbox, SITE, lambda: model, PillowDecoder()).score_frames(
        [quadrant_frame((2,))], ImageSource.camera("cam-2")
    )
    [result] = scored.response()["results"]
    assert result["detections"] == [{"class": "stain", "score": 1.0, "box": [0.0, 0.5, 0.5, 1.0]}]
    assert "prediction" not in result
    assert result["anomaly_kinds"] == ["alert_class"]


def test_candidates_that_are_not_finite_make_an_invalid_image_not_a_crash(model: OnnxModel) -> None:
    task = model.manifest.task
    assert isinstance(task, DetectionTask)
    boxes = np.zeros((2, 1, 4))
    boxes[1, 0, 2] = np.nan
    outputs = {"boxes": boxes, "classes": np.zeros((2, 1)), "scores": np.array([[0.9], [0.9]])}
    detected = task.detect(outputs, 16, 16)
    assert detected.valid == (True, False)
    summaries = task.summaries(detected)
    _, invalid = task.anomaly_masks(summaries)
    assert invalid.tolist() == [False, True]
    assert np.isnan(summaries["count_stain"][1])


def test_a_wire_detection_of_the_wrong_shape_is_refused_naming_it() -> None:
    record = {
        "kind": "insight",
        "schema_version": 1,
        "insight_id": "00000000000000000000000000000007-00007",
        "site_id": "s",
        "scored_at": "2026-01-01T00:00:00.000000Z",
        "model": {"name": "m", "version": "1", "sha256": "ab" * 32, "task": "detection"},
        "inputs": {},
        "outputs": {},
        "anomaly": False,
        "anomaly_kinds": [],
        "prediction": ["stain", 0.9, 0.0, 0.0, 1.0, "x"],
        "context": {},
    }
    with pytest.raises(RecordError) as refused:
        record_from_wire(record)
    assert refused.value.field == "prediction[5]"
    record["prediction"] = ["stain", 0.9, 0.0]
    with pytest.raises(RecordError, match="6 values each") as refused:
        record_from_wire(record)


def test_operators_judge_each_detection_and_power_bi_counts_them(
    outbox: SqliteOutbox, model: OnnxModel
) -> None:
    task = model.manifest.task
    assert task.label_problem("accept,reject") is None
    assert task.label_problem("yes") is not None
    assert task.label_problem(",".join(["accept"] * 5)) is not None  # more than max_detections
    records = scored_records(outbox, model, [quadrant_frame((0, 1))])
    parsed = record_from_wire(records[0])
    assert isinstance(parsed, InsightRecord)
    assert judge(parsed, "accept,reject")[:2] == (2, 1)  # two judged, one right
    dataset = PowerBIDataset.for_manifest(model.manifest)
    tables = rows_for_records([records[0], feedback(7, "accept,reject")], dataset)
    [row] = tables[INSIGHTS_TABLE]
    assert (row["detections"], row["top_class"], row["top_score"]) == (2, "stain", 1.0)
    assert (row["count_stain"], row["count_glare"]) == (2, 0)
    [judged] = tables[FEEDBACK_TABLE]
    assert (judged["accepted"], judged["rejected"]) == (1, 1)
    columns = task_columns(task)
    assert task_columns_from_dict(orjson.loads(orjson.dumps(columns.to_dict())), "task") == columns


def test_the_verdicts_on_the_most_detections_a_manifest_allows_fit_a_feedback_record() -> None:
    label = ",".join(["reject"] * 25)
    task = ModelManifest.from_dict(detection_manifest_dict(max_detections=25)).task
    assert task.label_problem(label) is None
    parsed = record_from_wire(feedback(7, label))
    assert parsed.label == label  # type: ignore[union-attr]
    with pytest.raises(ManifestError) as refused:
        ModelManifest.from_dict(detection_manifest_dict(max_detections=26))
    assert refused.value.field == "task.max_detections"
