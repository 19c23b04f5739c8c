"""A server span per scoring request (when tracing is on), the caller's traceparent as its parent.

Pure ASGI, and added only when tracing is on (scoring_app/app.py), so an untraced app pays
nothing. Only the scoring routes are traced: probes and metrics scrapes would bury them.
A client's ``traceparent`` header (W3C) makes the request span its child: a trace can start
at the machine that sent the reading. The span is current while the route runs, so the
scoring group's span (edgeloop.service_layer.scoring) finds it.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from edgeloop.ports import Tracer


class ScoringSpans:
    def __init__(self, app: ASGIApp, tracer: Tracer, paths: Collection[str]) -> None:
        self.app = app
        self._tracer = tracer
        self._paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self._paths:
            await self.app(scope, receive, send)
            return
        parent = _header(scope, b"traceparent")
        name = f"{scope['method']} {scope['path']}"
        attributes = {"http.request.method": scope["method"], "url.path": scope["path"]}
        with self._tracer.span(name, parent=parent, attributes=attributes, kind="server"):
            await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
