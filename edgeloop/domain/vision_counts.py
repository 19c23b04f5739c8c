"""Vision insights per site, camera and hour: frames scored, defects, class mix.

An image insight (edgeloop.service_layer.image_scoring) carries its source in ``context``
(``source``: ``camera`` with its ``camera_id``, or ``upload``) and derived results only.
Every insight store keeps :class:`VisionCounts` per :class:`VisionKey` (site, camera, hour,
model) on write, from the difference between an insight's state before and after the write
(:func:`vision_delta`, as ``insights_view.counter_delta`` does for the hourly counters), so
a redelivered blob changes nothing.

What a frame adds (:func:`vision_contribution`):

* ``frames``: 1; ``anomalies``: 1 if the insight is flagged;
* ``defects``: 1 if the frame is a defect: a class the manifest names a defect
  (``task.alert_classes``, seen on the insight as the ``alert_class`` anomaly kind: for a
  detection model, a box of such a class), or,
  for a task without classes (binary), the anomaly flag;
* ``classes``: what the model saw, per class (:func:`seen_classes`): a classifier's predicted
  class once; a detection model's boxes, each (its insight's ``count_<class>`` outputs);
* a detection model's feedback, once its label arrives (edgeloop.domain.feedback_quality):
  ``accepted`` and ``rejected`` detections, and ``missed`` defects (the label's missed boxes),
  so a camera's precision and recall read as a model's do. A later label replaces the earlier
  one in the counts, as in the hourly counters.

Uploads have no camera: they are counted under ``camera_id`` ``""`` (:data:`UPLOADS`).
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from edgeloop.domain.detection_task import COUNT_PREFIX as DETECTION_COUNT
from edgeloop.domain.feedback_quality import judge, precision, recall
from edgeloop.domain.hours import hour_bucket
from edgeloop.domain.insights_view import InsightState
from edgeloop.domain.records import InsightRecord, Label

CAMERA_SOURCE = "camera"
UPLOAD_SOURCE = "upload"
UPLOADS = ""  # the camera id uploads are counted under
DEFECT_KIND = "alert_class"  # edgeloop.domain.tasks.ALERT_CLASS: a class the manifest names a defect
ClassCounts = tuple[tuple[str, int], ...]  # (class, count), by class name, no zero count
VisionState = tuple[InsightRecord | None, Label | None]  # a stored insight and its feedback's label


@dataclass(frozen=True, slots=True, order=True)
class VisionKey:
    site_id: str
    camera_id: str  # UPLOADS for uploaded images
    hour: str  # hours.hour_bucket()
    model_name: str
    model_version: str


def merge_classes(first: ClassCounts, second: ClassCounts, sign: int = 1) -> ClassCounts:
    """``first + sign * second``, per class; classes whose count becomes zero are dropped."""
    if not second:
        return first
    if not first and sign == 1:
        return second  # already by name, without zeros: the common case of a first frame
    merged = dict(first)
    for name, count in second:
        merged[name] = merged.get(name, 0) + sign * count
    return tuple(sorted((name, count) for name, count in merged.items() if count != 0))


@dataclass(frozen=True, slots=True)
class VisionCounts:
    """Additive: a store sums them per key; the difference of two states is one too."""

    frames: int = 0
    defects: int = 0
    anomalies: int = 0
    classes: ClassCounts = ()
    accepted: int = 0  # a detection model's detections that operators accepted (defects found)
    rejected: int = 0  # ... and rejected
    missed: int = 0  # the defects it did not find (operators' missed boxes)

    def __add__(self, other: VisionCounts) -> VisionCounts:
        return VisionCounts(
            self.frames + other.frames,
            self.defects + other.defects,
            self.anomalies + other.anomalies,
            merge_classes(self.classes, other.classes),
            self.accepted + other.accepted,
            self.rejected + other.rejected,
            self.missed + other.missed,
        )

    def __neg__(self) -> VisionCounts:
        return VisionCounts(
            -self.frames, -self.defects, -self.anomalies, merge_classes((), self.classes, -1),
            -self.accepted, -self.rejected, -self.missed,
        )  # fmt: skip

    def is_zero(self) -> bool:
        return self == VisionCounts()

    @property
    def defect_rate(self) -> float | None:
        return self.defects / self.frames if self.frames else None

    @property
    def precision(self) -> float | None:
        """Detection: accepted / (accepted + rejected); None without verdicts."""
        return precision(self.accepted, self.rejected)

    @property
    def recall(self) -> float | None:
        """Detection: accepted / (accepted + missed); None without either."""
        return recall(self.accepted, self.missed)

    @classmethod
    def from_mapping(
        cls,
        frames: int,
        defects: int,
        anomalies: int,
        classes: Mapping[str, int],
        verdicts: tuple[int, int, int] = (0, 0, 0),
    ) -> VisionCounts:
        """Back from a store's columns or document fields (classes as a mapping; verdicts:
        accepted, rejected, missed)."""
        named = tuple(sorted((n, c) for n, c in classes.items() if c != 0))
        return cls(frames, defects, anomalies, named, *verdicts)


def camera_of(insight: InsightRecord) -> str | None:
    """The camera an image insight came from (UPLOADS for an upload); None: not an image insight."""
    source = insight.context.get("source")
    if source == CAMERA_SOURCE:
        return insight.context.get("camera_id") or UPLOADS
    if source == UPLOAD_SOURCE:
        return UPLOADS
    return None


def seen_classes(insight: InsightRecord) -> dict[str, int]:
    """What the model saw in the frame, per class; one branch per task kind that names classes."""
    if insight.model.task == "multiclass":
        return {} if insight.prediction is None else {str(insight.prediction): 1}
    if insight.model.task == "detection":  # each box counts: the insight's count_<class> outputs
        return {
            name.removeprefix(DETECTION_COUNT): int(value)
            for name, value in insight.outputs.items()
            if name.startswith(DETECTION_COUNT) and value  # None: an invalid image counts nothing
        }
    return {}  # binary, regression: no class


def is_defect(insight: InsightRecord) -> bool:
    if insight.model.task in ("multiclass", "detection"):
        return DEFECT_KIND in insight.anomaly_kinds
    return insight.anomaly


def detection_feedback_of(insight: InsightRecord, label: Label | None) -> tuple[int, int, int]:
    """A detection model's (accepted, rejected, missed) of the label; other tasks: none."""
    if label is None or insight.model.task != "detection":
        return 0, 0, 0
    judged = judge(insight, label)
    return judged.correct, judged.judged - judged.correct, judged.missed


