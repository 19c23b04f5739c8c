"""The HTTP stack's limit: a bare ASGI app that reads each request and answers one fixed body.

No framework, no validation, no model, nothing recorded: what uvicorn (uvloop,
httptools, one worker, no access log) serves at most here, the ceiling for any
app on the stack the scoring app runs on. The body is the file named by
``BENCH_FIXED_BODY``, read once at start-up; the benchmark writes one of the
scoring app's own single-row answers there, so both send as many bytes.

Run: ``BENCH_FIXED_BODY=answer.json uvicorn --factory bench.bare_app:create_app --port 8200``.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


def fixed_body_app(body: bytes, content_type: bytes = b"application/json") -> App:
    """An ASGI app answering every HTTP request with 200 and ``body``, after reading the request's body."""
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
    }
    answer = {"type": "http.response.body", "body": body}

    async def app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        more_body = True
        while more_body:  # any real app reads the whole request first
            more_body = (await receive()).get("more_body", False)
        await send(start)
        await send(answer)

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: each lifespan event is answered as complete."""
    while True:
        event = (await receive())["type"]  # "lifespan.startup" or "lifespan.shutdown"
        await send({"type": f"{event}.complete"})
        if event == "lifespan.shutdown":
            return


def create_app() -> App:
    """The uvicorn factory: the body from the file ``BENCH_FIXED_BODY`` names."""
    return fixed_body_app(Path(os.environ["BENCH_FIXED_BODY"]).read_bytes())
