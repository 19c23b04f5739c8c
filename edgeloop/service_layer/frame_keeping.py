"""Frame keeping: every frame a site scores is kept on site, after its insight is recorded.

Contract. Called once a batch's insights are committed to the outbox: an upload keeps its
original bytes (JPEG or PNG, as the file's own header says; the content type sent is not
trusted), a camera frame is encoded to JPEG (the ``FrameEncoder`` port) in the calling
thread (the thread that scores the camera: a live camera's scorer thread, never its reader; a
file camera's reader, which waits for its scoring anyway). The frames are handed to one writer
thread through a bounded queue, so the answer never waits on the store's fsyncs; the writer
keeps what is waiting, up to ``write_frames``, in one atomic ``keep_many``; ``close`` keeps
what was handed in. Each is kept with its
:class:`~edgeloop.domain.frames.FrameOrigin` (site, source, camera id or file name, the
time it was captured or uploaded, its insight) and its
:class:`~edgeloop.domain.frames.ResultSummary` (the top class and its probability;
``models_disagree`` False while a site serves one model). Keeping never fails the scoring:
a frame that cannot be kept (``FrameTooLarge``, the queue full, a disk or database error, a
model without a class to summarise) is counted in ``totals`` by reason and logged, and the next is
tried (a disk or database error loses the frames written with it: none of them is kept).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial

import numpy as np
import numpy.typing as npt

from edgeloop.domain.cameras import FrameStamp
from edgeloop.domain.detection_task import FIELDS
from edgeloop.domain.frames import FrameOrigin, KeptFrame, MediaType, ResultSummary
from edgeloop.domain.images import UploadedImage
from edgeloop.domain.records import utc_now
from edgeloop.ports import FrameEncoder, FrameStore, FrameTooLarge
from edgeloop.service_layer.image_scoring import ScoredImage, ScoredImages

logger = logging.getLogger(__name__)
# Why a frame was not kept; the /metrics label values.
NOT_KEPT = ("too_large", "backlog", "no_summary", "unsupported_type", "store_error")
# Frames handed in and not yet written: a burst fits; a disk slower than the scoring for longer
# drops frames (counted) rather than slowing answers or holding frames without bound.
DEFAULT_QUEUE_FRAMES = 256
# The writer keeps the frames waiting, up to this many, in one ``keep_many`` (one commit); a
# frame never waits for others to arrive.
DEFAULT_WRITE_FRAMES = 64


def media_type_of(data: bytes) -> MediaType | None:
    """The format the bytes' own header names (JPEG or PNG), else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def result_summary(scored: ScoredImages, image: ScoredImage) -> ResultSummary | None:
    """The top class and its probability, or a detector's count and best score; None when the
    model gives no finite class probability (nor detections: an image whose outputs were invalid)."""
    if isinstance(image.prediction, list):  # a detection model's detections, flat
        scores = [float(score) for score in image.prediction[1::FIELDS]]
        best = min(1.0, max(0.0, max(scores))) if scores else None
        return ResultSummary(detections=len(scores), max_score=best)
    probabilities = {name: image.outputs[output] for name, output in scored.probabilities}
    confidence = probabilities.get(image.prediction) if isinstance(image.prediction, str) else None
    if confidence is None or not math.isfinite(confidence):
        return None
    return ResultSummary(top_class=image.prediction, confidence=min(1.0, max(0.0, confidence)))


