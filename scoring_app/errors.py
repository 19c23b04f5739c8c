"""Error responses, the one place errors become answers: a client mistake is a 4xx ``{"detail": ...}``.

``detail`` is a string for whole-body errors (bad JSON, wrong content type, too
large) and a list of ``{"row", "field", "message"}`` for errors in the content,
so a client can point at the offending row and field. The use cases raise domain
errors (InvalidInput, UnknownInsights, OutboxFull); the web layer raises ApiError.
The app's exception handlers, the direct route (scoring_app/fast_route.py) and the
form (which renders the same status and message in its page) all answer through
:func:`error_answer`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from edgeloop.domain.images import ImageProblem, InvalidImages, NotAnImageModel
from edgeloop.domain.problems import InvalidInput, Problem
from edgeloop.ports import OutboxFull, OutboxUnavailable
from edgeloop.service_layer.feedback import UnknownInsights


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


# What error_answer knows how to answer; anything else is a 500.
ANSWERED_ERRORS: tuple[type[Exception], ...] = (
    ApiError,
    InvalidInput,
    InvalidImages,
    NotAnImageModel,
    OutboxFull,
    OutboxUnavailable,
)
# An image refused: too many bytes is 413, not JPEG or PNG 415, anything else about it 422.
_IMAGE_STATUS = {"too_large": 413, "unsupported_type": 415}


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    status_code: int
    detail: str | Sequence[Mapping[str, Any]]
    headers: dict[str, str] = field(default_factory=dict)


def error_answer(exc: Exception, retry_after_seconds: int) -> ErrorAnswer:
    """The status, detail and headers that answer one of ``ANSWERED_ERRORS``."""
    if isinstance(exc, ApiError):
        return ErrorAnswer(exc.status_code, exc.detail, exc.headers)
    if isinstance(exc, UnknownInsights):
        return ErrorAnswer(404, problems_detail(exc.problems))
    if isinstance(exc, InvalidInput):
        return ErrorAnswer(422, problems_detail(exc.problems))
    if isinstance(exc, InvalidImages):
        status = _IMAGE_STATUS.get(exc.problems[0].kind, 422) if exc.problems else 422
        return ErrorAnswer(status, image_problems_detail(exc.problems))
    if isinstance(exc, NotAnImageModel):
        return ErrorAnswer(409, f"{exc}: score its rows at /api/v1/score")
    if isinstance(exc, OutboxFull):
        message = (
            f"the site's outbox is full ({exc.depth} of {exc.capacity} records wait for the uplink); "
            "nothing was recorded, retry later"
        )
        return ErrorAnswer(503, message, {"Retry-After": str(retry_after_seconds)})
    if isinstance(exc, OutboxUnavailable):
        # Locked past the busy timeout, disk full, an I/O error: waiting may mend it.
        message = "the site's outbox cannot be written just now; nothing was recorded, retry later"
        return ErrorAnswer(503, message, {"Retry-After": str(retry_after_seconds)})
    raise TypeError(f"no answer for {type(exc).__name__}")


def error_response_for(exc: Exception, retry_after_seconds: int) -> Response:
    answer = error_answer(exc, retry_after_seconds)
    return error_response(answer.status_code, answer.detail, answer.headers)


def problems_detail(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    return [{"row": p.row, "field": p.field, "message": p.message} for p in problems]


def image_problems_detail(problems: Sequence[ImageProblem]) -> list[dict[str, Any]]:
    """Each refused image by its index in the request and its file name (an upload's)."""
    return [
        {"index": p.index, "file_name": p.file_name, "field": "images", "kind": p.kind, "message": p.message}
        for p in problems
    ]


def json_response(content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(content), status_code=status_code, headers=headers, media_type="application/json"
    )


def error_response(status_code: int, detail: Any, headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"detail": detail}, status_code, headers)


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
        row, field_name = _location_to_problem(error.get("loc", ()))
        detail.append({"row": row, "field": field_name, "message": str(error.get("msg", "invalid"))})
    return error_response(422, detail)


def install_error_handlers(app: FastAPI, retry_after_seconds: int) -> None:
    async def answered(_: Request, exc: Exception) -> Response:
        return error_response_for(exc, retry_after_seconds)

    for error in ANSWERED_ERRORS:
        app.add_exception_handler(error, answered)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
