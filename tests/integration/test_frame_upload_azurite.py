"""Frames stay on site unless the policy lets them out (the frame upload use case, against Azurite).

Canary frames (edgeloop's tests/support/frames.py) are kept in a real frame store; after the
upload runs, every blob of every container of the cloud account is listed and read, and
searched for each canary (its text, carried in the PNG's bytes and in the file name) and
for the frame's bytes. Denied: none anywhere. Allowed: only frames worth a label, only
within the daily quota, each decision audited on site, none uploaded twice, and each as its
picture only (no text chunk, no file name).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from PIL import Image
from support.frames import NOON, canary, canary_frame

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.sqlite_frame_store import SqliteFrameStore
from edgeloop.domain.compliance import parse_policy
from edgeloop.domain.frame_policy import FramePolicy
from edgeloop.domain.frames import KeptFrame, RetentionBounds, StoredFrame
from edgeloop.service_layer.frame_upload import FrameUpload
from edgeloop.wire.storage_layout import FRAMES_CONTAINER
from localdev.azurite import Azurite

NOT_WORTH = 0.99  # far from the 0.5 threshold


def frames_policy(site: str, **rule: Any) -> FramePolicy:
    allow = {
        "upload": "allow",
        "max_frames_per_day": 2,
        "max_bytes_per_day": 10**7,
        "worth_a_label": {"threshold": 0.5, "band": 0.1},
        **rule,
    }
    document = {"version": 1, "fields": {"kind": "allow"}, "frames": {"sites": {site: allow}}}
    return parse_policy(document, "test-policy.yaml").frames


def cloud_account(azurite: Azurite) -> Iterator[tuple[str, str, bytes]]:
    """``(container, blob name, content)`` of every blob in the cloud account."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string("cloud"))
    for container in service.list_containers():
        client = service.get_container_client(container.name)
        for blob in client.list_blobs():
            yield container.name, blob.name, client.download_blob(blob.name).readall()


def leaked(azurite: Azurite, marks: dict[str, KeptFrame]) -> dict[str, set[str]]:
    """Canary -> how it was found anywhere in the cloud account: in a blob's ``name``, as ``text``
    or the frame's whole ``bytes`` in a blob, or as its ``pixels`` (a blob that decodes to them)."""
    found: dict[str, set[str]] = {}
    patterns = {decoded(frame.data): mark for mark, frame in marks.items()}
    patterns.pop(None, None)  # a frame that does not decode is still found by its text and bytes
    for _, name, content in cloud_account(azurite):
        for mark, frame in marks.items():
            ways = {"name"} if mark in name else set()
            ways |= {"text"} if mark.encode() in content else set()
            ways |= {"bytes"} if frame.data in content else set()
            if ways:
                found.setdefault(mark, set()).update(ways)
        mark_of_pixels = patterns.get(decoded(content))  # most blobs are not images: None
        if mark_of_pixels is not None:
            found.setdefault(mark_of_pixels, set()).add("pixels")
    return found


def decoded(data: bytes) -> bytes | None:
    """The pixels ``data`` decodes to; None when it is not a (whole) image."""
    with contextlib.suppress(OSError, SyntaxError, ValueError):
        return pixels(data)
    return None


class Site:
    def __init__(self, azurite: Azurite, folder: Path, policy: FramePolicy) -> None:
        self.now: datetime = NOON
        self.store = SqliteFrameStore(folder, RetentionBounds(10**8, timedelta(days=30)), clock=self.clock)
        blobs = AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))
        self.upload = FrameUpload(self.store, self.store, blobs, policy, clock=self.clock)
        self.marks: dict[str, KeptFrame] = {}
        self.ids: dict[str, str] = {}

    def clock(self) -> datetime:
        return self.now

    def keep(self, **options: Any) -> str:
        mark: str = canary()
        frame = canary_frame(mark, **options)
        stored: StoredFrame = self.store.keep(frame)
        self.marks[mark], self.ids[mark] = frame, stored.frame_id
        return mark

    def outcomes(self) -> dict[str, list[str]]:
        """Canary -> the outcomes audited for its frame, oldest first."""
        by_id: dict[str, list[str]] = {}
        for decision in reversed(self.store.decisions(1000)):
            by_id.setdefault(decision.frame_id, []).append(decision.outcome)
        return {mark: by_id.get(frame_id, []) for mark, frame_id in self.ids.items()}


@pytest.mark.parametrize("site_rule", ["not listed", "listed with upload: deny"])
def test_no_frame_reaches_the_cloud_when_the_policy_denies(
    azurite: Azurite, tmp_path: Path, site_rule: str
) -> None:
    sites = {} if site_rule == "not listed" else {"plant-7": {"upload": "deny"}}
    policy = parse_policy({"version": 1, "fields": {"kind": "allow"}, "frames": {"sites": sites}}, "p.yaml")
    site = Site(azurite, tmp_path, policy.frames)
    for options in ({}, {"disagree": True}, {"confidence": NOT_WORTH}, {"source": "camera"}):
        site.keep(**options)
    assert site.upload.run_once() == {"policy_denies": 4}
    assert leaked(azurite, site.marks) == {}
    assert all(outcomes == ["policy_denies"] for outcomes in site.outcomes().values())
    reason = site.store.decisions(1)[0].reason
    assert reason.startswith("site 'plant-7': ")
    assert ("default deny" in reason) == (site_rule == "not listed")
    # Looked at again, unchanged: nothing new goes, nothing new is audited.
    assert site.upload.run_once() == {}
    assert len(site.store.decisions(1000)) == 4
    assert leaked(azurite, site.marks) == {}


