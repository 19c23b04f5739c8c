"""Cameras, pure: what a camera is, which frames to keep, how long to wait before reconnecting.

A camera is an id and a URL (RTSP, HTTP MJPEG or a video file) with its sampling rate and
scoring batch size. The worker (edgeloop.service_layer.camera_worker) keeps one frame per
``1 / sample_fps`` seconds of the stream's own timeline and waits ``Backoff.delay`` between
connection attempts; its figures are read as a :class:`CameraStatus`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

CameraKind = Literal["rtsp", "mjpeg", "file"]
CAMERA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # a Prometheus label and a log field
# Frame timestamps carry rounding (pts x time base): a frame this close to its slot keeps it.
SAMPLING_TOLERANCE_SECONDS = 1e-3
MAX_BATCH_SIZE = 256
# Batches a lagging camera's scorer commits together (one outbox transaction): the fsync of a
# commit costs about what a batch of 8 small frames does to score; 8 gained clearly over 4 on a
# quiet machine (docs/benchmarks.md section 14), more adds latency to a group's first frames.
DEFAULT_GROUP_BATCHES = 8
MAX_GROUP_BATCHES = 16


class CameraState(StrEnum):
    CONNECTING = "connecting"
    STREAMING = "streaming"
    BACKING_OFF = "backing off"
    ENDED = "ended"  # a video file read to its end: nothing more will come
    STOPPED = "stopped"


def camera_kind(url: str) -> CameraKind:
    """Which kind of source a URL names: ``rtsp://``, ``http(s)://`` (MJPEG), else a file."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("rtsp", "rtsps"):
        return "rtsp"
    if scheme in ("http", "https"):
        return "mjpeg"
    if scheme in ("", "file"):
        return "file"
    raise ValueError(f"unsupported scheme {scheme!r}: rtsp://, http(s):// (MJPEG) or a video file")


@dataclass(frozen=True, slots=True)
class CameraSpec:
    id: str
    url: str
    sample_fps: float = 1.0
    batch_size: int = 8

    def __post_init__(self) -> None:
        if not CAMERA_ID.match(self.id):
            raise ValueError(f"id {self.id!r}: 1-64 letters, digits, '_', '.', '-'")
        if not 0 < self.sample_fps <= 120:
            raise ValueError(f"sample_fps {self.sample_fps}: above 0, at most 120")
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size {self.batch_size}: 1 to {MAX_BATCH_SIZE}")
        camera_kind(self.url)

    @property
    def kind(self) -> CameraKind:
        return camera_kind(self.url)

    @property
    def live(self) -> bool:
        """A live source drops its backlog when scoring lags; a file waits for the scorer."""
        return self.kind != "file"

    def redacted_url(self) -> str:
        """The URL without its credentials (``rtsp://user:password@host``): for status and logs."""
        scheme, sep, rest = self.url.partition("://")
        if not sep:
            return self.url
        authority, slash, path = rest.partition("/")
        host = authority.rsplit("@", 1)[-1]
        return f"{scheme}://{'***@' if '@' in authority else ''}{host}{slash}{path}"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off, bounded, with jitter: waits shrink by up to ``jitter`` of themselves
    at random so that cameras dropped together (a switch rebooting) do not retry in lockstep."""

    initial_seconds: float = 1.0
    max_seconds: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not 0 < self.initial_seconds <= self.max_seconds:
            raise ValueError("back-off: 0 < initial_seconds <= max_seconds")
        if self.multiplier < 1 or not 0 <= self.jitter < 1:
            raise ValueError("back-off: multiplier at least 1, jitter in [0, 1)")

    def delay(self, failures: int, unit_random: float) -> float:
        """The wait after ``failures`` failed attempts in a row (1 or more); ``unit_random`` in [0, 1)."""
        exponent = min(max(failures, 1) - 1, 64)  # past the bound it stays at max_seconds
        base = min(self.max_seconds, self.initial_seconds * self.multiplier**exponent)
        return base * (1.0 - self.jitter * unit_random)


class FrameSampler:
    """Keeps one frame per ``1 / fps`` seconds of stream time; the slots do not drift."""

    def __init__(self, fps: float) -> None:
        self._interval = 1.0 / fps
        self._next_due: float | None = None

    def keep(self, timestamp: float) -> bool:
        due = self._next_due
        if due is None or timestamp < due - self._interval:  # first frame, or the clock went back
            self._next_due = timestamp + self._interval
            return True
        if timestamp + SAMPLING_TOLERANCE_SECONDS < due:
            return False
        # Next slot; a stall longer than a slot restarts the slots at this frame.
        stalled = timestamp >= due + self._interval
        self._next_due = (timestamp if stalled else due) + self._interval
        return True


@dataclass(frozen=True, slots=True)
class FrameStamp:
    """A camera batch's stamp: which camera, and when each frame was read (epoch seconds).

    Not a kept frame's origin (edgeloop.domain.frames.FrameOrigin): a stamp covers a batch
    before it is scored, with no insight yet."""

    camera_id: str
    captured_at: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class CameraStatus:
    camera_id: str
    kind: CameraKind
    url: str  # redacted
    state: CameraState
    frames_in: int  # decoded from the stream
    frames_scored: int
    dropped_sampling: int  # between the samples, by design
    dropped_backlog: int  # sampled, then pushed out while scoring lagged behind a live camera
    dropped_scoring_error: int  # in a batch the scorer failed
    reconnects: int  # connection attempts after the first
    last_frame_at: float | None  # epoch seconds
    last_error: str | None

    @property
    def frames_dropped(self) -> int:
        return self.dropped_sampling + self.dropped_backlog + self.dropped_scoring_error

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.camera_id,
            "kind": self.kind,
            "url": self.url,
            "state": self.state.value,
            "frames_in": self.frames_in,
            "frames_scored": self.frames_scored,
            "frames_dropped": self.frames_dropped,
            "dropped": {
                "sampling": self.dropped_sampling,
                "backlog": self.dropped_backlog,
                "scoring_error": self.dropped_scoring_error,
            },
            "reconnects": self.reconnects,
            "last_frame_at": self.last_frame_at,
            "last_error": self.last_error,
        }
