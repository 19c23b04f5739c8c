"""Camera ports: a stream of decoded frames, how to open one, and what scores sampled frames.

Adapters: ``pyav_camera`` (RTSP, HTTP MJPEG and video files through PyAV). The scorer is the
image scoring use case, wired in ``edgeloop.bootstrap.cameras``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edgeloop.domain.cameras import CameraSpec, FrameStamp

RgbFrame = npt.NDArray[np.uint8]  # height x width x 3, RGB


class CameraUnavailable(RuntimeError):
    """The camera cannot be reached, or its stream broke; the worker backs off and reconnects."""


class VideoFrame(Protocol):
    """A decoded frame, not yet converted: converting costs more than deciding to drop it."""

    @property
    def timestamp(self) -> float:
        """Seconds on the stream's own timeline (presentation time)."""
        ...

    def rgb(self) -> RgbFrame:
        """The frame as a height x width x 3 uint8 RGB array."""
        ...


class CameraStream(Protocol):
    def frames(self) -> Iterator[VideoFrame]:
        """Decoded frames in order; ends when a file ends or a live stream closes cleanly;
        raises :class:`CameraUnavailable` when the stream breaks or stalls past its timeout."""
        ...

    def close(self) -> None: ...


class CameraConnector(Protocol):
    def open(self, camera: CameraSpec) -> CameraStream:
        """Connect to the camera; raises :class:`CameraUnavailable` naming why it could not."""
        ...


class FrameScorer(Protocol):
    """Scores batches of frames from one camera and records the insights (derived results only).

    ``batches``: one or more batches, oldest first, each one graph call; ``stamp``: the capture
    times of all their frames, in the same order. The group's insights are committed together
    (all or nothing). Raises on failure; the worker counts the group's frames as dropped and
    goes on."""

    def score_batches(self, batches: Sequence[Sequence[RgbFrame]], stamp: FrameStamp) -> object: ...
