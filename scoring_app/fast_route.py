"""A direct path to the hottest route, past the framework's per-request machinery.

``POST /api/v1/score`` is most of a site's traffic. Through FastAPI a request
walks the exception, dependency and routing layers and a dozen ASGI wrappers
before and after the endpoint runs; measured with py-spy at 32 connections,
that was about half of the event loop's time per single-row request, more than
the scoring itself. This middleware hands such requests straight to the very
endpoint function the router would call and renders its errors with the app's
own handlers, so clients see the same responses; every other request, and any
request the route would not match exactly, goes through the app as usual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from edgeloop.service_layer.scoring import InvalidInput
from scoring_app.errors import ApiError, error_response, problems_detail

Endpoint = Callable[[Request], Awaitable[Response]]


class DirectRoute:
    """Serves ``route`` (a POST route without parameters) directly; the rest goes to ``app``."""

    def __init__(self, app: ASGIApp, route: APIRoute) -> None:
        if route.dependant.dependencies or route.dependant.query_params or route.dependant.body_params:
            raise ValueError(f"{route.path}: only routes that take the bare Request can be served directly")
        self.app = app
        self._route = route
        self._path = route.path
        self._methods = frozenset(route.methods or ())
        self._endpoint: Endpoint = route.endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != self._path
            or scope["method"] not in self._methods
            or scope.get("root_path")  # a mounted app: let the router work out the path
        ):
            await self.app(scope, receive, send)
            return
        scope["route"] = self._route  # what the router would have set (the metrics label it)
        try:
            response = await self._endpoint(Request(scope, receive, send))
        except ApiError as exc:
            response = error_response(exc.status_code, exc.detail, exc.headers)
        except InvalidInput as exc:
            response = error_response(exc.status_code, problems_detail(exc.problems))
        await response(scope, receive, send)


def find_route(routes: Sequence[object], path: str, method: str) -> APIRoute:
    """The app's APIRoute for ``method path`` (raises LookupError if there is none)."""
    for route in routes:
        if isinstance(route, APIRoute) and route.path == path and method in (route.methods or ()):
            return route
    raise LookupError(f"no route {method} {path}")
