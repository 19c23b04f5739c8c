"""Frame ports: the camera frames' encoder, the on-site frame store, the on-site log of upload decisions.

Adapters: ``sqlite_frame_store`` (one SQLite file and a folder of frames on the site's
volume, implementing both); ``pillow_encoder`` (camera frames to JPEG)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edgeloop.domain.frame_policy import UploadOutcome
from edgeloop.domain.frames import DayUsage, KeptFrame, StoredFrame


class FrameTooLarge(ValueError):
    """A frame larger than the store's whole byte bound; refused before anything is written."""


class FrameEncoder(Protocol):
    """Encodes a decoded camera frame for keeping (adapter: ``pillow_encoder``)."""

    def encode_jpeg(self, rgb: npt.NDArray[np.uint8]) -> bytes:
        """JPEG bytes of an ``H x W x 3`` uint8 RGB frame."""
        ...


class FrameStore(Protocol):
    """Frames kept on site, within retention bounds (total bytes, age), oldest expired first.

    ``keep`` is atomic: a frame is visible (listed, got) only once its bytes are complete
    on disk; a crash part way leaves nothing visible. Retention is enforced on every keep
    (room is made for the new frame) and by ``expire``.
    """

    def keep(self, frame: KeptFrame) -> StoredFrame:
        """Store the frame; raises :class:`FrameTooLarge` if it alone exceeds the byte bound."""
        ...

    def keep_many(self, frames: Sequence[KeptFrame]) -> list[StoredFrame]:
        """Store the frames, in order, atomically as a whole (all visible or none), as that many
        ``keep`` calls would; raises :class:`FrameTooLarge` (nothing written) if one alone
        exceeds the byte bound."""
        ...

    def list_for_labelling(self, limit: int) -> list[StoredFrame]:
        """The newest kept frames first, without their bytes."""
        ...

    def get(self, frame_id: str) -> KeptFrame | None:
        """The frame with its bytes; None when it is not (or no longer) kept."""
        ...

    def expire(self, now: datetime | None = None) -> int:
        """Delete the frames past the retention bounds; how many went."""
        ...


@dataclass(frozen=True, slots=True)
class PendingFrame:
    """A kept frame not uploaded yet, the outcome last recorded for it (None: never decided),
    and its place in the store's order (pass it back as ``after`` for the next page)."""

    frame: StoredFrame
    last_outcome: UploadOutcome | None
    cursor: int


@dataclass(frozen=True, slots=True)
class FrameDecision:
    """One audited decision: a frame uploaded (as ``blob_name``) or refused, and why."""

    frame_id: str
    site_id: str
    outcome: UploadOutcome
    reason: str
    size_bytes: int
    decided_at: datetime
    blob_name: str | None = None


class FrameUploadLog(Protocol):
    """The site's audit of frame upload decisions, and its memory of what went (idempotence)."""

    def pending(self, after: int | None, limit: int) -> list[PendingFrame]:
        """Kept frames never uploaded, in keeping order, after the cursor ``after``."""
        ...

    def record(self, decisions: Sequence[FrameDecision]) -> None:
        """Append decisions; a second ``uploaded`` for one frame raises ``ValueError``."""
        ...

    def uploaded_since(self, site_id: str, since: datetime) -> DayUsage:
        """What the site uploaded from ``since`` on: the daily quota's usage."""
        ...

    def decisions(self, limit: int) -> list[FrameDecision]:
        """The newest decisions first."""
        ...
