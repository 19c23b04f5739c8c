"""Builders for insight and feedback records in the wire format the cloud receives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from edgeloop.domain.records import FeedbackRecord, InsightRecord, Label, ModelRef, TaskKind

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
    model: str = "failure-risk",
    task: TaskKind = "binary",
    prediction: Label | None = None,
) -> InsightRecord:
    """A binary model's insight by default; ``task`` and ``prediction`` make it another task's."""
    return InsightRecord(
        insight_id=f"{batch or new_batch_id()}-{row:05d}",
        site_id=site,
        scored_at=at,
        model=ModelRef(model, version, MODEL_SHA, task),
        inputs={"air_temperature_k": 300.1, "type": "M"},
        outputs={"risk": risk},
        anomaly=anomaly,
        anomaly_kinds=kinds if kinds is not None else (("risk",) if anomaly else ()),
        context={"product_id": "hmac-sha256:00ff"},
        prediction=prediction,
    )


def class_insight(
    site: str = "site-a", predicted: str | None = "none", *, at: datetime = T0, anomaly: bool = False
) -> InsightRecord:
    """A multiclass model's insight (model ``failure-mode``) predicting the class ``predicted``."""
    return insight(
        site, at=at, anomaly=anomaly, model="failure-mode", task="multiclass", prediction=predicted
    )


def value_insight(
    site: str = "site-a", predicted: float | None = 100.0, *, at: datetime = T0, anomaly: bool = False
) -> InsightRecord:
    """A regression model's insight (model ``tool-life``) predicting the value ``predicted``."""
    return insight(site, at=at, anomaly=anomaly, model="tool-life", task="regression", prediction=predicted)


def detection_insight(site: str = "site-a", found: int = 2, *, hour: int = 0) -> InsightRecord:
    """A detection model's insight (model ``surface-detection`` 1) with ``found`` boxes, each a scratch."""
    boxes = [value for n in range(found) for value in ("scratch", 0.9 - n / 10, 0.1, 0.1, 0.3, 0.3)]
    return insight(
        site, at=T0 + timedelta(hours=hour), model="surface-detection", version="1", task="detection",
        prediction=boxes, anomaly=found > 0,
    )  # fmt: skip


def feedback(
    of: InsightRecord, label: Label, *, at: datetime | None = None, fid: str | None = None
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


def seed_tasks(hours: int = 3) -> list[InsightRecord | FeedbackRecord]:
    """One model of each task, each hour: figures per hour are

    - ``failure-risk 1.1.0`` (binary, site-a): 4 scored, 1 anomaly, 2 feedback, 1 of them right;
    - ``failure-mode 2.0.0`` (multiclass, site-b): 4 scored, 2 anomalies, 3 feedback, 2 right;
    - ``tool-life 1.0.0`` (regression, site-a and site-b): 2 scored, 2 feedback, errors 2 and 3.
    """
    records: list[InsightRecord | FeedbackRecord] = []
    for h in range(hours):
        at = T0 + timedelta(hours=h)
        flags = [
            insight("site-a", at=at + timedelta(minutes=n), anomaly=n == 0, version="1.1.0") for n in range(4)
        ]
        records += [*flags, feedback(flags[0], 1), feedback(flags[1], 1)]
        classes = [
            insight("site-b", at=at + timedelta(minutes=n), anomaly=name != "none", model="failure-mode",
                    version="2.0.0", task="multiclass", prediction=name, risk=0.5)
            for n, name in enumerate(("none", "none", "wear", "power"))
        ]  # fmt: skip
        records += [
            *classes,
            feedback(classes[0], "none"),
            feedback(classes[2], "wear"),
            feedback(classes[3], "wear"),
        ]
        values = [
            value_insight(site, predicted, at=at) for site, predicted in (("site-a", 120.0), ("site-b", 80.0))
        ]
        records += [*values, feedback(values[0], 118.0), feedback(values[1], 83.0)]
    return records
