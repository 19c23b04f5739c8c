"""Insights from the global store as a pandas DataFrame, for reports/insights.ipynb.

Reads through the ``InsightStore`` port (SQLite locally, Cosmos DB in Azure),
paging newest first, so the notebook works against either store. One row per
insight; model inputs and outputs become ``input_<name>`` / ``output_<name>``
columns.

Shaped for powerbiclient's ``get_dataset_config`` (QuickVisualize): it fills
missing values with ``""``, which turns a numeric column with a gap into text
and fails on pandas' nullable integers. So numbers are float64 and only columns
with a value in every row are kept as numbers (a column with gaps, e.g. an
input one model lacks, is left out); ``scored_at`` is timezone-aware
(``DateTimeZone``); the feedback label is text (``failure`` / ``no failure`` /
``""``). pandas is imported on use, so the module loads without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from edgeloop.domain.insights_view import InsightQuery, StoredInsight, model_label, risk_score

if TYPE_CHECKING:
    import pandas as pd

    from edgeloop.ports import InsightStore

PAGE_SIZE = 500
FEEDBACK_LABELS = {1: "failure", 0: "no failure"}
BASE_COLUMNS = ("insight_id", "site_id", "scored_at", "model", "anomaly", "anomaly_kinds", "risk", "feedback")


def iter_insights(
    store: InsightStore,
    *,
    site_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 50_000,
) -> Iterator[StoredInsight]:
    """At most ``limit`` insights in [start, end), newest first."""
    after = None
    remaining = limit
    while remaining > 0:
        query = InsightQuery(
            site_id=site_id, start=start, end=end, limit=min(PAGE_SIZE, remaining), after=after
        )
        page = store.query(query)
        yield from page.items
        remaining -= len(page.items)
        if page.next_after is None or not page.items:
            return
        after = page.next_after


def insight_row(item: StoredInsight) -> dict[str, Any]:
    record = item.record
    risk = risk_score(record.outputs)
    row: dict[str, Any] = {
        "insight_id": record.insight_id,
        "site_id": record.site_id,
        "scored_at": record.scored_at,
        "model": model_label(record.model.name, record.model.version),
        "anomaly": record.anomaly,
        "anomaly_kinds": ",".join(record.anomaly_kinds),
        "risk": risk,
        "feedback": _feedback_text(item),
    }
    for name, value in record.inputs.items():
        row[f"input_{name}"] = value
    for name, output in record.outputs.items():
        row[f"output_{name}"] = output
    return row


def insights_frame(
    store: InsightStore,
    *,
    site_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 50_000,
) -> pd.DataFrame:
    import pandas as pd

    rows = [
        insight_row(item) for item in iter_insights(store, site_id=site_id, start=start, end=end, limit=limit)
    ]
    frame = pd.DataFrame(rows, columns=list(BASE_COLUMNS) if not rows else None)
    frame["scored_at"] = pd.to_datetime(frame["scored_at"], utc=True).astype("datetime64[ns, UTC]")
    frame["anomaly"] = frame["anomaly"].astype(bool)
    for column in list(frame.columns):
        if column in BASE_COLUMNS and column != "risk":
            continue
        values = frame[column]
        if values.isna().any():
            frame = frame.drop(columns=[column])  # a gap would turn the column into text
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            frame[column] = values.astype("float64")
        else:
            frame[column] = values.astype(str)
    return frame


def _feedback_text(item: StoredInsight) -> str:
    """A binary label in words (today's frame); another task's label as it is."""
    if item.feedback is None:
        return ""
    label = item.feedback.label
    if isinstance(label, int) and label in FEEDBACK_LABELS:
        return FEEDBACK_LABELS[label]
    return str(label)
