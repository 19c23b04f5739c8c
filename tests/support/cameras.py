"""Camera test parts: videos the tests generate, a real RTSP server, and a scorer that records.

``RtspServer`` runs tests/support/rtsp_server.py with the system Python (GStreamer's RTSP
server lives in its GObject bindings) and waits for its ``ready`` line, never a sleep.
"""

from __future__ import annotations

import selectors
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import av
import numpy as np

from edgeloop.domain.cameras import FrameStamp
from edgeloop.ports.cameras import RgbFrame

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).resolve().parent / "rtsp_server.py"
READY_TIMEOUT = 30.0
INDEX_CYCLE, INDEX_STEP = 32, 8  # far enough apart for H.264's rounding


def frame_index(rgb: RgbFrame) -> int:
    """Which frame of a :func:`write_test_video` this is, modulo 32."""
    return round(float(rgb[:, :, 0].mean()) / INDEX_STEP) % INDEX_CYCLE


def write_test_video(path: Path, frames: int, fps: int = 10, width: int = 160, height: int = 120) -> Path:
    """An H.264 mp4 of synthetic frames, frame i's red channel at ``(i % 32) * 8`` (read back
    by :func:`frame_index`); no B-frames, like most IP cameras, so every frame is decoded."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"bf": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            image = np.zeros((height, width, 3), np.uint8)
            image[:, :, 0] = (index % INDEX_CYCLE) * INDEX_STEP
            image[: height // 2, : width // 2, 1] = 200  # some structure for the encoder
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


class RtspServer:
    """GStreamer's RTSP server on 127.0.0.1 serving one video; ``kill`` and ``start`` again
    (on the same port) to drop and bring back the camera."""

    def __init__(self, video: Path) -> None:
        self.video = video
        self.port = 0
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> str:
        process = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER_SCRIPT), str(self.video), "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._process = process
        line = _first_line(process, READY_TIMEOUT)
        if not line.startswith("ready "):
            self.kill()
            raise AssertionError(f"the RTSP server did not start: {line!r}")
        self.url = line.split(" ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1].split("/", 1)[0])
        # Drain its output so a chatty GStreamer never blocks on a full pipe.
        assert process.stdout is not None
        threading.Thread(target=process.stdout.read, daemon=True).start()
        return self.url

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)
        self._process = None


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return f"no output within {timeout}s"
    return process.stdout.readline() or f"exited with {process.wait(5)}"


@contextmanager
def rtsp_server(video: Path) -> Iterator[RtspServer]:
    server = RtspServer(video)
    server.start()
    try:
        yield server
    finally:
        server.kill()


class RecordingScorer:
    """A stand-in ``FrameScorer`` that keeps what it was given: the worker's tests check how
    frames are batched and grouped, not what a model makes of them (the image scoring's own
    tests do). ``batches``: every batch scored, in order, with its part of the group's stamp;
    ``groups``: the batches' sizes per call. ``fail_first`` calls raise, as a broken model or a
    failing commit would (``failed``: their frame counts)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.batches: list[tuple[list[RgbFrame], FrameStamp]] = []
        self.groups: list[list[int]] = []
        self.failed: list[int] = []
        self._fail_left = fail_first
        self._lock = threading.Lock()

    def score_batches(self, batches: Sequence[Sequence[RgbFrame]], stamp: FrameStamp) -> object:
        with self._lock:
            if self._fail_left:
                self._fail_left -= 1
                self.failed.append(sum(len(frames) for frames in batches))
                raise RuntimeError("model failed (test)")
            start = 0
            for frames in batches:
                times = stamp.captured_at[start : start + len(frames)]
                self.batches.append((list(frames), FrameStamp(stamp.camera_id, times)))
                start += len(frames)
            self.groups.append([len(frames) for frames in batches])
        return start

    @property
    def frames(self) -> int:
        with self._lock:
            return sum(len(frames) for frames, _ in self.batches)