def test_with_the_policy_allowing_only_frames_worth_a_label_go_within_the_daily_quota(
    azurite: Azurite, tmp_path: Path
) -> None:
    site = Site(azurite, tmp_path, frames_policy("plant-7", max_frames_per_day=2))
    near = site.keep(confidence=0.55)
    confident = site.keep(confidence=NOT_WORTH)
    disagreed = site.keep(confidence=NOT_WORTH, disagree=True)
    over_quota = site.keep(confidence=0.45)
    other_site = site.keep(site="plant-8", confidence=0.5)
    assert site.upload.run_once() == {
        "uploaded": 2,
        "not_worth_a_label": 1,
        "quota_reached": 1,
        "policy_denies": 1,
    }
    # Only the uploaded frames are in the cloud, and only as their pictures: not their text
    # chunk (the canary) nor the file name (it holds the canary too).
    assert leaked(azurite, site.marks) == {near: {"pixels"}, disagreed: {"pixels"}}
    uploaded = cloud_frames(azurite, site, near, disagreed)
    assert set(uploaded) == {near, disagreed}
    for mark, picture in uploaded.items():
        assert pixels(picture) == pixels(site.marks[mark].data)
    assert site.outcomes() == {
        near: ["uploaded"],
        confident: ["not_worth_a_label"],
        disagreed: ["uploaded"],
        over_quota: ["quota_reached"],
        other_site: ["policy_denies"],
    }
    assert site.upload.run_once() == {}  # idempotent: what went never goes again
    site.now = NOON + timedelta(days=1)  # a new day, a new quota
    assert site.upload.run_once() == {"uploaded": 1}
    assert site.outcomes()[over_quota] == ["quota_reached", "uploaded"]
    assert set(cloud_frames(azurite, site, near, disagreed, over_quota)) == {near, disagreed, over_quota}
    assert site.upload.totals["uploaded"] == 3


def test_the_daily_quota_counts_bytes_too(azurite: Azurite, tmp_path: Path) -> None:
    site = Site(azurite, tmp_path, frames_policy("plant-7", max_frames_per_day=100))
    first = site.keep()
    second = site.keep()
    allowed = site.marks[first].size_bytes + site.marks[second].size_bytes - 1
    site.upload = FrameUpload(
        site.store,
        site.store,
        AzureBlobStore.from_connection_string(azurite.connection_string("cloud")),
        frames_policy("plant-7", max_frames_per_day=100, max_bytes_per_day=allowed),
        clock=site.clock,
    )
    assert site.upload.run_once() == {"uploaded": 1, "quota_reached": 1}
    assert site.outcomes() == {first: ["uploaded"], second: ["quota_reached"]}
    assert set(cloud_frames(azurite, site, first, second)) == {first}


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


def test_an_allowed_frame_that_is_not_a_well_formed_image_stays_on_site(
    azurite: Azurite, tmp_path: Path
) -> None:
    site = Site(azurite, tmp_path, frames_policy("plant-7"))
    mark = site.keep()
    frame = site.marks[mark]
    broken = KeptFrame(frame.data[:-30], frame.media_type, frame.origin, frame.result)  # IEND cut off
    site.ids[mark] = site.store.keep(broken).frame_id
    site.marks[mark] = broken
    assert site.upload.run_once() == {"uploaded": 1, "unreadable": 1}
    assert leaked(azurite, {mark: broken}) == {}
    assert site.upload.run_once() == {}  # audited once
    unreadable = [d for d in site.store.decisions(10) if d.outcome == "unreadable"]
    assert len(unreadable) == 1
    assert unreadable[0].reason.startswith("data: ")


def cloud_frames(azurite: Azurite, site: Site, *marks: str) -> dict[str, bytes]:
    """Canary -> the bytes of its frame in the cloud's ``frames`` container, for those uploaded;
    checks each has its result document beside it, naming no file."""
    by_id = {site.ids[mark]: mark for mark in marks}
    found: dict[str, bytes] = {}
    documents: dict[str, bytes] = {}
    for container, name, content in cloud_account(azurite):
        frame_id = name.rsplit("/", 1)[-1].split(".", 1)[0]
        if container != FRAMES_CONTAINER or frame_id not in by_id:
            continue
        if name.endswith(".png"):
            found[by_id[frame_id]] = content
        else:
            documents[by_id[frame_id]] = content
    assert set(documents) == set(found)
    for mark, document in documents.items():
        assert mark.encode() not in document
        assert b'"result"' in document
    return found
