"""The frame rules (edgeloop.domain.frames): what a kept frame is, retention, worth a label, quotas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edgeloop.domain.frames import (
    DailyQuota,
    DayUsage,
    FrameError,
    FrameOrigin,
    KeptFrame,
    LabelWorth,
    ResultSummary,
    RetentionBounds,
    day_start,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ORIGIN = FrameOrigin("site-a", "camera", "cam-1", NOON, "a" * 32 + "-00000")


def test_a_kept_frame_must_be_the_format_it_says() -> None:
    classified = ResultSummary(top_class="scratch", confidence=0.6)
    assert KeptFrame(PNG, "image/png", ORIGIN, classified).size_bytes == len(PNG)
    assert KeptFrame(JPEG, "image/jpeg", ORIGIN, classified).media_type == "image/jpeg"
    with pytest.raises(FrameError) as caught:
        KeptFrame(JPEG, "image/png", ORIGIN, classified)
    assert caught.value.field == "data"
    with pytest.raises(FrameError) as caught:
        KeptFrame(PNG, "image/gif", ORIGIN, classified)  # type: ignore[arg-type]
    assert caught.value.field == "media_type"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "result"),
        ({"top_class": "ok", "confidence": 0.5, "detections": 1, "max_score": 0.5}, "result"),
        ({"top_class": "ok"}, "result.top_class"),
        ({"top_class": "ok", "confidence": 1.5}, "result.confidence"),
        ({"detections": -1}, "result.detections"),
        ({"detections": 2}, "result.max_score"),
        ({"detections": 0, "max_score": 0.3}, "result.max_score"),
        ({"detections": 1, "max_score": float("nan")}, "result.max_score"),
    ],
)
def test_a_result_summary_is_a_classification_or_a_detection(fields: dict[str, object], field: str) -> None:
    with pytest.raises(FrameError) as caught:
        ResultSummary(**fields)  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("origin", "field"),
    [
        ({"site_id": ""}, "site_id"),
        ({"source": "drone"}, "source"),
        ({"source_name": ""}, "source_name"),
        ({"captured_at": datetime(2026, 12, 3, 12, 0)}, "captured_at"),  # naive on purpose
        ({"insight_id": ""}, "insight_id"),
    ],
)
def test_an_origin_names_the_bad_field(origin: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "site_id": "site-a",
        "source": "upload",
        "source_name": "part.png",
        "captured_at": NOON,
        "insight_id": "x-00000",
    }
    with pytest.raises(FrameError) as caught:
        FrameOrigin(**{**values, **origin})  # type: ignore[arg-type]
    assert caught.value.field == field


def kept(*ages_and_sizes: tuple[float, int]) -> list[tuple[str, datetime, int]]:
    """Frames oldest first, ``(hours ago, bytes)`` each, named f0, f1, ..."""
    return [(f"f{i}", NOON - timedelta(hours=hours), size) for i, (hours, size) in enumerate(ages_and_sizes)]


def test_retention_expires_by_age_then_oldest_first_by_bytes() -> None:
    bounds = RetentionBounds(max_total_bytes=100, max_age=timedelta(hours=24))
    frames = kept((30, 10), (20, 40), (10, 40), (1, 10))
    total = sum(size for _, _, size in frames)
    assert bounds.to_expire(frames, total, NOON) == ["f0"]  # too old; the rest fits in 100 bytes
    assert bounds.to_expire(frames, total, NOON, incoming_bytes=30) == ["f0", "f1"]  # room for 30 more
    assert bounds.to_expire(frames[1:], total - 10, NOON, incoming_bytes=0) == []


def test_retention_reads_no_further_than_it_needs() -> None:
    bounds = RetentionBounds(max_total_bytes=1000, max_age=timedelta(hours=24))
    read: list[str] = []

    def oldest_first() -> object:
        for frame in kept((2, 1), (1, 1), (0, 1)):
            read.append(frame[0])
            yield frame

    assert bounds.to_expire(oldest_first(), 3, NOON) == []  # type: ignore[arg-type]
    assert read == ["f0"]


def test_retention_bounds_must_be_positive() -> None:
    with pytest.raises(FrameError, match="max_total_bytes"):
        RetentionBounds(0, timedelta(hours=1))
    with pytest.raises(FrameError, match="max_age"):
        RetentionBounds(10, timedelta(0))


def test_worth_a_label_near_the_threshold_or_where_models_disagree() -> None:
    worth = LabelWorth(threshold=0.5, band=0.1)
    assert worth.selects(ResultSummary(top_class="dent", confidence=0.55))
    assert worth.selects(ResultSummary(detections=3, max_score=0.41))
    assert not worth.selects(ResultSummary(top_class="ok", confidence=0.97))
    assert not worth.selects(ResultSummary(detections=0))
    assert worth.selects(ResultSummary(top_class="ok", confidence=0.97, models_disagree=True))
    strict = LabelWorth(threshold=0.5, band=0.1, models_disagree=False)
    assert not strict.selects(ResultSummary(top_class="ok", confidence=0.97, models_disagree=True))
    with pytest.raises(FrameError, match="band"):
        LabelWorth(threshold=0.5, band=0.0)
    with pytest.raises(FrameError, match="threshold"):
        LabelWorth(threshold=1.2, band=0.1)


def test_the_daily_quota_counts_frames_and_bytes() -> None:
    quota = DailyQuota(max_frames=3, max_bytes=100)
    assert quota.admits(DayUsage(), 100)
    assert not quota.admits(DayUsage(), 101)
    assert quota.admits(DayUsage(frames=2, bytes=50), 50)
    assert not quota.admits(DayUsage(frames=3, bytes=50), 1)
    assert not quota.admits(DayUsage(frames=1, bytes=99), 2)
    assert day_start(NOON + timedelta(hours=11, minutes=59)) == datetime(2026, 12, 3, tzinfo=UTC)
