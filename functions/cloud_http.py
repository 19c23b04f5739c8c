"""Cloud blueprint: the global app (FastAPI) served by Azure Functions over HTTP.

The same ASGI app object as ``python -m global_app``, behind
``func.AsgiMiddleware`` (functions/asgi.py) — what ``func.AsgiFunctionApp`` does,
as a blueprint so the role registry can add it to the one FunctionApp. The app
(and its store) is composed on the first request, never at import. Function-level
auth is anonymous: the app itself checks Entra ID tokens (``GLOBAL_APP_AUTH=entra``).
host.json must set ``extensions.http.routePrefix`` to ``""`` for the dashboard
to be served at ``/``.
"""

from __future__ import annotations

import azure.functions as func

from functions import dependencies

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it unannotated


@bp.function_name("global_app")
@bp.http_type(http_type="asgi")
@bp.route(route="{*route}", methods=["GET", "HEAD"], auth_level=func.AuthLevel.ANONYMOUS)
async def global_app(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return await dependencies.global_app.get().handle(req, context)
