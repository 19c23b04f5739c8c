"""Labelled frames for a retraining run: the frames the sites let out, joined with their labels.

Contract. A frame's label travels as feedback on the frame's insight (frame_labelling), to the
compliant records like any label; the frame travels only where its site's policy lets it out
(frame_upload), into the cloud's ``frames`` container: its picture and a document naming its
insight. ``join`` lists those documents (captured within the lookback), keeps the frames whose
insight has a label of the champion's task (the latest: ``labelled``), reads each picture and
decodes it (the ImageDecoder port, within its bounds), and returns them as labelled rows whose
image input is the frame's pixels. Nothing else can reach training: a frame kept on site has
no blob here. A frame without a label, or whose picture is missing or does not decode, is
counted and left out; so is one whose document or picture the reader refuses
(:class:`~edgeloop.ports.SiteBlobRefused`: not signed by the site it is filed under).
Joined in the cloud by insight id, rather than stamped on the uploaded
frame, so a label given after the upload, or corrected, counts too.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from edgeloop.domain.frames import FILE_SUFFIXES
from edgeloop.domain.images import ImageBounds, ImageRefused, UploadedImage
from edgeloop.domain.records import parse_timestamp
from edgeloop.ports import BlobReader, ImageDecoder, LabelledRow, SiteBlobRefused
from edgeloop.wire.storage_layout import FRAMES_CONTAINER

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameJoin:
    """The labelled frames found, and what was left out (for the run report)."""

    rows: list[LabelledRow]
    frames_in_cloud: int = 0  # frame documents within the lookback
    unlabelled_frames: int = 0
    unreadable_frames: int = 0  # a document without its picture, or a picture that does not decode
    labels_without_frame: int = 0  # labelled insights whose frame stayed on site
    refused_frames: int = 0  # a document or picture not signed by its site

    def report(self) -> dict[str, Any]:
        sites = Counter(row.site for row in self.rows)
        document: dict[str, Any] = {
            "labelled_frames": len(self.rows),
            "sites": dict(sorted(sites.items())),
            "frames_in_cloud": self.frames_in_cloud,
            "unlabelled_frames": self.unlabelled_frames,
            "unreadable_frames": self.unreadable_frames,
            "labels_without_frame": self.labels_without_frame,
            "refused_frames": self.refused_frames,
        }
        if not self.rows:
            document["note"] = (
                f"no labelled frame in the {FRAMES_CONTAINER!r} container: no site's policy let a "
                "labelled frame out (default deny), or none was labelled; trained on the base images"
            )
        return document


class LabelledFrames:
    """The cloud account's ``frames`` container, read through ``blobs``; pictures decoded by ``decoder``."""

    def __init__(self, blobs: BlobReader, decoder: ImageDecoder, bounds: ImageBounds | None = None) -> None:
        self._blobs = blobs
        self._decoder = decoder
        self._bounds = bounds or ImageBounds(max_images=1)

    def join(self, labelled: Sequence[LabelledRow], since: datetime, input_name: str) -> FrameJoin:
        """The frames captured from ``since``'s day on whose insight ``labelled`` has a label."""
        labels = {row.insight_id: row for row in labelled}
        oldest = since.strftime("%Y-%m-%d")
        rows: list[LabelledRow] = []
        seen = unlabelled = unreadable = refused = 0
        joined: set[str] = set()
        for name in self._blobs.list_names(FRAMES_CONTAINER):
            if not name.endswith(".json") or (_date_of(name) or oldest) < oldest:
                continue
            seen += 1
            try:
                document = orjson.loads(self._blobs.get(FRAMES_CONTAINER, name))
                label = labels.get(str(document.get("insight_id")))
                row = None if label is None else self._row(name, document, label, input_name)
            except SiteBlobRefused as exc:
                logger.warning("frame left out of training: %s", exc)
                refused += 1
                continue
            if label is None:
                unlabelled += 1
                continue
            if row is None:
                unreadable += 1
                continue
            rows.append(row)
            joined.add(label.insight_id)
        without = len(labels.keys() - joined)
        return FrameJoin(rows, seen, unlabelled, unreadable, without, refused)

    def _row(
        self, name: str, document: dict[str, Any], label: LabelledRow, input_name: str
    ) -> LabelledRow | None:
        suffix = FILE_SUFFIXES.get(str(document.get("media_type")))
        if suffix is None:
            return None
        picture = f"{name.rsplit('.', 1)[0]}.{suffix}"
        data = self._blobs.get(FRAMES_CONTAINER, picture)  # put before its document: it is there
        try:
            pixels = self._decoder.decode(UploadedImage(picture, None, data), self._bounds)
        except ImageRefused as exc:
            logger.warning("frame %s/%s left out of training: %s", FRAMES_CONTAINER, picture, exc)
            return None
        at = label.scored_at
        with contextlib.suppress(ValueError):  # a time the dataset can do without
            at = parse_timestamp(str(document.get("captured_at")), "captured_at")
        site = str(document.get("site_id") or label.site)
        return LabelledRow(label.insight_id, {input_name: pixels}, label.label, site, at, label.prediction)


def frame_rows(
    frames: LabelledFrames | None, labelled: Sequence[LabelledRow], since: datetime, input_name: str
) -> tuple[list[LabelledRow], dict[str, Any]]:
    """An image model's training rows (its labelled frames) and the run report's ``frames`` entry."""
    join = (
        frames.join(labelled, since, input_name)
        if frames
        else FrameJoin([], labels_without_frame=len(labelled))
    )
    return join.rows, join.report()


def _date_of(blob_name: str) -> str | None:
    """``YYYY-MM-DD`` of ``site=<site>/date=<date>/<frame>.json`` (None: another layout)."""
    for segment in blob_name.split("/"):
        if segment.startswith("date="):
            return segment[len("date=") :]
    return None
