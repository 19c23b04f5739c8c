"""Reading an image upload: a ``multipart/form-data`` body, its files in the field ``images``.

The content type and the body's size (``SCORING_MAX_BODY_BYTES``) are checked before it is
parsed; the body is read once, within the bound, then parsed by Starlette's multipart parser
(python-multipart) from memory. Every part must be a file of the field ``images`` (a text
field or another name is refused naming it); what each file holds is judged by the use case
(edgeloop.service_layer.image_scoring), which names a bad one by index and file name.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from edgeloop.domain.images import UploadedImage
from scoring_app.body import read_limited
from scoring_app.errors import ApiError

IMAGES_FIELD = "images"
MULTIPART = "multipart/form-data"

# The request body's OpenAPI description (the route's ``openapi_extra``).
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            MULTIPART: {
                "schema": {
                    "type": "object",
                    "required": [IMAGES_FIELD],
                    "additionalProperties": False,
                    "properties": {
                        IMAGES_FIELD: {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "format": "binary"},
                            "description": "JPEG or PNG files, one part each (SCORING_IMAGE_MAX_FILES)",
                        }
                    },
                },
                "encoding": {IMAGES_FIELD: {"contentType": "image/jpeg, image/png"}},
            }
        },
    }
}


async def uploaded_images(request: Request, max_body_bytes: int, max_files: int) -> list[UploadedImage]:
    """The files of the field ``images``, in order; ApiError 415 / 413 / 400 / 422 otherwise."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != MULTIPART:
        raise ApiError(
            415, f"Content-Type must be {MULTIPART} (field {IMAGES_FIELD!r}), got {content_type!r}"
        )
    body = await read_limited(request, max_body_bytes)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    # One more file than allowed, so that too many is answered by the use case, naming the bound.
    form = await Request(request.scope, replay).form(max_files=max_files + 1, max_fields=8)
    try:
        images: list[UploadedImage] = []
        for name, value in form.multi_items():
            if name != IMAGES_FIELD or not isinstance(value, UploadFile):
                raise ApiError(422, [_problem(name, f"only files of the field {IMAGES_FIELD!r} are taken")])
            data = await value.read()
            images.append(
                UploadedImage(value.filename or f"{IMAGES_FIELD}[{len(images)}]", value.content_type, data)
            )
    finally:
        await form.close()
    if not images:
        raise ApiError(422, [_problem(IMAGES_FIELD, "at least one file is needed")])
    return images


def _problem(field_name: str, message: str) -> dict[str, Any]:
    return {"index": None, "file_name": None, "field": field_name, "kind": "bad_field", "message": message}
