"""The shadow-insight part of the InsightStore contract, for every adapter (see conftest.py), and the
shadow report read on it."""

from __future__ import annotations

from datetime import timedelta

from insight_factory import MODEL_SHA, T0, feedback, insight

from edgeloop.domain.records import InsightRecord, ModelRef
from edgeloop.domain.shadow_records import ServedOutcome, ShadowInsightRecord
from edgeloop.ports import InsightStore
from edgeloop.service_layer.shadow_report import shadow_report, shadow_summary


def shadow_of(
    champion: InsightRecord, *, anomaly: bool, version: str = "2.0.0", minutes: float = 0
) -> ShadowInsightRecord:
    return ShadowInsightRecord(
        insight_id=champion.insight_id,
        site_id=champion.site_id,
        scored_at=champion.scored_at + timedelta(minutes=minutes),
        model=ModelRef(champion.model.name, version, MODEL_SHA),
        served=ServedOutcome(champion.model.version, champion.anomaly),
        outputs={"risk": 0.9 if anomaly else 0.1},
        anomaly=anomaly,
        anomaly_kinds=("risk",) if anomaly else (),
    )


def test_shadow_insights_read_back_newest_first_with_their_champions_labels(store: InsightStore) -> None:
    champions = [insight(at=T0 + timedelta(minutes=n), anomaly=n % 2 == 0) for n in range(4)]
    store.upsert([*champions, feedback(champions[0], 1)])
    shadows = [shadow_of(c, anomaly=True) for c in champions]
    store.upsert_shadow(shadows)
    store.upsert_shadow(shadows[:2])  # redelivered: kept once
    read = store.shadow_observations("failure-risk", "site-a", 10)
    assert [o.record for o in read] == list(reversed(shadows))
    assert [o.label for o in read] == [None, None, None, 1]
    assert store.shadow_observations("failure-risk", "site-a", 2) == read[:2]
    assert store.shadow_observations("failure-risk", "site-b", 10) == []
    assert store.shadow_observations("other-model", "site-a", 10) == []


def test_feedback_arriving_after_the_shadow_insight_still_joins(store: InsightStore) -> None:
    champion = insight()
    store.upsert([champion])
    store.upsert_shadow([shadow_of(champion, anomaly=False)])
    store.upsert([feedback(champion, 0)])
    (observation,) = store.shadow_observations("failure-risk", "site-a", 10)
    assert observation.label == 0


def test_the_report_per_site_and_the_newest_pair_as_decision_input(store: InsightStore) -> None:
    a = [insight("site-a", at=T0 + timedelta(minutes=n), anomaly=n < 2) for n in range(4)]
    b = [insight("site-b", at=T0, anomaly=True)]
    store.upsert([*a, *b, feedback(a[0], 1), feedback(a[2], 1)])
    store.upsert_shadow([shadow_of(c, anomaly=True) for c in a])  # agrees on a[0], a[1]
    store.upsert_shadow([shadow_of(a[3], anomaly=False, version="3.0.0", minutes=30)])
    store.upsert_shadow([shadow_of(b[0], anomaly=True)])
    report = shadow_report(store, "failure-risk")
    assert [(s.site_id, s.shadow_version, s.rows) for s in report] == [
        ("site-a", "3.0.0", 1),
        ("site-a", "2.0.0", 4),
        ("site-b", "2.0.0", 1),
    ]
    older = report[1]
    assert older.agreement_rate == 0.5
    assert older.labelled == 2
    assert older.served_accuracy == 0.5
    assert older.shadow_accuracy == 1.0
    newest = shadow_summary(store, "failure-risk", "site-a")
    assert newest is not None
    assert newest.shadow_version == "3.0.0"
    named = shadow_summary(store, "failure-risk", "site-a", "2.0.0")
    assert named == older
    assert shadow_summary(store, "failure-risk", "site-c") is None
