"""Cloud blueprint: the global app (FastAPI) served by Azure Functions over HTTP.

The same ASGI app object as ``python -m global_app``, behind
``func.AsgiMiddleware`` — what ``func.AsgiFunctionApp`` does, as a blueprint so
the role registry can add it to the one FunctionApp. The app (and its store)
is composed on the first request, never at import. Function-level auth is
anonymous: the app itself checks Entra ID tokens (``GLOBAL_APP_AUTH=entra``).
host.json must set ``extensions.http.routePrefix`` to ``""`` for the dashboard
to be served at ``/``.
"""

from __future__ import annotations

import threading
from typing import Any

import azure.functions as func

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it unannotated

_lock = threading.Lock()
_middleware: func.AsgiMiddleware | None = None
_started = False


def asgi_middleware() -> func.AsgiMiddleware:
    global _middleware
    with _lock:
        if _middleware is None:
            from global_app.app import create_app_from_settings

            _middleware = func.AsgiMiddleware(create_app_from_settings())  # type: ignore[no-untyped-call]
        return _middleware


def override_global_app(app: Any | None) -> None:
    """Serve ``app`` (an ASGI app) from now on; ``None`` composes from settings on the next request."""
    global _middleware, _started
    with _lock:
        _middleware = None if app is None else func.AsgiMiddleware(app)  # type: ignore[no-untyped-call]
        _started = False


@bp.function_name("global_app")
@bp.http_type(http_type="asgi")
@bp.route(route="{*route}", methods=["GET", "HEAD"], auth_level=func.AuthLevel.ANONYMOUS)
async def global_app(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    global _started
    middleware = asgi_middleware()
    if not _started:
        if not await middleware.notify_startup():  # type: ignore[no-untyped-call]
            raise RuntimeError("the global app failed to start")
        _started = True
    response: func.HttpResponse = await middleware.handle_async(req, context)
    return response
