"""ScoringService and FeedbackService (and the request grouping in front of scoring) with the real
demo model and a real SQLite outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from support.bundles import build_defect_bundle, demo_bundle, valid_rows

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.domain.problems import InvalidInput
from edgeloop.domain.records import InsightRecord, record_from_wire
from edgeloop.domain.validation import FeatureColumns
from edgeloop.ports import OutboxFull
from edgeloop.service_layer.feedback import FeedbackItem, FeedbackService, UnknownInsights, recent_scorings
from edgeloop.service_layer.scored_rows import ScoredRows
from edgeloop.service_layer.scoring import ModelHolder, ScoringService, evaluate
from edgeloop.wire.insight_columns import expand_items
from edgeloop.wire.packing import MAX_ITEM_BYTES
from scoring_app.decoding.envelope import rows_of
from scoring_app.decoding.feedback_body import feedback_items
from scoring_app.decoding.score_body import ScoreBodyReader, validated_columns
from scoring_app.grouping import RequestGrouper

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> OnnxModel:
    return OnnxModel.load(demo_bundle(tmp_path_factory.mktemp("bundle")))


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[SqliteOutbox]:
    box = SqliteOutbox(tmp_path / "outbox.sqlite3", capacity=100)
    yield box
    box.close()


def make_service(outbox: SqliteOutbox) -> ScoringService:
    ids = iter(f"{n:032x}" for n in range(1, 1000))
    return ScoringService(outbox, "site-a", clock=lambda: NOW, batch_ids=lambda: next(ids))


def columns(model: OnnxModel, rows: list[dict[str, object]]) -> FeatureColumns:
    return validated_columns(model.manifest, rows)


def body(rows: list[dict[str, object]]) -> bytes:
    return orjson.dumps({"rows": rows})


def stored(outbox: SqliteOutbox) -> list[InsightRecord]:
    records = [record_from_wire(raw) for raw in reversed(outbox.recent("insight", 1000))]
    assert all(isinstance(r, InsightRecord) for r in records)
    return records  # type: ignore[return-value]


def test_score_records_every_row_as_a_wire_insight(model: OnnxModel, outbox: SqliteOutbox) -> None:
    rows = valid_rows(model.manifest, 3)
    rows[1]["notes"] = "spindle noisy"
    scored = make_service(outbox).score(model, columns(model, rows))
    assert scored.batch_id == f"{1:032x}"
    assert [r["insight_id"] for r in scored.results] == [f"{scored.batch_id}-{i:05d}" for i in range(3)]
    records = stored(outbox)
    assert [r.insight_id for r in records] == [r["insight_id"] for r in scored.results]
    assert records[1].context == {"notes": "spindle noisy"}
    assert records[0].context == {}
    assert all(r.scored_at == NOW and r.site_id == "site-a" for r in records)
    assert records[2].inputs == {k: rows[2][k] for k in model.manifest.feature_names}
    assert outbox.depth() == 3


def test_score_many_isolates_a_bad_request(model: OnnxModel, outbox: SqliteOutbox) -> None:
    good_a, good_b = valid_rows(model.manifest, 2, seed=1), valid_rows(model.manifest, 1, seed=2)
    bad = valid_rows(model.manifest, 2, seed=3)
    bad[1]["torque_nm"] = "high"
    grouper = RequestGrouper(make_service(outbox), ModelHolder(model), ScoreBodyReader(10))
    outcomes = grouper.score_group([body(good_a), body(bad), body(good_b)])
    assert isinstance(outcomes[1], InvalidInput)
    assert [(p.row, p.field) for p in outcomes[1].problems] == [(1, "torque_nm")]
    first, last = outcomes[0], outcomes[2]
    assert isinstance(first, ScoredRows)
    assert isinstance(last, ScoredRows)
    # One outbox batch; the later request's rows are numbered after the earlier one's.
    assert [r["insight_id"][-5:] for r in first.results + last.results] == ["00000", "00001", "00002"]
    assert first.batch_id == last.batch_id
    assert outbox.depth() == 3
    assert [r.insight_id for r in stored(outbox)] == [r["insight_id"] for r in first.results + last.results]


def test_batched_results_equal_single_results(model: OnnxModel, outbox: SqliteOutbox) -> None:
    rows = valid_rows(model.manifest, 6, seed=4)
    service = make_service(outbox)
    together = service.score_many(model, [columns(model, rows[:2]), columns(model, rows[2:])])
    alone = service.score(model, columns(model, rows[2:]))
    assert isinstance(together[1], ScoredRows)
    risk = model.manifest.risk_output
    assert [r[risk] for r in together[1].results] == pytest.approx([r[risk] for r in alone.results])


def test_full_outbox_refuses_and_records_nothing(model: OnnxModel, tmp_path: Path) -> None:
    small = SqliteOutbox(tmp_path / "small.sqlite3", capacity=2)
    with pytest.raises(OutboxFull):
        make_service(small).score(model, columns(model, valid_rows(model.manifest, 3)))
    assert small.depth() == 0
    small.close()


@pytest.mark.parametrize(
    ("body", "field"),
    [(None, None), ({"rows": 1}, "rows"), ({"rows": []}, "rows"), ({}, "rows"), ({"rows": [], "x": 1}, "x")],
)
def test_rows_of_refuses_bad_shapes(body: object, field: str | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        rows_of(body, 10)
    assert caught.value.problems[0].field == field


def test_model_swap_applies_to_the_next_request(
    model: OnnxModel, outbox: SqliteOutbox, tmp_path: Path
) -> None:
    other = OnnxModel.load(build_defect_bundle(tmp_path / "defect", version="9.9.9"))
    holder = ModelHolder(model)
    grouper = RequestGrouper(ScoringService(outbox, "site-a"), holder, ScoreBodyReader(10))
    [before] = grouper.score_group([body(valid_rows(model.manifest, 1))])
    assert holder.swap(other) is model
    [after] = grouper.score_group([body(valid_rows(other.manifest, 1))])
    assert isinstance(before, ScoredRows)
    assert isinstance(after, ScoredRows)
    assert (before.model_version, after.model_version) == (model.manifest.version, "9.9.9")
    assert "defect_risk" in after.results[0]


def test_feedback_all_or_nothing_and_recent_view(model: OnnxModel, outbox: SqliteOutbox) -> None:
    scored = make_service(outbox).score(model, columns(model, valid_rows(model.manifest, 2)))
    first, second = (r["insight_id"] for r in scored.results)
    feedback = FeedbackService(outbox, "site-a", serving_task=lambda: model.manifest.task, clock=lambda: NOW)
    with pytest.raises(UnknownInsights) as caught:
        feedback.record([FeedbackItem(first, 1), FeedbackItem("f" * 32 + "-00000", 0)])
    assert [(p.row, p.field) for p in caught.value.problems] == [(1, "insight_id")]
    assert outbox.depth() == 2
    receipt = feedback.record([FeedbackItem(first, 1)])
    assert len(receipt.feedback_ids) == 1
    assert outbox.depth() == 3
    view = {s.insight_id: s.feedback for s in recent_scorings(outbox, 10)}
    assert view == {first: 1, second: None}


@pytest.mark.parametrize(
    "body",
    [
        {"items": []},
        {"items": [{"insight_id": "x", "label": 1}]},
        {"items": [{"insight_id": "0" * 32 + "-00001", "label": True}]},
    ],
)
def test_feedback_refuses_malformed_items(model: OnnxModel, outbox: SqliteOutbox, body: object) -> None:
    task = model.manifest.task
    with pytest.raises(InvalidInput):
        FeedbackService(outbox, "site-a", serving_task=lambda: task).record(feedback_items(body, task))
    assert outbox.depth() == 0


@pytest.mark.parametrize(
    ("item", "field"),
    [(FeedbackItem("x", 1), "insight_id"), (FeedbackItem("0" * 32 + "-00001", True), "label")],
)
def test_feedback_service_checks_typed_items_itself(
    model: OnnxModel, outbox: SqliteOutbox, item: FeedbackItem, field: str
) -> None:
    """The form passes items without a body: the service still refuses a malformed one."""
    with pytest.raises(InvalidInput) as caught:
        FeedbackService(outbox, "site-a", serving_task=lambda: model.manifest.task).record([item])
    assert [(p.row, p.field) for p in caught.value.problems] == [(0, field)]
    assert outbox.depth() == 0


def test_column_documents_stand_for_the_record_dicts(model: OnnxModel, outbox: SqliteOutbox) -> None:
    """Recording insights as columns (edgeloop.wire.insight_columns) changes no record downstream."""
    rows = valid_rows(model.manifest, 40, seed=3)
    rows[2] |= {"product_id": 'M"14%s', "operator": "Zoë", "notes": "a},{b\nc"}
    evaluation = evaluate(model, columns(model, rows))
    scored = evaluation.scored_rows("f" * 32, offset=7)
    manifest = model.manifest
    expected = [
        {
            "kind": "insight",
            "schema_version": 1,
            "site_id": "site-%a",
            "scored_at": "2026-05-01T12:00:00.000000Z",
            "model": {"name": manifest.name, "version": manifest.version, "sha256": model.sha256},
            "insight_id": result["insight_id"],
            "inputs": {
                name: float(row[name]) if isinstance(row[name], int | float) else row[name]
                for name in manifest.feature_names
            },
            "outputs": {name: result[name] for name in manifest.output_names},
            "anomaly": result["anomaly"],
            "anomaly_kinds": list(result["anomaly_kinds"]),
            "context": {k: row[k] for k in ("product_id", "operator", "notes") if k in row},
        }
        for row, result in zip(rows, scored.results, strict=True)
    ]
    assert scored.results[0]["insight_id"] == f"{'f' * 32}-00007"
    documents = evaluation.insights("site-%a", NOW, "f" * 32, offset=7).documents(MAX_ITEM_BYTES)
    assert [count for _, count in documents] == [40]
    assert expand_items([orjson.loads(document) for document, _ in documents]) == expected
