"""Error responses: every client mistake is a 4xx JSON ``{"detail": ...}``.

``detail`` is a string for whole-body errors (bad JSON, wrong content type, too
large) and a list of ``{"row", "field", "message"}`` for errors in the content,
so a client can point at the offending row and field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from edgeloop.service_layer.scoring import InvalidInput, Problem


class ApiError(Exception):
    """A response other than 2xx, raised anywhere below a route."""

    def __init__(
        self,
        status_code: int,
        detail: str | Sequence[Mapping[str, Any]],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail if isinstance(detail, str) else f"{len(detail)} problems")
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers or {})


def problems_detail(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    return [{"row": p.row, "field": p.field, "message": p.message} for p in problems]


def json_response(content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(content), status_code=status_code, headers=headers, media_type="application/json"
    )


def error_response(status_code: int, detail: Any, headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"detail": detail}, status_code, headers)


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.detail, exc.headers)


async def _invalid_input(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidInput)
    return error_response(exc.status_code, problems_detail(exc.problems))


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, exc.detail, exc.headers)


def _location_to_problem(location: Sequence[Any]) -> tuple[int | None, str | None]:
    """FastAPI's ``loc`` (e.g. ``("body", "items", 2, "label")``) as row + field."""
    parts = [part for part in location if part not in ("body", "query", "path", "header", "cookie")]
    row = next((part for part in parts if isinstance(part, int)), None)
    names = [str(part) for part in parts if not isinstance(part, int)]
    return row, ".".join(names) or None


async def _request_validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = []
    for error in exc.errors():
        row, field = _location_to_problem(error.get("loc", ()))
        detail.append({"row": row, "field": field, "message": str(error.get("msg", "invalid"))})
    return error_response(422, detail)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(InvalidInput, _invalid_input)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
