"""Builders for insight and feedback records in the wire format the cloud receives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from edgeloop.domain.records import FeedbackRecord, InsightRecord, ModelRef

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MODEL_SHA = "ab" * 32


def new_batch_id() -> str:
    return uuid.uuid4().hex


def insight(
    site: str = "site-a",
    *,
    row: int = 0,
    batch: str | None = None,
    at: datetime = T0,
    anomaly: bool = False,
    risk: float = 0.1,
    version: str = "1.0.0",
    kinds: tuple[str, ...] | None = None,
) -> InsightRecord:
    return InsightRecord(
        insight_id=f"{batch or new_batch_id()}-{row:05d}",
        site_id=site,
        scored_at=at,
        model=ModelRef("failure-risk", version, MODEL_SHA),
        inputs={"air_temperature_k": 300.1, "type": "M"},
        outputs={"risk": risk},
        anomaly=anomaly,
        anomaly_kinds=kinds if kinds is not None else (("risk",) if anomaly else ()),
        context={"product_id": "hmac-sha256:00ff"},
    )


def feedback(
    of: InsightRecord, label: int, *, at: datetime | None = None, fid: str | None = None
) -> FeedbackRecord:
    return FeedbackRecord(
        feedback_id=fid or f"{new_batch_id()}-00000",
        insight_id=of.insight_id,
        site_id=of.site_id,
        label=label,
        recorded_at=at or of.scored_at + timedelta(minutes=5),
    )


def seed_sites(sites: int = 3, hours: int = 6, per_hour: int = 10) -> list[InsightRecord | FeedbackRecord]:
    """A small multi-site history: site i has an anomaly rate of about (i+1)/10, some feedback."""
    records: list[InsightRecord | FeedbackRecord] = []
    for s in range(sites):
        batch = new_batch_id()
        for h in range(hours):
            for n in range(per_hour):
                row = h * per_hour + n
                anomalous = n < s + 1
                record = insight(
                    f"site-{s}",
                    row=row,
                    batch=batch,
                    at=T0 + timedelta(hours=h, minutes=n),
                    anomaly=anomalous,
                    risk=0.9 if anomalous else 0.1,
                    version="1.0.0" if h < hours // 2 else "1.1.0",
                )
                records.append(record)
                if n == 0:
                    records.append(feedback(record, 1))
    return records
