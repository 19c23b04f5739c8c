"""One contract for every InsightStore adapter (SQLite, Cosmos DB): see conftest.py for which run."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from insight_factory import T0, feedback, insight, new_batch_id

from edgeloop.domain.insights_view import Counts, InsightQuery
from edgeloop.ports import InsightStore


def _all_pages(store: InsightStore, query: InsightQuery) -> list[str]:
    ids: list[str] = []
    for _ in range(1000):  # bounded: a broken cursor must not loop forever
        page = store.query(query)
        ids += [item.record.insight_id for item in page.items]
        if page.next_after is None:
            return ids
        query = replace(query, after=page.next_after)
    raise AssertionError("paging did not end")


def test_upserted_insight_reads_back_equal(store: InsightStore) -> None:
    record = insight(anomaly=True, risk=0.93)
    store.upsert([record])
    stored = store.get("site-a", record.insight_id)
    assert stored is not None
    assert stored.record == record
    assert stored.feedback is None
    assert store.get("site-a", "0" * 32 + "-00000") is None


def test_redelivery_never_duplicates(store: InsightStore) -> None:
    batch = new_batch_id()
    records = [insight(row=i, batch=batch, anomaly=i % 4 == 0) for i in range(40)]
    store.upsert(records)
    store.upsert(records)
    store.upsert(records[:10])
    assert len(_all_pages(store, InsightQuery(limit=100))) == 40
    [stats] = store.site_stats(None, None)
    assert stats.counts == Counts(scored=40, anomalies=10)


def test_feedback_joins_its_insight(store: InsightStore) -> None:
    hit, miss = insight(row=0, anomaly=True), insight(row=1, anomaly=True)
    store.upsert([hit, miss, feedback(hit, 1), feedback(miss, 0)])
    joined = store.get("site-a", hit.insight_id)
    assert joined is not None
    assert joined.feedback is not None
    assert joined.feedback.label == 1
    [stats] = store.site_stats(None, None)
    assert stats.counts == Counts(scored=2, anomalies=2, feedback=2, feedback_correct=1, feedback_judged=2)
    assert stats.feedback_accuracy == 0.5


def test_feedback_may_arrive_before_its_insight(store: InsightStore) -> None:
    record = insight(anomaly=False)
    early = feedback(record, 0)
    store.upsert([early])
    assert store.get("site-a", record.insight_id) is None
    assert store.site_stats(None, None) == []
    store.upsert([early])  # redelivered while still pending
    store.upsert([record])
    joined = store.get("site-a", record.insight_id)
    assert joined is not None
    assert joined.feedback is not None
    assert joined.feedback.feedback_id == early.feedback_id
    [stats] = store.site_stats(None, None)
    assert stats.counts == Counts(scored=1, anomalies=0, feedback=1, feedback_correct=1, feedback_judged=1)


def test_latest_feedback_wins_whatever_the_order(store: InsightStore) -> None:
    record = insight(anomaly=True)
    first = feedback(record, 0, at=T0 + timedelta(minutes=1))
    second = feedback(record, 1, at=T0 + timedelta(minutes=9))
    store.upsert([record, second])
    store.upsert([first])  # older, delivered late: loses
    stored = store.get("site-a", record.insight_id)
    assert stored is not None
    assert stored.feedback is not None
    assert stored.feedback.label == 1
    [stats] = store.site_stats(None, None)
    assert stats.counts == Counts(scored=1, anomalies=1, feedback=1, feedback_correct=1, feedback_judged=1)


def test_a_corrected_insight_moves_the_counts(store: InsightStore) -> None:
    record = insight(anomaly=False)
    store.upsert([record])
    other = insight(anomaly=True, version="1.1.0", at=T0 + timedelta(hours=2))
    corrected = replace(other, insight_id=record.insight_id)
    store.upsert([corrected])
    [stats] = store.site_stats(None, None)
    assert stats.counts == Counts(scored=1, anomalies=1)
    assert stats.model_versions == ("failure-risk 1.1.0",)
    assert [(r.hour, r.scored) for r in store.hourly_rates(None, None)] == [(T0 + timedelta(hours=2), 1)]


def test_query_filters_and_orders_newest_first(store: InsightStore) -> None:
    a_old = insight("site-a", at=T0)
    a_new = insight("site-a", at=T0 + timedelta(hours=1), anomaly=True)
    b_mid = insight("site-b", at=T0 + timedelta(minutes=30), anomaly=True)
    store.upsert([a_old, a_new, b_mid])

    def ids(query: InsightQuery) -> list[str]:
        return [item.record.insight_id for item in store.query(query).items]

    assert ids(InsightQuery()) == [a_new.insight_id, b_mid.insight_id, a_old.insight_id]
    assert ids(InsightQuery(site_id="site-a")) == [a_new.insight_id, a_old.insight_id]
    assert ids(InsightQuery(anomalies_only=True)) == [a_new.insight_id, b_mid.insight_id]
    window = InsightQuery(start=T0 + timedelta(minutes=30), end=T0 + timedelta(hours=1))
    assert ids(window) == [b_mid.insight_id]  # start inclusive, end exclusive
    assert ids(InsightQuery(site_id="site-c")) == []


def test_cursor_paging_visits_every_insight_once_even_with_equal_timestamps(store: InsightStore) -> None:
    batch = new_batch_id()
    same_instant = [insight("site-a", row=i, batch=batch, at=T0) for i in range(23)]
    others = [insight("site-b", row=i, at=T0 + timedelta(seconds=i)) for i in range(11)]
    store.upsert(same_instant + others)
    seen = _all_pages(store, InsightQuery(limit=5))
    assert len(seen) == 34
    assert set(seen) == {r.insight_id for r in same_instant + others}
    anomalies = _all_pages(store, InsightQuery(limit=5, anomalies_only=True))
    assert anomalies == []


def test_site_stats_and_hourly_rates_per_site_and_model(store: InsightStore) -> None:
    records = [
        insight("site-a", at=T0, anomaly=True),
        insight("site-a", at=T0 + timedelta(minutes=10)),
        insight("site-a", at=T0 + timedelta(hours=1), version="2.0.0"),
        insight("site-b", at=T0 + timedelta(hours=3), anomaly=True),
    ]
    store.upsert(records)
    stats = {s.site_id: s for s in store.site_stats(None, None)}
    assert stats["site-a"].counts == Counts(scored=3, anomalies=1)
    assert stats["site-a"].model_versions == ("failure-risk 1.0.0", "failure-risk 2.0.0")
    assert stats["site-b"].anomaly_rate == 1.0
    # Ranges widen to whole hours: 12:30-13:30 covers the 12:00 and 13:00 hours.
    window = store.site_stats(T0 + timedelta(minutes=30), T0 + timedelta(hours=1, minutes=30))
    assert [(s.site_id, s.counts.scored) for s in window] == [("site-a", 3)]
    rates = [(r.site_id, r.hour, r.scored, r.anomalies) for r in store.hourly_rates(None, None)]
    assert rates == [
        ("site-a", T0, 2, 1),
        ("site-a", T0 + timedelta(hours=1), 1, 0),
        ("site-b", T0 + timedelta(hours=3), 1, 1),
    ]


def test_a_large_multi_site_batch_is_written_whole(store: InsightStore) -> None:
    batch = new_batch_id()
    records = [
        insight(f"site-{i % 3}", row=i, batch=batch, at=T0 + timedelta(minutes=i), anomaly=i % 5 == 0)
        for i in range(150)
    ]
    store.upsert(records + [feedback(r, 1) for r in records[:30]])
    stats = {s.site_id: s.counts for s in store.site_stats(None, None)}
    assert sum(c.scored for c in stats.values()) == 150
    assert sum(c.anomalies for c in stats.values()) == 30
    assert sum(c.feedback for c in stats.values()) == 30
    assert len(_all_pages(store, InsightQuery(limit=100))) == 150
