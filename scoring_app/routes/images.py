"""The image API: score JPEG or PNG files with the served image model. Thin: read, call the core, answer.

``POST /api/v1/score/images``, ``multipart/form-data`` with one or more files in the field
``images`` (docs/vision.md). All files are scored in one model call and each is recorded as
an insight before the answer; a bad file refuses the whole request (4xx naming its index and
file name) and nothing of it is recorded.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from scoring_app.auth import require_api_key
from scoring_app.context import context_of
from scoring_app.image_upload import UPLOAD_BODY, uploaded_images
from scoring_app.openapi import image_error_responses
from scoring_app.use_cases import score_images

router = APIRouter(prefix="/api/v1", tags=["scoring"], dependencies=[Depends(require_api_key)])


@router.post(
    "/score/images",
    openapi_extra=UPLOAD_BODY,
    responses=image_error_responses(400, 401, 409, 413, 415, 422, 503),
    summary="Score images",
)
async def score_uploaded_images(request: Request) -> Response:
    """Score 1 to SCORING_IMAGE_MAX_FILES JPEG or PNG images; each recorded as an insight first."""
    ctx = context_of(request)
    ctx.components.images.image_model()  # a model of rows: 409 before the body is read
    settings = ctx.settings
    images = await uploaded_images(request, settings.max_body_bytes, settings.image_max_files)
    scored = await score_images(ctx, images)
    return Response(orjson.dumps(scored.response()), media_type="application/json")
