"""A camera worker with a detection model: a generated mp4 (PyAV), the real worker and connector, the
site's camera scorer on the image scoring use case, the tiny detection graph on onnxruntime
(tests/support/detection_bundles.py), the SQLite outbox. Every sampled frame shows a dark bottom-right
quadrant, so each insight must hold that one stain, with the camera's id and no pixel. Waits are on
conditions."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from support.detection_bundles import tiny_detection_bundle
from support.waiting import wait_until

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.pyav_camera import PyAvConnector
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.bootstrap.cameras import CameraImageScoring
from edgeloop.domain.cameras import Backoff, CameraSpec, CameraState
from edgeloop.domain.images import ImageBounds
from edgeloop.service_layer.camera_worker import CameraWorker
from edgeloop.service_layer.image_scoring import ImageScoringService

WAIT = 30.0


def write_quadrant_video(path: Path, frames: int, fps: int = 10) -> Path:
    """An H.264 mp4 of 160 x 120 white frames whose bottom-right quadrant is black."""
    picture = np.full((120, 160, 3), 255, dtype=np.uint8)
    picture[60:, 80:] = 0
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"bf": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for _ in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_a_camera_s_frames_are_scored_by_a_detection_model_into_insights(tmp_path: Path) -> None:
    model = OnnxModel.load(tiny_detection_bundle(tmp_path / "bundle"))
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite3", 1000)
    images = ImageScoringService(
        outbox, "site-dock", lambda: model, PillowDecoder(), ImageBounds(max_images=8)
    )
    video = write_quadrant_video(tmp_path / "dock.mp4", frames=20)
    camera = CameraSpec("dock-cam", str(video), sample_fps=5, batch_size=4)
    backoff = Backoff(initial_seconds=0.1, max_seconds=0.5, multiplier=2.0, jitter=0.2)
    connector = PyAvConnector(open_timeout=5.0, read_timeout=5.0)
    worker = CameraWorker(camera, connector, CameraImageScoring(images), backoff, batch_max_wait=5.0)
    worker.start()
    try:
        wait_until(lambda: worker.status().state is CameraState.ENDED, WAIT, "the file read to its end")
        wait_until(
            lambda: worker.status().frames_scored == 10,
            WAIT,
            "10 samples scored",
            details=lambda: str(worker.status()),
        )
    finally:
        worker.stop()
    records = outbox.recent("insight", 100)
    outbox.close()
    assert len(records) == 10
    for record in records:
        class_name, score, *box = record["prediction"]
        assert class_name == "stain"
        assert score > 0.9
        assert box == [0.5, 0.5, 1.0, 1.0]
        assert record["outputs"] == {"count_stain": 1, "count_glare": 0, "uncertain": 0}
        assert record["anomaly_kinds"] == ["alert_class"]
        assert record["context"] == {"source": "camera", "camera_id": "dock-cam"}
        assert record["inputs"] == {}
