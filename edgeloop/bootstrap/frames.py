"""Composition of a site's frame store and frame upload: called by the scoring app's lifespan.

Why in the scoring app, beside the relay, and not an edge Function timer: the frames live
on the scoring app's volume (one replica, ReadWriteOnce, like the outbox), and the edge
Functions scale out on other nodes without it. The policy file is read and validated here
at start-up, whether or not uploads are on, so a bad ``frames`` section stops the start.
With several uvicorn workers each opens the store, and the one holding ``upload.lock``
runs the timer: one uploader per volume, so the daily quota is counted by one writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.pillow_encoder import PillowJpegEncoder
from edgeloop.adapters.sqlite_frame_store import SqliteFrameStore
from edgeloop.bootstrap.site_trust import signing_blobs
from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.config.frames import FrameSettings
from edgeloop.domain.frame_policy import REFUSALS
from edgeloop.service_layer.frame_keeping import NOT_KEPT, FrameKeeping
from edgeloop.service_layer.frame_upload import FrameUpload, run_frame_timer

logger = logging.getLogger(__name__)
TIMER_LOCK_FILE = "upload.lock"


@dataclass
class FrameComponents:
    store: SqliteFrameStore
    keeping: FrameKeeping  # every scored frame, uploads and cameras, kept through this
    upload: FrameUpload | None  # None: uploads off (no cloud connection), or another worker runs them
    thread: threading.Thread | None
    stop: threading.Event = field(default_factory=threading.Event)
    lock_fd: int | None = None

    def metrics(self) -> dict[str, float]:
        """Decisions recorded by this process's uploader, by outcome, and whether its timer runs."""
        totals = self.upload.totals if self.upload is not None else None
        figures = {
            f"{outcome}_total": float(totals.get(outcome, 0) if totals is not None else 0)
            for outcome in ("uploaded", *REFUSALS, "errors")
        }
        figures.update(
            (f"keep_{outcome}_total", float(self.keeping.totals.get(outcome, 0)))
            for outcome in ("kept", *NOT_KEPT)
        )
        figures["timer_running"] = 1.0 if self.thread is not None and self.thread.is_alive() else 0.0
        figures["kept_frames"], figures["kept_bytes"] = map(float, self.store.kept_totals())
        return figures

    def close(self, timeout: float = 30.0) -> None:
        self.keeping.close(timeout)  # what was handed in is kept before the store closes
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # releases the timer lock
        self.store.close()


def _take_timer_lock(folder: Path) -> int | None:
    descriptor = os.open(folder / TIMER_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


def start_site_frames(
    site_id: str, settings: FrameSettings | None = None, clients: AzureClients | None = None
) -> FrameComponents | None:
    """The frame store, the keeping of ``site_id``'s scored frames, and the store's timer
    (retention; uploads when ``SCORING_FRAME_UPLOAD_STORAGE`` is set); None when the site
    keeps no frames (``SCORING_FRAMES_DIR`` unset)."""
    settings = settings or FrameSettings()
    if settings.frames_dir is None:
        return None
    policy = load_compliance_policy(settings.policy_path).frames
    store = SqliteFrameStore(settings.frames_dir, settings.retention())
    keeping = FrameKeeping(store, site_id, PillowJpegEncoder(settings.frames_jpeg_quality))
    components = FrameComponents(store, keeping, None, None)
    try:
        keeping.start()
        components.lock_fd = _take_timer_lock(settings.frames_dir)
        if components.lock_fd is None:
            return components
        if settings.upload_enabled:
            clients = clients or AzureClients.from_settings(settings)
            blobs = signing_blobs(  # signed with the site's key, as its records are
                AzureBlobStore.from_connection(settings.upload_connection(), clients), settings, site_id
            )
            components.upload = FrameUpload(store, store, blobs, policy)
        else:
            logger.info("frame upload off (%s unset): frames stay on site", "SCORING_FRAME_UPLOAD_STORAGE")
        components.thread = threading.Thread(
            target=run_frame_timer,
            args=(components.stop, settings.frame_upload_seconds, store, components.upload),
            name="frame-timer",
            daemon=True,
        )
        components.thread.start()
        return components
    except BaseException:
        with contextlib.suppress(Exception):
            components.close()
        raise
