"""The sites' labelled rows for a retraining run: compliant insights joined with their latest label.

Reads the compliant blobs (``site=/date=/hour=`` records, edgeloop.wire.storage_layout)
from a given day on; an insight's inputs come from the blobs, or from the lake table
when one is given (the labels always from the blobs). Only labels the champion's task
knows count (0/1, a class name, a number, or verdicts on detections); the latest per insight
wins. Each row carries its insight's ``prediction``: what a detection's verdicts judge.
A blob the reader refuses (:class:`~edgeloop.ports.SiteBlobRefused`: its site did not sign it)
is left out, with a warning, and counted (the third value returned).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from edgeloop.domain.records import FEEDBACK_KIND, INSIGHT_KIND, parse_timestamp
from edgeloop.domain.tasks import Label, Task
from edgeloop.ports import BlobReader, LabelledRow, LakeInsights, SiteBlobRefused
from edgeloop.wire.storage_layout import read_objects_skipping_bad, records_blob_date

logger = logging.getLogger(__name__)


@dataclass
class _Found:
    """What the compliant records hold, by insight id: inputs, scoring times, latest labels."""

    labels: dict[str, tuple[datetime, Label, str]] = field(default_factory=dict)  # (recorded, label, site)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    scored_at: dict[str, datetime] = field(default_factory=dict)
    predictions: dict[str, Any] = field(default_factory=dict)
    refused: int = 0  # blobs left out: their site did not sign them


def read_labelled_rows(
    compliant: BlobReader, container: str, since: datetime, task: Task, lake: LakeInsights | None = None
) -> tuple[list[LabelledRow], int, int]:
    """Insights with their latest feedback label of ``task``, how many insights have none, and how
    many blobs were refused (not signed by their site)."""
    oldest = since.strftime("%Y-%m-%d")
    found = _Found()
    blob_found = found if lake is None else _Found(found.labels)
    for blob_name in compliant.list_names(container):
        date = records_blob_date(blob_name)
        if date is not None and date < oldest:
            continue
        try:
            data = compliant.get(container, blob_name)
        except SiteBlobRefused as exc:
            blob_found.refused += 1
            logger.warning("left out of training: %s", exc)
            continue
        for record in read_objects_skipping_bad(data, f"{container}/{blob_name}"):
            _collect(record, blob_found, task)
    if lake is not None:
        found.inputs = lake.inputs_since(oldest)
    rows = [
        LabelledRow(
            insight_id,
            found.inputs[insight_id],
            label,
            site,
            found.scored_at.get(insight_id),
            blob_found.predictions.get(insight_id),
        )
        for insight_id, (_, label, site) in sorted(found.labels.items())
        if insight_id in found.inputs
    ]
    if blob_found.refused:
        logger.warning("%d blob(s) of %s left out: not signed by their site", blob_found.refused, container)
    return rows, len(found.inputs) - len(rows), blob_found.refused


def _collect(record: dict[str, Any], found: _Found, task: Task) -> None:
    """An insight's inputs; a feedback label the task knows, if it is the latest for its insight."""
    kind = record.get("kind")
    key = str(record.get("insight_id"))
    if kind == INSIGHT_KIND and isinstance(record.get("inputs"), dict):
        found.inputs[key] = record["inputs"]
        found.predictions[key] = record.get("prediction")
        scored = record.get("scored_at")
        if isinstance(scored, str):
            with contextlib.suppress(ValueError):  # a time the dataset can do without
                found.scored_at[key] = parse_timestamp(scored, "scored_at")
    elif kind == FEEDBACK_KIND and task.label_problem(record.get("label")) is None:
        at = parse_timestamp(str(record.get("recorded_at")), "recorded_at")
        if key not in found.labels or found.labels[key][0] <= at:
            found.labels[key] = (at, record["label"], str(record.get("site_id") or ""))
