"""The Power BI dataset's vision tables: an image model's frames per site, camera and hour, and its class mix.

An image model's dataset (``PowerBIDataset.vision``) has two more tables, filled from each blob's
image insights (edgeloop.domain.vision_counts: what a frame adds, one rule for the stores and here):

- ``CameraHours``: one row per (site, camera, hour, model) of the blob: ``frames``, ``defects``,
  ``anomalies``; ``camera_id`` null for uploaded images;
- ``CameraHourClasses``: one row per class seen there: ``class_name``, ``count``.

Push datasets have no upsert and an hour's frames come in many blobs, so the rows are
contributions: a report sums them per camera and hour (defect rate: sum of defects over sum of
frames). ``row_id`` is derived from the row's key and its insights' ids, so the same insights
give the same id and a chunk the feed pushed twice (see powerbi_feed) can be told apart.
An insight the policy left without the fields a frame is counted by (its time, model, source)
adds no row. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from edgeloop.domain.hours import hour_start
from edgeloop.domain.powerbi_schema import Column, DataType, Row, Table, truncate
from edgeloop.domain.records import RecordError, format_timestamp, insight_from_wire
from edgeloop.domain.vision_counts import UPLOADS, VisionCounts, VisionKey, vision_contribution

CAMERA_HOURS_TABLE = "CameraHours"
CAMERA_CLASSES_TABLE = "CameraHourClasses"


def _columns(*named: tuple[str, DataType]) -> tuple[Column, ...]:
    return tuple(Column(name, data_type, (name,)) for name, data_type in named)


_KEY_COLUMNS: tuple[tuple[str, DataType], ...] = (
    ("row_id", "String"), ("site_id", "String"), ("camera_id", "String"), ("source", "String"),
    ("hour", "DateTime"), ("model_name", "String"), ("model_version", "String"),
)  # fmt: skip
CAMERA_HOURS_COLUMNS = _columns(
    *_KEY_COLUMNS, ("frames", "Int64"), ("defects", "Int64"), ("anomalies", "Int64")
)
CAMERA_CLASSES_COLUMNS = _columns(*_KEY_COLUMNS, ("class_name", "String"), ("count", "Int64"))


def vision_tables() -> tuple[Table, ...]:
    return Table(CAMERA_HOURS_TABLE, CAMERA_HOURS_COLUMNS), Table(
        CAMERA_CLASSES_TABLE, CAMERA_CLASSES_COLUMNS
    )


def _groups(records: Sequence[Mapping[str, Any]]) -> dict[VisionKey, tuple[VisionCounts, list[str]]]:
    groups: dict[VisionKey, tuple[VisionCounts, list[str]]] = {}
    for record in records:
        try:
            insight = insight_from_wire(record)
        except RecordError:
            continue  # fields dropped by the policy: the Insights table has what is left
        for key, counts in vision_contribution(insight).items():
            total, ids = groups.get(key, (VisionCounts(), []))
            groups[key] = (total + counts, [*ids, insight.insight_id])
    return groups


def _key_cells(key: VisionKey, ids: Sequence[str], class_name: str = "") -> Row:
    named = "\0".join((key.site_id, key.camera_id, key.hour, key.model_name, key.model_version, class_name))
    digest = hashlib.sha256("\0".join([named, *sorted(ids)]).encode()).hexdigest()[:32]
    return {
        "row_id": digest,
        "site_id": truncate(key.site_id),
        "camera_id": None if key.camera_id == UPLOADS else truncate(key.camera_id),
        "source": "upload" if key.camera_id == UPLOADS else "camera",
        "hour": format_timestamp(hour_start(key.hour)),
        "model_name": truncate(key.model_name),
        "model_version": truncate(key.model_version),
    }


def camera_hour_rows(insights: Sequence[Mapping[str, Any]]) -> dict[str, list[Row]]:
    """The vision tables' rows for a blob's insight records (wire form), by key."""
    hours: list[Row] = []
    classes: list[Row] = []
    for key, (counts, ids) in sorted(_groups(insights).items()):
        hours.append(
            {
                **_key_cells(key, ids),
                "frames": counts.frames,
                "defects": counts.defects,
                "anomalies": counts.anomalies,
            }
        )
        classes += [
            {**_key_cells(key, ids, name), "class_name": truncate(name), "count": n}
            for name, n in counts.classes
        ]
    return {CAMERA_HOURS_TABLE: hours, CAMERA_CLASSES_TABLE: classes}
