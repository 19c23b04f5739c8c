"""Frames kept on site: what a kept frame is, and the rules that bound and select them.

A frame (an uploaded image or a camera frame) never rides in an insight: the insight
carries the derived result only. The frame itself is kept on the site's volume, for
labelling and retraining, within :class:`RetentionBounds` (total bytes and age, oldest
first). Some may leave the site, one by one, when the site's explicit rule allows it
(edgeloop.domain.frame_policy): only frames :class:`LabelWorth` selects (a confidence
near the threshold, or models that disagree) and only within a :class:`DailyQuota`.
Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

MediaType = Literal["image/jpeg", "image/png"]
SourceKind = Literal["upload", "camera"]
MEDIA_TYPES: tuple[MediaType, ...] = ("image/jpeg", "image/png")
SOURCE_KINDS: tuple[SourceKind, ...] = ("upload", "camera")
FILE_SUFFIXES: dict[str, str] = {"image/jpeg": "jpg", "image/png": "png"}
# The first bytes of each format: a frame whose bytes disagree with its media type is refused.
_MAGIC: dict[str, bytes] = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}


class FrameError(ValueError):
    """A frame (or a frame rule) is invalid; names the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def _unit_interval(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise FrameError(name, f"must be within [0, 1], got {value!r}")


@dataclass(frozen=True, slots=True)
class ResultSummary:
    """The derived result of scoring a frame: a classification or a detection, never both.

    Classification: ``top_class`` and its ``confidence``. Detection: ``detections`` (count)
    and ``max_score`` (None when nothing was detected). ``models_disagree``: another model
    (a challenger, a second opinion) gave a different answer on the same frame.
    """

    top_class: str | None = None
    confidence: float | None = None
    detections: int | None = None
    max_score: float | None = None
    models_disagree: bool = False

    def __post_init__(self) -> None:
        classified = self.top_class is not None or self.confidence is not None
        detected = self.detections is not None or self.max_score is not None
        if classified == detected:
            raise FrameError("result", "either top_class and confidence, or detections (and max_score)")
        if classified and (not self.top_class or self.confidence is None):
            raise FrameError("result.top_class", "a classification needs top_class and confidence")
        if detected and (self.detections is None or self.detections < 0):
            raise FrameError("result.detections", "a detection needs a count of 0 or more")
        if detected and (self.detections == 0) != (self.max_score is None):
            raise FrameError("result.max_score", "given exactly when something was detected")
        _unit_interval("result.confidence", self.confidence)
        _unit_interval("result.max_score", self.max_score)

    @property
    def score(self) -> float | None:
        """The score the threshold applies to: the confidence, or the best detection's score."""
        return self.confidence if self.confidence is not None else self.max_score


@dataclass(frozen=True, slots=True)
class FrameOrigin:
    """Where and when a frame came from; ``source_name`` is the camera id or the uploaded file's name."""

    site_id: str
    source: SourceKind
    source_name: str
    captured_at: datetime
    insight_id: str

    def __post_init__(self) -> None:
        if not self.site_id:
            raise FrameError("site_id", "must not be empty")
        if self.source not in SOURCE_KINDS:
            raise FrameError("source", f"must be one of {list(SOURCE_KINDS)}, got {self.source!r}")
        if not self.source_name:
            raise FrameError("source_name", "the camera id or file name must not be empty")
        if self.captured_at.tzinfo is None:
            raise FrameError("captured_at", "must be timezone-aware")
        if not self.insight_id:
            raise FrameError("insight_id", "must not be empty")


@dataclass(frozen=True, slots=True)
class KeptFrame:
    """An encoded frame (JPEG or PNG bytes, checked against ``media_type``) and what it scored."""

    data: bytes
    media_type: MediaType
    origin: FrameOrigin
    result: ResultSummary

    def __post_init__(self) -> None:
        if self.media_type not in MEDIA_TYPES:
            raise FrameError("media_type", f"must be one of {list(MEDIA_TYPES)}, got {self.media_type!r}")
        if not self.data.startswith(_MAGIC[self.media_type]):
            raise FrameError("data", f"the bytes are not {self.media_type}")

    @property
    def size_bytes(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class StoredFrame:
    """A frame the store keeps, without its bytes: what listings and the upload rules need."""

    frame_id: str
    media_type: MediaType
    size_bytes: int
    kept_at: datetime
    origin: FrameOrigin
    result: ResultSummary

    @property
    def file_suffix(self) -> str:
        return FILE_SUFFIXES[self.media_type]


@dataclass(frozen=True, slots=True)
class RetentionBounds:
    """How much the site keeps: at most ``max_total_bytes`` of frames, none older than ``max_age``."""

    max_total_bytes: int
    max_age: timedelta

    def __post_init__(self) -> None:
        if self.max_total_bytes < 1:
            raise FrameError("max_total_bytes", "must be at least 1")
        if self.max_age <= timedelta(0):
            raise FrameError("max_age", "must be positive")

    def to_expire(
        self,
        oldest_first: Iterable[tuple[str, datetime, int]],
        total_bytes: int,
        now: datetime,
        incoming_bytes: int = 0,
    ) -> list[str]:
        """Ids to delete, oldest first, so that ``incoming_bytes`` more fit.

        ``oldest_first``: ``(frame_id, kept_at, size_bytes)`` of the kept frames, oldest
        first (read only as far as needed); ``total_bytes``: their sum. Every frame past the
        age goes, then the oldest ones until the total (with the incoming frame) is in bounds.
        """
        total = total_bytes + incoming_bytes
        oldest_kept = now - self.max_age
        expired: list[str] = []
        for frame_id, kept_at, size in oldest_first:
            if kept_at >= oldest_kept and total <= self.max_total_bytes:
                break
            expired.append(frame_id)
            total -= size
        return expired


@dataclass(frozen=True, slots=True)
class LabelWorth:
    """Which frames are worth a label: a score within ``band`` of ``threshold``, or (when
    ``models_disagree``) a frame the models disagree on. Confident answers teach little."""

    threshold: float
    band: float
    models_disagree: bool = True

    def __post_init__(self) -> None:
        _unit_interval("threshold", self.threshold)
        if not (math.isfinite(self.band) and 0.0 < self.band <= 1.0):
            raise FrameError("band", f"must be within (0, 1], got {self.band!r}")

    def selects(self, result: ResultSummary) -> bool:
        if self.models_disagree and result.models_disagree:
            return True
        score = result.score
        return score is not None and abs(score - self.threshold) <= self.band


@dataclass(frozen=True, slots=True)
class DayUsage:
    """Frames (and their bytes) a site has uploaded so far in one UTC day."""

    frames: int = 0
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class DailyQuota:
    """At most ``max_frames`` frames and ``max_bytes`` bytes uploaded per site per UTC day."""

    max_frames: int
    max_bytes: int

    def __post_init__(self) -> None:
        if self.max_frames < 1:
            raise FrameError("max_frames_per_day", "must be at least 1")
        if self.max_bytes < 1:
            raise FrameError("max_bytes_per_day", "must be at least 1")

    def admits(self, used: DayUsage, size_bytes: int) -> bool:
        return used.frames + 1 <= self.max_frames and used.bytes + size_bytes <= self.max_bytes


def day_start(moment: datetime) -> datetime:
    """Midnight (UTC) of ``moment``'s day: where a daily quota starts counting."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
