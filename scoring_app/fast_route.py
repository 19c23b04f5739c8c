"""A direct path to the hottest route, past the framework's per-request machinery.

``POST /api/v1/score`` is most of a site's traffic, and through FastAPI a request
walks the exception, dependency and routing layers and a dozen ASGI wrappers: about
half of the event loop's time per single-row request (docs/benchmarks.md). This
middleware hands such requests straight to the very endpoint function the router
would call, after the route's own dependencies (plain request checks: the API key),
and answers errors through scoring_app/errors.py as the app does, so clients see the
same responses; every other request, and any the route would not match exactly,
goes through the app as usual.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from scoring_app.errors import ANSWERED_ERRORS, error_response_for

Endpoint = Callable[[Request], Awaitable[Response]]
RequestCheck = Callable[[Request], Awaitable[None]]


class DirectRoute:
    """Serves ``route`` (a POST route taking the bare Request) directly; the rest goes to ``app``."""

    def __init__(self, app: ASGIApp, route: APIRoute, retry_after_seconds: int) -> None:
        if route.dependant.query_params or route.dependant.body_params:
            raise ValueError(f"{route.path}: only routes that take the bare Request can be served directly")
        self.app = app
        self._route = route
        self._path = route.path
        self._methods = frozenset(route.methods or ())
        self._checks = _request_checks(route)
        self._endpoint: Endpoint = route.endpoint
        self._retry_after = retry_after_seconds

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
        request = Request(scope, receive, send)
        try:
            for check in self._checks:
                await check(request)
            response = await self._endpoint(request)
        except ANSWERED_ERRORS as exc:
            response = error_response_for(exc, self._retry_after)
        await response(scope, receive, send)


def _request_checks(route: APIRoute) -> list[RequestCheck]:
    """The route's dependencies, each an async function of the Request alone (else ValueError)."""
    checks: list[RequestCheck] = []
    for dependency in route.dependant.dependencies:
        call = dependency.call
        parameters = list(inspect.signature(call).parameters) if call is not None else []
        if (
            call is None
            or not inspect.iscoroutinefunction(call)
            or dependency.dependencies
            or parameters != [dependency.request_param_name]
        ):
            raise ValueError(f"{route.path}: dependency {call!r} is not an async check of the Request")
        checks.append(call)
    return checks


def find_route(routes: Sequence[object], path: str, method: str) -> APIRoute:
    """The app's APIRoute for ``method path`` (raises LookupError if there is none)."""
    for route in routes:
        if isinstance(route, APIRoute) and route.path == path and method in (route.methods or ()):
            return route
    raise LookupError(f"no route {method} {path}")
