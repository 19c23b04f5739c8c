"""Pure rules of the cloud's insight view: hour ranges, winning feedback, counter deltas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contract.insight_factory import T0, feedback, insight

from edgeloop.domain.insights_view import (
    CounterKey,
    Counts,
    IncomingRecords,
    InsightCursor,
    InsightPage,
    StoredFeedback,
    StoredInsight,
    counter_delta,
    hour_range,
    hour_start,
    latest_feedback,
    risk_score,
)


def test_ranges_widen_to_whole_hours() -> None:
    start, end = T0 + timedelta(minutes=30), T0 + timedelta(hours=1, minutes=1)
    assert hour_range(start, end) == ("2024-05-01T12", "2024-05-01T14")
    assert hour_range(T0, T0 + timedelta(hours=1)) == ("2024-05-01T12", "2024-05-01T13")
    assert hour_range(None, None) == (None, None)
    assert hour_start("2024-05-01T07") == datetime(2024, 5, 1, 7, tzinfo=UTC)


def test_the_latest_feedback_wins_in_any_order() -> None:
    early = StoredFeedback("a", 0, T0)
    late = StoredFeedback("b", 1, T0 + timedelta(minutes=1))
    assert latest_feedback(early, late) == latest_feedback(late, early) == late
    assert latest_feedback(None, early) == latest_feedback(early, None) == early


def test_counter_delta_is_zero_for_a_redelivery_and_moves_a_correction() -> None:
    record = insight(anomaly=True)
    delta: dict[CounterKey, Counts] = {}
    counter_delta((record, None), (record, None), delta)
    assert delta == {}
    counter_delta((record, None), (record, StoredFeedback("f", 0, T0)), delta)
    [(key, counts)] = delta.items()
    assert (key.site_id, key.hour) == ("site-a", "2024-05-01T12")
    assert counts == Counts(feedback=1, feedback_correct=0, feedback_judged=1)


def test_risk_score_reads_the_risk_output() -> None:
    assert risk_score({"risk": 0.7, "ood": 3.0}) == 0.7
    assert risk_score({"p": 0.2}) == 0.2
    assert risk_score({"a": 0.1, "b": 0.2}) is None


def test_incoming_records_keep_the_winning_feedback_and_apply_it_to_the_stored_state() -> None:
    record = insight(anomaly=True)
    late = feedback(record, 1, at=T0 + timedelta(minutes=9))
    early = feedback(record, 0, at=T0 + timedelta(minutes=1))
    incoming = IncomingRecords.of([late, record, early])
    assert incoming.insight_ids == [record.insight_id]
    assert incoming.feedback[record.insight_id] == StoredFeedback.of(late)
    assert incoming.feedback_sites == {record.insight_id: record.site_id}
    delta: dict[CounterKey, Counts] = {}
    after = incoming.apply(record.insight_id, (None, None), delta)
    assert after == (record, StoredFeedback.of(late))
    assert list(delta.values()) == [
        Counts(scored=1, anomalies=1, feedback=1, feedback_correct=1, feedback_judged=1)
    ]
    redelivered: dict[CounterKey, Counts] = {}
    assert incoming.apply(record.insight_id, after, redelivered) == after
    assert redelivered == {}


def test_a_page_has_a_cursor_only_when_the_store_found_more() -> None:
    items = (StoredInsight(insight(at=T0)), StoredInsight(insight(at=T0 - timedelta(hours=1))))
    last = items[-1].record
    cursor = InsightCursor(last.scored_at, last.insight_id)
    assert InsightPage.of(items, more=True) == InsightPage(items, cursor)
    assert InsightPage.of(items, more=False).next_after is None
    assert InsightPage.of((), more=True).next_after is None


def test_stored_feedback_reads_back_from_text() -> None:
    stored = StoredFeedback.from_stored("f-1", 1, "2024-05-01T12:05:00.000000Z")
    assert stored == StoredFeedback("f-1", 1, T0 + timedelta(minutes=5))
