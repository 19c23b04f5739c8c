"""An HTTP MJPEG camera for the tests: ``multipart/x-mixed-replace`` JPEG frames, as IP cameras
serve them, paced at ``fps`` (a camera's own clock), from a thread of the test process."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image

BOUNDARY = "edgeloopframe"


def jpeg_frames(count: int, width: int = 160, height: int = 120) -> list[bytes]:
    """JPEGs whose red channel is ``(i % 32) * 8`` (tests/support/cameras.frame_index reads it)."""
    frames = []
    for index in range(count):
        image = np.zeros((height, width, 3), np.uint8)
        image[:, :, 0] = (index % 32) * 8
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=90)
        frames.append(buffer.getvalue())
    return frames


@contextmanager
def mjpeg_server(frames: list[bytes], fps: float) -> Iterator[str]:
    """Serves ``frames`` in a loop to each client at ``/video``; yields the URL."""
    stopping = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.end_headers()
            index = 0
            try:
                while not stopping.is_set():
                    jpeg = frames[index % len(frames)]
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                    self.wfile.write(head.encode() + jpeg + b"\r\n")
                    index += 1
                    stopping.wait(1 / fps)  # the camera's frame clock
            except (BrokenPipeError, ConnectionResetError):
                return

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/video"
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