class FrameKeeping:
    """Use case behind keeping scored frames; I/O only through the ports given. Thread-safe:
    request threads and camera scorer threads hand frames in; one writer thread keeps them."""

    def __init__(
        self,
        store: FrameStore,
        site_id: str,
        encoder: FrameEncoder,
        clock: Callable[[], datetime] = utc_now,
        queue_frames: int = DEFAULT_QUEUE_FRAMES,
        write_frames: int = DEFAULT_WRITE_FRAMES,
    ) -> None:
        self._store = store
        self._site_id = site_id
        self._encoder = encoder
        self._clock = clock
        self._queue: queue.Queue[KeptFrame | None] = queue.Queue(queue_frames)
        if write_frames < 1:
            raise ValueError("write_frames: at least 1")
        self._write_frames = write_frames
        self._writer = threading.Thread(target=self._write, name="frame-keeper", daemon=True)
        self._lock = threading.Lock()  # counted from every thread that hands frames in
        self.totals: Counter[str] = Counter()  # "kept" and the NOT_KEPT reasons (the /metrics counters)

    def start(self) -> None:
        self._writer.start()

    def close(self, timeout: float = 30.0) -> None:
        """Keep what was handed in, then end the writer (a writer never started: nothing to do)."""
        if self._writer.is_alive():
            self._queue.put(None, timeout=timeout)
            self._writer.join(timeout)

    def keep_uploads(self, scored: ScoredImages, files: Sequence[UploadedImage]) -> None:
        """Hand in each uploaded file, as it came, beside its scored image (same order)."""
        uploaded_at = self._clock()
        for image, upload in zip(scored.images, files, strict=True):
            media_type = media_type_of(upload.data)
            if media_type is None:  # the decoder refuses these before scoring: a guard only
                self._count("unsupported_type")
                continue
            name = upload.file_name or "upload"
            origin = FrameOrigin(self._site_id, "upload", name, uploaded_at, image.insight_id)
            self._hand_in(scored, image, partial(_as_given, upload.data), media_type, origin)

    def keep_camera_frames(
        self, scored: ScoredImages, frames: Sequence[npt.NDArray[np.uint8]], stamp: FrameStamp
    ) -> None:
        """Encode each camera frame to JPEG here (the caller's thread) and hand it in."""
        for image, rgb, captured in zip(scored.images, frames, stamp.captured_at, strict=True):
            captured_at = datetime.fromtimestamp(captured, UTC)
            origin = FrameOrigin(self._site_id, "camera", stamp.camera_id, captured_at, image.insight_id)
            self._hand_in(scored, image, partial(self._encoder.encode_jpeg, rgb), "image/jpeg", origin)

    def _hand_in(
        self,
        scored: ScoredImages,
        image: ScoredImage,
        encoded: Callable[[], bytes],
        media_type: MediaType,
        origin: FrameOrigin,
    ) -> None:
        summary = result_summary(scored, image)
        if summary is None:
            self._count("no_summary")
            return
        try:
            self._queue.put_nowait(KeptFrame(encoded(), media_type, origin, summary))
        except queue.Full:  # the disk lags the scoring: this frame is not kept, the answer not slowed
            self._count("backlog")
        except Exception:  # an encoder fault: the insight is recorded, the frame lost is counted
            self._count("store_error")
            logger.exception("frame of insight %s not kept", image.insight_id)

    def _write(self) -> None:
        while (first := self._queue.get()) is not None:
            frames, closing = [first], False
            while len(frames) < self._write_frames:  # what is ready now: never waits for more
                try:
                    frame = self._queue.get_nowait()
                except queue.Empty:
                    break
                if frame is None:
                    closing = True
                    break
                frames.append(frame)
            self._keep(frames)
            if closing:
                return

    def _keep(self, frames: list[KeptFrame]) -> None:
        try:
            self._store.keep_many(frames)
        except FrameTooLarge as exc:
            if len(frames) > 1:  # which one: keep them one by one, the large one refused alone
                for frame in frames:
                    self._keep([frame])
                return
            self._count("too_large")
            logger.warning("frame of insight %s not kept: %s", frames[0].origin.insight_id, exc)
        except Exception:  # the insights are recorded: frames lost are counted, never the answer's fault
            self._count("store_error", len(frames))
            logger.exception(
                "%d frame(s) not kept, from insight %s", len(frames), frames[0].origin.insight_id
            )
        else:
            self._count("kept", len(frames))

    def _count(self, outcome: str, frames: int = 1) -> None:
        with self._lock:
            self.totals[outcome] += frames


def _as_given(data: bytes) -> bytes:
    return data
