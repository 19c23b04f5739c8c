"""Reading a JSON request body ourselves: cheaper than a body model, and strict.

The content type and the size are checked before a byte is parsed; orjson parses
(or, for scoring, the service does: it decodes and validates in one pass).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from scoring_app.errors import ApiError


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def read_json(request: Request, max_bytes: int) -> Any:
    """The parsed JSON body; 415 / 413 / 400 for a wrong type, too large, not JSON."""
    body = await read_body(request, max_bytes)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"body is not valid JSON: {exc}") from None


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body of a JSON request, not parsed; 415 / 413 for a wrong type or too large."""
    content_type = request.headers.get("content-type", "")
    if not _is_json(content_type):
        raise ApiError(415, f"Content-Type must be application/json, got {content_type or 'none'!r}")
    return await read_limited(request, max_bytes)


async def read_limited(request: Request, max_bytes: int) -> bytes:
    """The raw body, whatever its type: 413 when it declares or reaches more than ``max_bytes``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise ApiError(400, "Content-Length is not a number") from None
        if length > max_bytes:
            raise ApiError(413, f"body of {length} bytes exceeds the limit of {max_bytes} bytes")
        body = await request.body()
    else:
        body = await _read_chunked(request, max_bytes)
    if len(body) > max_bytes:
        raise ApiError(413, f"body exceeds the limit of {max_bytes} bytes")
    return body


async def _read_chunked(request: Request, max_bytes: int) -> bytes:
    """A chunked body, read until it ends or passes the limit (then 413, without reading on)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, f"body exceeds the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
