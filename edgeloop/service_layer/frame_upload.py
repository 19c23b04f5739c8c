"""Frame upload: the kept frames a site's policy lets out go to the cloud, every decision audited.

Contract. One ``run_once`` looks at every kept frame not uploaded yet, oldest first, and
asks the policy (edgeloop.domain.frame_policy: default deny, worth a label, the site's
daily quota counted from UTC midnight over what the audit says went). A frame allowed is
put in the cloud account's ``frames`` container (its picture without metadata, then its
result document, both under a name fixed by the frame's id), then recorded ``uploaded``:
never uploaded again. A frame whose metadata cannot be removed (bytes that are not a
well-formed image) is refused ``unreadable``.
A crash between the put and the record rewrites the same blobs on the next run, so the
cloud never holds two copies. A refusal (``policy_denies``, ``not_worth_a_label``,
``quota_reached``, ``unreadable``) is audited when it differs from the frame's last recorded outcome, so
the audit shows each decision and each change, not every look. The audit lives on site
(FrameUploadLog). Nothing of a refused frame reaches the cloud, nor an uploaded file's
name, EXIF or text chunks.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from edgeloop.domain.frame_metadata import without_metadata
from edgeloop.domain.frame_policy import FramePolicy, UploadDecision
from edgeloop.domain.frames import DayUsage, FrameError, KeptFrame, StoredFrame, day_start
from edgeloop.domain.records import format_timestamp, utc_now
from edgeloop.ports import BlobStore, FrameDecision, FrameStore, FrameUploadLog
from edgeloop.wire.storage_layout import (
    FRAME_DOCUMENT_CONTENT_TYPE,
    FRAMES_CONTAINER,
    frame_blob_name,
    frame_document_name,
)

logger = logging.getLogger(__name__)
PAGE = 500


def frame_document(stored: StoredFrame) -> bytes:
    """What the cloud learns of a frame: ids, time, camera (never a file name), derived result."""
    origin, result = stored.origin, stored.result
    document: dict[str, Any] = {
        "frame_id": stored.frame_id,
        "site_id": origin.site_id,
        "insight_id": origin.insight_id,
        "captured_at": format_timestamp(origin.captured_at),
        "source": origin.source,
        "camera_id": origin.source_name if origin.source == "camera" else None,
        "media_type": stored.media_type,
        "size_bytes": stored.size_bytes,
        "result": {
            "top_class": result.top_class,
            "confidence": result.confidence,
            "detections": result.detections,
            "max_score": result.max_score,
            "models_disagree": result.models_disagree,
        },
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


class FrameUpload:
    """Use case behind the site's frame upload timer; I/O only through the ports given."""

    def __init__(
        self,
        frames: FrameStore,
        log: FrameUploadLog,
        cloud_blobs: BlobStore,
        policy: FramePolicy,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._frames = frames
        self._log = log
        self._blobs = cloud_blobs
        self._policy = policy
        self._clock = clock
        self.totals: Counter[str] = Counter()  # decisions recorded, by outcome (the /metrics counters)

    def run_once(self) -> Counter[str]:
        """Decide every pending frame; the decisions recorded by this run, by outcome."""
        now = self._clock()
        used: dict[str, DayUsage] = {}
        recorded: Counter[str] = Counter()
        after: int | None = None
        while page := self._log.pending(after, PAGE):
            refusals: list[FrameDecision] = []
            for pending in page:
                after = pending.cursor
                stored = pending.frame
                site = stored.origin.site_id
                if site not in used:
                    used[site] = self._log.uploaded_since(site, day_start(now))
                decided = self._policy.decide(stored, used[site])
                decision = self._upload(stored, decided, now) if decided.allowed else decided
                if decision is None:  # expired since it was listed: nothing to decide
                    continue
                if decision.allowed:
                    used[site] = DayUsage(used[site].frames + 1, used[site].bytes + stored.size_bytes)
                    recorded["uploaded"] += 1
                elif decision.outcome != pending.last_outcome:
                    refusals.append(self._decision(stored, decision, now))
            if refusals:
                self._log.record(refusals)
            recorded.update(refusal.outcome for refusal in refusals)
        self.totals.update(recorded)
        return recorded

    def _upload(self, stored: StoredFrame, decision: UploadDecision, now: datetime) -> UploadDecision | None:
        """Send the frame's picture (no metadata) and its result document, then record it; the
        refusal instead when its bytes are not a well-formed image; None when it expired."""
        kept: KeptFrame | None = self._frames.get(stored.frame_id)
        if kept is None:
            return None
        try:
            picture = without_metadata(kept.data, kept.media_type)
        except FrameError as exc:
            return UploadDecision("unreadable", str(exc))
        date = stored.origin.captured_at.date().isoformat()
        name = frame_blob_name(stored.origin.site_id, date, stored.frame_id, stored.file_suffix)
        self._blobs.put(FRAMES_CONTAINER, name, picture, content_type=stored.media_type)
        self._blobs.put(
            FRAMES_CONTAINER,
            frame_document_name(name),
            frame_document(stored),
            content_type=FRAME_DOCUMENT_CONTENT_TYPE,
        )
        self._log.record([self._decision(stored, decision, now, blob_name=name)])
        logger.info("uploaded frame %s as %s/%s", stored.frame_id, FRAMES_CONTAINER, name)
        return decision

    @staticmethod
    def _decision(
        stored: StoredFrame, decision: UploadDecision, now: datetime, blob_name: str | None = None
    ) -> FrameDecision:
        return FrameDecision(
            frame_id=stored.frame_id,
            site_id=stored.origin.site_id,
            outcome=decision.outcome,
            reason=decision.reason,
            size_bytes=stored.size_bytes,
            decided_at=now,
            blob_name=blob_name,
        )


def run_frame_timer(
    stop: threading.Event, interval: float, frames: FrameStore, upload: FrameUpload | None
) -> None:
    """Every ``interval`` seconds until ``stop``: expire what retention bounds, then (when the site
    uploads at all) upload. A failed run is logged and retried at the next tick: the uplink may be
    down, and the frames wait on site."""
    while not stop.is_set():
        try:
            frames.expire()
            if upload is not None:
                upload.run_once()
        except Exception:
            if upload is not None:
                upload.totals["errors"] += 1
            logger.exception("frame timer run failed; retrying in %.0fs", interval)
        stop.wait(interval)
