"""Builders for image insights as the cloud receives them (edgeloop.service_layer.image_scoring's)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from contract.insight_factory import T0, insight

from edgeloop.domain.records import InsightRecord


def frame(
    camera: str | None,
    predicted: str = "ok",
    *,
    site: str = "site-a",
    minutes: int = 0,
    kinds: tuple[str, ...] = (),
    batch: str | None = None,
    row: int = 0,
    start: datetime = T0,
) -> InsightRecord:
    """A surface-inspection model's image insight from ``camera`` (None: an upload), ``minutes``
    after ``start``; ``kinds``: its anomaly kinds (``alert_class``: a defect class)."""
    context = {"source": "upload"} if camera is None else {"source": "camera", "camera_id": camera}
    record = insight(
        site, row=row, batch=batch, at=start + timedelta(minutes=minutes), anomaly=bool(kinds),
        kinds=kinds, model="surface-defects", task="multiclass", prediction=predicted,
    )  # fmt: skip
    return replace(record, inputs={}, outputs={"p_ok": 0.9}, context=context)


def detection_frame(
    camera: str, found: int, *, site: str = "site-a", minutes: int = 0, start: datetime = T0
) -> InsightRecord:
    """A surface-detection model's image insight from ``camera`` with ``found`` scratches."""
    boxes = [value for n in range(found) for value in ("scratch", 0.9 - n / 10, 0.1, 0.1, 0.3, 0.3)]
    record = insight(
        site, at=start + timedelta(minutes=minutes), anomaly=found > 0,
        kinds=("alert_class",) if found else (), model="surface-detection", version="1", task="detection",
        prediction=boxes,
    )  # fmt: skip
    context = {"source": "camera", "camera_id": camera}
    return replace(record, inputs={}, outputs={"count_scratch": found}, context=context)
