"""The global store's vision counters as a pandas DataFrame, for reports/insights.ipynb.

One row per (site, camera, hour, model) with frames (``InsightStore.vision_hours``: kept at ingest,
edgeloop.domain.vision_counts): ``frames``, ``defects``, ``anomalies``, ``defect_rate``, a detection
model's feedback (``accepted``, ``rejected``, ``missed``: 0 for other models; precision is
accepted / (accepted + rejected), recall accepted / (accepted + missed)) and one
``class_<name>`` column per class seen in the range (0 where a camera-hour saw none, so the columns
stay numeric for QuickVisualize). ``camera_id`` is ``""`` for uploaded images. pandas is imported on
use, so the module loads without it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from edgeloop.domain.hours import hour_start

if TYPE_CHECKING:
    import pandas as pd

    from edgeloop.ports import InsightStore

COUNT_COLUMNS = ("frames", "defects", "anomalies", "defect_rate", "accepted", "rejected", "missed")
BASE_COLUMNS = ("site_id", "camera_id", "hour", "model", *COUNT_COLUMNS)


def camera_hours_frame(
    store: InsightStore,
    *,
    site_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for key, counts in store.vision_hours(start, end, site_id):
        if counts.frames == 0:
            continue
        row: dict[str, Any] = {
            "site_id": key.site_id,
            "camera_id": key.camera_id,
            "hour": hour_start(key.hour),
            "model": f"{key.model_name} {key.model_version}",
            "frames": counts.frames,
            "defects": counts.defects,
            "anomalies": counts.anomalies,
            "defect_rate": counts.defect_rate,
            "accepted": counts.accepted,
            "rejected": counts.rejected,
            "missed": counts.missed,
        }
        rows.append(row | {f"class_{name}": count for name, count in counts.classes})
    frame = pd.DataFrame(rows, columns=list(BASE_COLUMNS) if not rows else None)
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True).astype("datetime64[ns, UTC]")
    for column in frame.columns:
        if column.startswith("class_"):
            frame[column] = frame[column].fillna(0).astype("float64")
    for column in COUNT_COLUMNS:
        frame[column] = frame[column].astype("float64")
    return frame
