"""The global app's view of vision insights: sites, their cameras, each camera's hours and class mix.

Folded from the vision counter rows a store reads (edgeloop.domain.vision_counts), so SQLite and
Cosmos DB show the same figures. A camera's hours add up its models' rows of that hour; its
class mix adds up every hour's (a camera normally runs one model; the models are listed).
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from edgeloop.domain.hours import hour_start
from edgeloop.domain.insights_view import model_label
from edgeloop.domain.vision_counts import UPLOADS, VisionCounts, VisionRow, total


@dataclass(frozen=True, slots=True)
class CameraHour:
    hour: datetime
    counts: VisionCounts


@dataclass(frozen=True, slots=True)
class CameraVision:
    camera_id: str  # UPLOADS: uploaded images
    counts: VisionCounts  # over every hour
    hours: tuple[CameraHour, ...]  # oldest first, hours with frames only
    models: tuple[str, ...]  # "name version", sorted

    @property
    def is_uploads(self) -> bool:
        return self.camera_id == UPLOADS

    @property
    def class_mix(self) -> tuple[tuple[str, int, float], ...]:
        """(class, count, share of all classes seen), most seen first, then by name."""
        total = sum(count for _, count in self.counts.classes)
        ordered = sorted(self.counts.classes, key=lambda item: (-item[1], item[0]))
        return tuple((name, count, count / total) for name, count in ordered if total)


@dataclass(frozen=True, slots=True)
class SiteVision:
    site_id: str
    counts: VisionCounts
    cameras: tuple[CameraVision, ...]  # by camera id, uploads last


def _camera(camera_id: str, rows: list[VisionRow]) -> CameraVision:
    by_hour: dict[str, list[VisionCounts]] = {}
    for key, counts in rows:
        by_hour.setdefault(key.hour, []).append(counts)
    models = tuple(sorted({model_label(key.model_name, key.model_version) for key, _ in rows}))
    timeline = tuple(CameraHour(hour_start(hour), total(counts)) for hour, counts in sorted(by_hour.items()))
    return CameraVision(camera_id, total(hour.counts for hour in timeline), timeline, models)


def vision_sites(rows: Iterable[VisionRow]) -> list[SiteVision]:
    """Per site (by id), its cameras (by id, uploads last) with frames in the rows."""
    grouped: dict[str, dict[str, list[VisionRow]]] = {}
    for key, counts in rows:
        if counts.frames > 0:
            grouped.setdefault(key.site_id, {}).setdefault(key.camera_id, []).append((key, counts))
    sites: list[SiteVision] = []
    for site_id in sorted(grouped):
        order = sorted(grouped[site_id], key=lambda camera: (camera == UPLOADS, camera))
        cameras = tuple(_camera(camera, grouped[site_id][camera]) for camera in order)
        sites.append(SiteVision(site_id, total(camera.counts for camera in cameras), cameras))
    return sites
