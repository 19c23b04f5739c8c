"""A real RTSP server for the camera tests: GStreamer's (gst-rtsp-server), serving an H.264 mp4.

Run with the system Python, which has the GObject bindings (python3-gi,
gir1.2-gst-rtsp-server-1.0), not the project's virtualenv:

    /usr/bin/python3 tests/support/rtsp_server.py VIDEO.mp4 [--port N] [--path /camera]

Each client gets its own playback of the file from its start, paced in real time. Prints
``ready rtsp://127.0.0.1:PORT/PATH`` once it listens (port 0: a free one), then serves until
killed. Deliberately free of project imports: it runs outside the virtualenv.
"""

from __future__ import annotations

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("video", help="an mp4 holding one H.264 stream")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path", default="/camera")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    location = args.video.replace("\\", "\\\\").replace('"', '\\"')
    payloader = "rtph264pay name=pay0 pt=96 config-interval=1"
    factory.set_launch(f'( filesrc location="{location}" ! qtdemux ! h264parse ! {payloader} )')
    factory.set_shared(False)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        return 1
    print(f"ready rtsp://127.0.0.1:{server.get_bound_port()}{args.path}", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