def vision_contribution(
    insight: InsightRecord | None, label: Label | None = None
) -> dict[VisionKey, VisionCounts]:
    """What one stored insight (with its feedback's label) adds to the vision counters: nothing
    unless it is an image's."""
    camera = None if insight is None else camera_of(insight)
    if insight is None or camera is None:
        return {}
    model = insight.model
    key = VisionKey(insight.site_id, camera, hour_bucket(insight.scored_at), model.name, model.version)
    classes = tuple(sorted(seen_classes(insight).items()))
    flags = (int(is_defect(insight)), int(insight.anomaly))
    return {key: VisionCounts(1, *flags, classes, *detection_feedback_of(insight, label))}


def vision_state(state: InsightState) -> VisionState:
    """What the vision counters read of a store's state of an insight: it, and its feedback's label."""
    insight, feedback = state
    return insight, None if feedback is None else feedback.label


def vision_delta(before: VisionState, after: VisionState, into: dict[VisionKey, VisionCounts]) -> None:
    """Accumulate ``after - before`` into ``into`` (zero entries are dropped)."""
    if before == after:
        return  # a redelivery
    if before == (None, None):  # a new insight, the common case: nothing to take away
        for key, counts in vision_contribution(*after).items():
            current = into.get(key)
            into[key] = counts if current is None else current + counts
            if current is not None and into[key].is_zero():
                del into[key]
        return
    old, new = vision_contribution(*before), vision_contribution(*after)
    for key, counts in old.items():
        into[key] = into.get(key, VisionCounts()) + (-counts)
    for key, counts in new.items():
        into[key] = into.get(key, VisionCounts()) + counts
    for key in old.keys() | new.keys():
        if into[key].is_zero():
            del into[key]


VisionRow = tuple[VisionKey, VisionCounts]


def total(counts: Iterable[VisionCounts]) -> VisionCounts:
    """The sum of many counts at once (one pass, the classes in a plain dict)."""
    frames = defects = anomalies = accepted = rejected = missed = 0
    classes: dict[str, int] = {}
    for each in counts:
        frames, defects, anomalies = frames + each.frames, defects + each.defects, anomalies + each.anomalies
        accepted, rejected, missed = accepted + each.accepted, rejected + each.rejected, missed + each.missed
        for name, count in each.classes:
            classes[name] = classes.get(name, 0) + count
    return VisionCounts.from_mapping(frames, defects, anomalies, classes, (accepted, rejected, missed))


def summed(rows: Iterable[VisionRow]) -> list[VisionRow]:
    """Rows with the same key added together, sorted by key (site, camera, hour, model); no zero row."""
    totals: dict[VisionKey, VisionCounts] = {}
    for key, counts in rows:
        totals[key] = totals[key] + counts if key in totals else counts  # a store's keys are mostly unique
    return sorted(((key, counts) for key, counts in totals.items() if not counts.is_zero()), key=_by_key)


def _by_key(row: VisionRow) -> VisionKey:
    return row[0]
