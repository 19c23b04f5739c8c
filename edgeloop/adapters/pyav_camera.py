"""Camera streams through PyAV (FFmpeg): RTSP, HTTP MJPEG and video files.

Sampling runs on the stream's presentation times (RTSP's RTP clock, a file's pts); MJPEG over
HTTP has none, so its frames are timed on arrival. Decoding cheaply: when the camera is sampled
at under half its frame rate the decoder skips the frames no other frame refers to
(``skip_frame = NONREF``: B-frames, some P-frames), and a frame is converted to RGB only when
the sampler keeps it (``PyAvFrame.rgb``), by one converter kept for the whole stream, on one
swscale thread. RTSP goes over TCP (interleaved): a plant network drops UDP under load and a
lost packet smears a frame.
Every FFmpeg failure becomes ``CameraUnavailable`` with the URL's credentials left out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import cast

import av
import av.container
import av.video
from av.video.reformatter import VideoReformatter

from edgeloop.domain.cameras import CameraSpec
from edgeloop.ports.cameras import CameraUnavailable, RgbFrame

MJPEG_FORMAT = "mpjpeg"  # multipart/x-mixed-replace, what IP cameras serve over HTTP


class PyAvFrame:
    __slots__ = ("_frame", "_reformatter", "timestamp")

    def __init__(self, frame: av.VideoFrame, timestamp: float, reformatter: VideoReformatter) -> None:
        self._frame = frame
        self._reformatter = reformatter
        self.timestamp = timestamp

    def rgb(self) -> RgbFrame:
        # One thread: swscale's own threads (its default, one per core) cost a 64 x 64 frame three
        # times the conversion in hand-offs; the pixels are the same either way.
        converted = self._reformatter.reformat(self._frame, format="rgb24", threads=1)
        return cast(RgbFrame, converted.to_ndarray())  # rgb24: always uint8


class PyAvStream:
    def __init__(self, container: av.container.InputContainer, camera: CameraSpec) -> None:
        self._container = container
        self._camera = camera
        self._stream: av.video.VideoStream = container.streams.video[0]
        # One converter per stream: it keeps its swscale context from frame to frame (building
        # one per frame, as VideoFrame.to_ndarray does, costs several times the conversion).
        self._reformatter = VideoReformatter()
        # FFmpeg's MJPEG demuxer stamps frames as if 25 a second came: the arrival time is truer.
        self._arrival_times = camera.kind == "mjpeg"
        rate = self._stream.average_rate
        if rate is not None and camera.sample_fps * 2 <= float(rate):
            self._stream.codec_context.skip_frame = "NONREF"

    def frames(self) -> Iterator[PyAvFrame]:
        opened = time.monotonic()
        try:
            for frame in self._container.decode(self._stream):
                stamp = frame.time
                arrived = self._arrival_times or stamp is None
                timestamp = time.monotonic() - opened if arrived else float(stamp)
                yield PyAvFrame(frame, timestamp, self._reformatter)
        except (av.FFmpegError, OSError) as exc:
            raise CameraUnavailable(_described(self._camera, "stream broke", exc)) from None

    def close(self) -> None:
        self._container.close()


class PyAvConnector:
    def __init__(self, open_timeout: float = 10.0, read_timeout: float = 10.0) -> None:
        self._timeouts = (open_timeout, read_timeout)

    def open(self, camera: CameraSpec) -> PyAvStream:
        kind = camera.kind
        options: dict[str, str] = {}
        container_format: str | None = None
        url = camera.url
        if kind == "rtsp":
            options["rtsp_transport"] = "tcp"
        elif kind == "mjpeg":
            container_format = MJPEG_FORMAT
        else:
            url = url.removeprefix("file://")
        try:
            container = av.open(url, format=container_format, options=options, timeout=self._timeouts)
        except (av.FFmpegError, OSError) as exc:
            raise CameraUnavailable(_described(camera, "cannot connect", exc)) from None
        if not container.streams.video:
            container.close()
            raise CameraUnavailable(f"{camera.redacted_url()}: no video stream")
        return PyAvStream(container, camera)


def _described(camera: CameraSpec, what: str, exc: BaseException) -> str:
    text = str(exc).replace(camera.url, camera.redacted_url())
    return f"{camera.redacted_url()}: {what}: {text}"
