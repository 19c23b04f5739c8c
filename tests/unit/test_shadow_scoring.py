"""Shadow scoring with real bundles (two defect models) and a real SQLite outbox: the answer is the
champion's, the shadow's outputs become shadow insights, a full queue drops and counts, a failing
shadow model changes nothing of the answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.bundles import build_defect_bundle, valid_rows

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.domain.records import SHADOW_INSIGHT_KIND, record_from_wire
from edgeloop.domain.shadow_records import ShadowInsightRecord
from edgeloop.domain.validation import FeatureColumns
from edgeloop.service_layer.scoring import Evaluation, ScoringService, evaluate
from edgeloop.service_layer.shadow_scoring import ShadowScorer, ShadowSlot
from scoring_app.decoding.score_body import validated_columns

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[OnnxModel, OnnxModel]:
    root = tmp_path_factory.mktemp("shadow-bundles")
    champion = OnnxModel.load(build_defect_bundle(root / "a", version="0.1.0", seed=3))
    challenger = OnnxModel.load(build_defect_bundle(root / "b", version="0.2.0", seed=11))
    return champion, challenger


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[SqliteOutbox]:
    box = SqliteOutbox(tmp_path / "outbox.sqlite3", capacity=10_000)
    yield box
    box.close()


def service(outbox: SqliteOutbox, scorer: ShadowScorer) -> ScoringService:
    ids = iter(f"{n:032x}" for n in range(1, 1000))
    return ScoringService(
        outbox, "site-a", clock=lambda: NOW, batch_ids=lambda: next(ids), shadow=scorer.offer
    )


def shadows(outbox: SqliteOutbox) -> list[ShadowInsightRecord]:
    records = [record_from_wire(raw) for raw in reversed(outbox.recent(SHADOW_INSIGHT_KIND, 1000))]
    assert all(isinstance(record, ShadowInsightRecord) for record in records)
    return records  # type: ignore[return-value]


def test_shadow_insights_reference_the_answer_and_carry_derived_outputs_only(
    models: tuple[OnnxModel, OnnxModel], outbox: SqliteOutbox
) -> None:
    champion, challenger = models
    scorer = ShadowScorer(outbox, "site-a", ShadowSlot(challenger)).start()
    rows = valid_rows(champion.manifest, 5)
    rows[0]["operator"] = "j.smith"
    scored = service(outbox, scorer).score(champion, validated_columns(champion.manifest, rows))
    scorer.drain()
    scorer.stop()
    assert scored.model_version == "0.1.0"  # the answer is the champion's
    records = shadows(outbox)
    assert [r.insight_id for r in records] == [r["insight_id"] for r in scored.results]
    expected = evaluate(challenger, validated_columns(champion.manifest, rows))
    assert [r.anomaly for r in records] == expected.anomaly
    assert all(r.model.version == "0.2.0" and r.served.version == "0.1.0" for r in records)
    assert [r.served.anomaly for r in records] == [r["anomaly"] for r in scored.results]
    wire = records[0].to_wire()
    assert "inputs" not in wire
    assert "context" not in wire
    assert "j.smith" not in str(wire)
    assert scorer.stats().rows == 5
    assert scorer.stats().dropped_rows == 0


def test_a_full_queue_drops_rows_and_counts_them_without_waiting(
    models: tuple[OnnxModel, OnnxModel], outbox: SqliteOutbox
) -> None:
    champion, challenger = models
    release = threading.Event()

    def blocked(model: OnnxModel, columns: FeatureColumns) -> Evaluation:
        release.wait(30)  # a test double: a shadow model that takes as long as the test wants
        return evaluate(model, columns)

    scorer = ShadowScorer(outbox, "site-a", ShadowSlot(challenger), capacity=2, score=blocked).start()
    scoring = service(outbox, scorer)
    rows = validated_columns(champion.manifest, valid_rows(champion.manifest, 3))
    for _ in range(6):  # what the worker took, two queued, the rest dropped
        scoring.score(champion, rows)
    stats = scorer.stats()
    assert stats.queued <= 2
    assert stats.dropped_rows >= 2 * 3  # at most two taken by the worker and two queued
    assert outbox.depth() == 6 * 3  # every answer's insights were committed all the same
    release.set()
    scorer.drain()
    scorer.stop()
    final = scorer.stats()
    assert final.rows + final.dropped_rows == 6 * 3
    assert len(shadows(outbox)) == final.rows


def test_a_failing_shadow_model_changes_nothing_of_the_answer(
    models: tuple[OnnxModel, OnnxModel], outbox: SqliteOutbox
) -> None:
    champion, challenger = models

    def broken(model: OnnxModel, columns: FeatureColumns) -> Evaluation:
        raise RuntimeError("shadow graph failed")  # a test double: onnxruntime failing mid-run

    rows = validated_columns(champion.manifest, valid_rows(champion.manifest, 4))
    plain = evaluate(champion, rows)
    scorer = ShadowScorer(outbox, "site-a", ShadowSlot(challenger), score=broken).start()
    scoring = service(outbox, scorer)
    scored = scoring.score(champion, rows)
    scorer.drain()
    assert [r["anomaly"] for r in scored.results] == plain.anomaly
    assert scorer.stats().failed_rows == 4
    assert "shadow graph failed" in (scorer.stats().last_error or "")
    scored_again = scoring.score(champion, rows)  # the worker lives on
    scorer.drain()
    scorer.stop()
    assert len(scored_again.results) == 4
    assert shadows(outbox) == []


def test_no_shadow_model_means_nothing_is_queued(
    models: tuple[OnnxModel, OnnxModel], outbox: SqliteOutbox
) -> None:
    champion, _ = models
    slot = ShadowSlot()
    scorer = ShadowScorer(outbox, "site-a", slot).start()
    service(outbox, scorer).score(
        champion, validated_columns(champion.manifest, valid_rows(champion.manifest, 2))
    )
    scorer.drain()
    scorer.stop()
    assert scorer.stats().batches == 0
    assert scorer.stats().dropped_rows == 0
    assert shadows(outbox) == []
