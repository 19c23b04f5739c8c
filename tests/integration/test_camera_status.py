"""The scoring app's cameras: started with the app, shown in /readyz and /metrics, stopped with it.

One camera on GStreamer's RTSP server, one nothing answers: the site stays ready, both shown.
Frames go to tests/support/cameras.RecordingScorer where the test is about the status, and to
the real image scoring (a tiny real ONNX image model, tests/support/image_bundles) and outbox
where it is about what a camera records.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from support.cameras import RecordingScorer, rtsp_server, write_test_video
from support.image_bundles import tiny_image_bundle
from support.scoring_settings import scoring_settings
from support.waiting import wait_until

from edgeloop.config.cameras import CameraSettings
from scoring_app import create_app

WAIT = 30.0


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def camera_settings(*cameras: dict[str, object]) -> CameraSettings:
    return CameraSettings(
        cameras=json.dumps(list(cameras)),
        camera_backoff_initial_seconds=0.1,
        camera_backoff_max_seconds=0.5,
        camera_open_timeout_seconds=5,
        camera_read_timeout_seconds=5,
    )


def camera_samples(text: str, name: str) -> dict[tuple[str, ...], float]:
    found: dict[tuple[str, ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sample.labels[key] for key in sorted(sample.labels))] = sample.value
    return found


def test_cameras_show_in_readyz_and_metrics_and_a_down_one_keeps_the_site_ready(tmp_path: Path) -> None:
    video = write_test_video(tmp_path / "line.mp4", frames=1200)
    scorer = RecordingScorer()
    with rtsp_server(video) as server:
        cameras = camera_settings(
            {"id": "line-1", "url": server.url, "sample_fps": 5, "batch_size": 2},
            {"id": "dock", "url": f"rtsp://127.0.0.1:{closed_port()}/x", "sample_fps": 1, "batch_size": 8},
        )
        app = create_app(scoring_settings(tmp_path, tiny_image_bundle(tmp_path / "model")), cameras, scorer)
        with TestClient(app) as client:
            wait_until(lambda: scorer.frames >= 4, WAIT, "frames scored from line-1")
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            shown = ready.json()["checks"]["cameras"]
            assert (shown["enabled"], shown["configured"], shown["streaming"]) == (True, 2, 1)
            line, dock = shown["cameras"]
            assert (line["id"], line["state"], line["kind"]) == ("line-1", "streaming", "rtsp")
            assert line["frames_scored"] >= 4
            assert line["frames_in"] > line["frames_scored"]
            assert line["last_frame_at"] is not None
            assert dock["state"] in ("connecting", "backing off")
            assert dock["last_frame_at"] is None

            wait_until(lambda: app.state.ctx.cameras.statuses()[1].reconnects >= 1, WAIT, "dock retried")
            text = client.get("/metrics").text
            assert camera_samples(text, "edgeloop_camera_frames_scored_total")[("line-1",)] >= 4
            assert camera_samples(text, "edgeloop_camera_reconnects_total")[("dock",)] >= 1
            dropped = camera_samples(text, "edgeloop_camera_frames_dropped_total")
            assert dropped[("line-1", "sampling")] >= 1
            states = camera_samples(text, "edgeloop_camera_state")
            assert states[("line-1", "streaming")] == 1.0
            assert states[("dock", "streaming")] == 0.0
            assert ("line-1",) in camera_samples(text, "edgeloop_camera_last_frame_timestamp_seconds")
            workers = app.state.ctx.cameras.workers
        # Stopped with the app: every camera thread has ended.
        assert not any(worker.running for worker in workers)
        assert {status.state.value for status in app.state.ctx.cameras.statuses()} == {"stopped"}


def test_a_site_without_cameras_says_so(tmp_path: Path, defect_bundle_dir: Path) -> None:
    app = create_app(scoring_settings(tmp_path, defect_bundle_dir), CameraSettings(), RecordingScorer())
    with TestClient(app) as client:
        assert client.get("/readyz").json()["checks"]["cameras"] == {"enabled": False}
        assert "edgeloop_camera_" not in client.get("/metrics").text


def test_camera_frames_are_scored_by_the_served_image_model_into_the_outbox(tmp_path: Path) -> None:
    bundle = tiny_image_bundle(tmp_path / "tiny-vision")
    video = write_test_video(tmp_path / "line.mp4", frames=1200)
    with rtsp_server(video) as server:
        # Batches of 40: above the upload bound (SCORING_IMAGE_MAX_FILES, 32), which is not a camera's.
        cameras = camera_settings({"id": "press-3", "url": server.url, "sample_fps": 10, "batch_size": 40})
        settings = scoring_settings(tmp_path, bundle)
        app = create_app(settings, cameras)  # no scorer given: the served model's image scoring
        with TestClient(app) as client:
            outbox = app.state.ctx.components.outbox
            wait_until(lambda: outbox.depth() >= 40, WAIT, "a batch of insights in the outbox")
            shown = client.get("/readyz").json()["checks"]["cameras"]["cameras"][0]
            records = outbox.recent("insight", 100)
    assert shown["frames_scored"] >= 40
    assert shown["dropped"]["scoring_error"] == 0
    assert len(records) >= 40
    record = records[0]
    assert record["context"] == {"source": "camera", "camera_id": "press-3"}
    assert record["inputs"] == {}  # derived results only: the frame stays on site
    assert record["model"]["name"] == "tiny-vision"
    assert record["prediction"] in ("bright", "dark")
    # A batch, or a group of batches scored together when scoring lagged, is one entry: insight
    # ids <entry>-00000 .. in order, a whole number of batches of 40 each.
    entries: dict[str, list[int]] = {}
    for record in records:
        entry, number = record["insight_id"].rsplit("-", 1)
        entries.setdefault(entry, []).append(int(number))
    assert all(max(numbers) % 40 == 39 for numbers in entries.values())


def test_cameras_on_a_model_of_rows_stop_the_start_naming_the_setting(
    tmp_path: Path, defect_bundle_dir: Path
) -> None:
    cameras = camera_settings({"id": "c1", "url": "rtsp://127.0.0.1:9/x"})
    app = create_app(scoring_settings(tmp_path, defect_bundle_dir), cameras)
    with pytest.raises(ValueError, match=r"SCORING_CAMERAS: the served model .* takes rows"), TestClient(app):
        pass


def test_cameras_with_several_worker_processes_stop_the_start(tmp_path: Path) -> None:
    cameras = camera_settings({"id": "c1", "url": "rtsp://127.0.0.1:9/x"})
    settings = scoring_settings(tmp_path, tiny_image_bundle(tmp_path / "model"), workers=2)
    with pytest.raises(ValueError, match="SCORING_WORKERS=1"), TestClient(create_app(settings, cameras)):
        pass
