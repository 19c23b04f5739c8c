"""An ASGI app served by an HTTP Function, as ``func.AsgiFunctionApp`` does, but as a dependency.

Its lifespan start-up runs once, before the first request it answers.
"""

from __future__ import annotations

from typing import Any

import azure.functions as func


class AsgiFunction:
    def __init__(self, app: Any) -> None:
        self._middleware = func.AsgiMiddleware(app)  # type: ignore[no-untyped-call]
        self._started = False

    async def handle(self, req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        if not self._started:
            if not await self._middleware.notify_startup():  # type: ignore[no-untyped-call]
                raise RuntimeError("the global app failed to start")
            self._started = True
        response: func.HttpResponse = await self._middleware.handle_async(req, context)
        return response
