"""Cameras' pure rules and settings: sampling slots, back-off, ids and URLs, SCORING_CAMERAS."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeloop.config.cameras import CameraSettings
from edgeloop.domain.cameras import Backoff, CameraSpec, FrameSampler, camera_kind


def kept(fps: float, timestamps: list[float]) -> list[float]:
    sampler = FrameSampler(fps)
    return [t for t in timestamps if sampler.keep(t)]


def test_a_25_fps_stream_sampled_at_5_keeps_every_fifth_frame() -> None:
    timestamps = [index * 0.04 for index in range(50)]  # 0.04 s steps carry float rounding
    assert kept(5, timestamps) == timestamps[::5]


def test_sampling_slots_do_not_drift_and_a_stall_restarts_them() -> None:
    assert kept(2, [0.0, 0.3, 0.55, 0.9, 1.05]) == [0.0, 0.55, 1.05]  # slots at 0, 0.5, 1.0
    assert kept(2, [0.0, 0.5, 3.2, 3.5, 3.7]) == [0.0, 0.5, 3.2, 3.7]  # after the stall: 3.2, 3.7


def test_a_clock_that_goes_back_restarts_the_slots() -> None:
    assert kept(1, [10.0, 10.5, 11.0, 0.0, 0.5, 1.0]) == [10.0, 11.0, 0.0, 1.0]


@given(
    st.floats(min_value=0.5, max_value=30),
    st.lists(st.floats(min_value=0.001, max_value=0.5), min_size=1, max_size=300),
)
def test_at_most_one_frame_is_kept_per_slot(fps: float, gaps: list[float]) -> None:
    timestamps = list(itertools.accumulate(gaps))
    kept_ones = kept(fps, timestamps)
    assert kept_ones[0] == timestamps[0]
    # Slots are fixed on the stream's timeline (a late frame does not push the next slot back).
    assert len(kept_ones) <= (timestamps[-1] - timestamps[0]) * fps * (1 + 1e-2) + 1


def test_back_off_doubles_to_its_bound_and_jitter_only_shortens() -> None:
    backoff = Backoff(initial_seconds=1, max_seconds=10, multiplier=2, jitter=0.5)
    assert [backoff.delay(failures, 0.0) for failures in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert backoff.delay(3, 0.999) == pytest.approx(4 * (1 - 0.5 * 0.999))
    assert backoff.delay(10_000, 0.0) == 10  # no overflow far past the bound


@pytest.mark.parametrize(
    ("url", "kind"),
    [("rtsp://cam/1", "rtsp"), ("RTSPS://cam/1", "rtsp"), ("http://cam/mjpg", "mjpeg"),
     ("https://cam/m", "mjpeg"), ("/videos/a.mp4", "file"), ("file:///v/a.mp4", "file")],
)  # fmt: skip
def test_camera_kind_from_the_url(url: str, kind: str) -> None:
    assert camera_kind(url) == kind


def test_credentials_never_show_in_a_redacted_url() -> None:
    camera = CameraSpec("c1", "rtsp://admin:hunter2@10.0.0.5:554/stream1")
    assert camera.redacted_url() == "rtsp://***@10.0.0.5:554/stream1"
    assert CameraSpec("c2", "/videos/a.mp4").redacted_url() == "/videos/a.mp4"


@pytest.mark.parametrize(
    ("camera", "field"),
    [
        ({"id": "a", "url": "rtsp://h/x", "sample_fps": 0}, "sample_fps"),
        ({"id": "a", "url": "rtsp://h/x", "sample_fps": "fast"}, "sample_fps"),
        ({"id": "a", "url": "rtsp://h/x", "batch_size": 0}, "batch_size"),
        ({"id": "a", "url": "rtsp://h/x", "batch_size": 2.5}, "batch_size"),
        ({"id": "has space", "url": "rtsp://h/x"}, "id"),
        ({"id": "a", "url": "ftp://h/x"}, "url"),
        ({"id": "a"}, "url"),
        ({"id": "a", "url": "rtsp://h/x", "fps": 5}, "fps"),
    ],
)
def test_a_bad_camera_is_refused_naming_its_index_and_field(camera: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"SCORING_CAMERAS\[1\]\.{field}"):
        CameraSettings(cameras=json.dumps([{"id": "ok", "url": "rtsp://h/ok"}, camera]))


def test_cameras_from_a_yaml_file_and_their_defaults(tmp_path: Path) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text(
        "cameras:\n  - {id: line-1, url: 'rtsp://cam-1/stream', sample_fps: 2, batch_size: 4}\n"
        "  - {id: dock, url: /videos/dock.mp4}\n",
        encoding="utf-8",
    )
    specs = CameraSettings(cameras_file=path).camera_specs()
    assert specs == (
        CameraSpec("line-1", "rtsp://cam-1/stream", 2, 4),
        CameraSpec("dock", "/videos/dock.mp4", 1.0, 8),
    )


def test_camera_settings_refuse_duplicates_two_sources_and_an_inverted_back_off(tmp_path: Path) -> None:
    twice = json.dumps([{"id": "a", "url": "rtsp://h/1"}, {"id": "a", "url": "rtsp://h/2"}])
    with pytest.raises(ValueError, match="camera id 'a' given twice"):
        CameraSettings(cameras=twice)
    with pytest.raises(ValueError, match="set one of them"):
        CameraSettings(cameras="[]", cameras_file=tmp_path / "c.yaml")
    with pytest.raises(ValueError, match="SCORING_CAMERAS: not valid JSON"):
        CameraSettings(cameras="[{")
    with pytest.raises(ValueError, match="BACKOFF_INITIAL_SECONDS"):
        CameraSettings(camera_backoff_initial_seconds=5, camera_backoff_max_seconds=1)
    with pytest.raises(ValueError, match=r"SCORING_CAMERAS_FILE .*cannot read"):
        CameraSettings(cameras_file=tmp_path / "missing.yaml")


def test_no_cameras_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCORING_CAMERAS", raising=False)
    monkeypatch.delenv("SCORING_CAMERAS_FILE", raising=False)
    assert CameraSettings().camera_specs() == ()
    monkeypatch.setenv("SCORING_CAMERAS", '[{"id": "e1", "url": "rtsp://h/x", "sample_fps": 0.5}]')
    assert CameraSettings().camera_specs() == (CameraSpec("e1", "rtsp://h/x", 0.5, 8),)


def test_batches_a_commit_default_to_four_and_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCORING_CAMERA_GROUP_BATCHES", raising=False)
    assert CameraSettings().camera_group_batches == 8
    monkeypatch.setenv("SCORING_CAMERA_GROUP_BATCHES", "1")  # a commit per batch
    assert CameraSettings().camera_group_batches == 1
    for refused in ("0", "17"):
        monkeypatch.setenv("SCORING_CAMERA_GROUP_BATCHES", refused)
        with pytest.raises(ValueError, match=r"camera_group_batches|SCORING_CAMERA_GROUP_BATCHES"):
            CameraSettings()
