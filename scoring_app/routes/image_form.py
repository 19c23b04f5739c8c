"""The browser form of an image model: one picture uploaded (or taken with a phone's camera), scored.

``POST /form/score-image``, ``multipart/form-data``: the CSRF token and one file in the field
``image``. Guarded as the other form routes (scoring_app/auth.py); scored by the same use case
as ``POST /api/v1/score/images`` (edgeloop.service_layer.image_scoring), so a bad file is refused
for the same reasons, named in the form's error view, and nothing of it is recorded. The result
page shows the upload with the result drawn over it (scoring_app/image_views.py); the outcome goes
through the form's feedback route (scoring_app/routes/web.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.types import Message

from edgeloop.domain.images import InvalidImages, NotAnImageModel, UploadedImage
from edgeloop.ports import OutboxFull, OutboxUnavailable
from scoring_app.auth import CSRF_FIELD
from scoring_app.body import read_limited
from scoring_app.context import AppContext, context_of
from scoring_app.errors import ApiError, error_answer
from scoring_app.image_upload import MULTIPART
from scoring_app.image_views import image_result, problem_text
from scoring_app.routes.web import render_form, render_waiting
from scoring_app.use_cases import score_images

router = APIRouter(include_in_schema=False)

IMAGE_FIELD = "image"


class NoPicture(ValueError):
    """The form came without a file in the field ``image``."""


async def _read_upload(request: Request, ctx: AppContext) -> UploadedImage:
    """The form's one file, once its CSRF token is checked (ApiError 415 / 413 / 403; NoPicture)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != MULTIPART:
        raise ApiError(415, f"Content-Type must be {MULTIPART}, got {content_type!r}")
    body = await read_limited(request, ctx.settings.max_body_bytes)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=1, max_fields=4)
    try:
        csrf = form.get(CSRF_FIELD)
        ctx.guard.check_form(request, csrf if isinstance(csrf, str) else None)
        upload = form.get(IMAGE_FIELD)
        # A browser sends an empty part without a name when no file was chosen.
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise NoPicture("choose a JPEG or PNG picture, or take one with the camera")
        return UploadedImage(upload.filename, upload.content_type, await upload.read())
    finally:
        await form.close()


@router.post("/form/score-image", name="form_score_image")
async def form_score_image(request: Request) -> Response:
    ctx = context_of(request)
    try:
        upload = await _read_upload(request, ctx)
    except NoPicture as exc:
        return await render_form(request, ctx, status_code=422, errors={IMAGE_FIELD: str(exc)})
    except ApiError as exc:
        if exc.status_code != 413:
            raise
        # Too large to read: the file's name is inside the body that was not read.
        return await render_form(request, ctx, status_code=413, general_error=f"the upload: {exc.detail}")
    if (waiting := ctx.components.model.waiting_reason) is not None:
        return render_waiting(request, ctx, waiting)
    try:
        scored = await score_images(ctx, [upload])
    except InvalidImages as exc:
        message = "; ".join(problem_text(problem, upload.file_name) for problem in exc.problems)
        status_code = error_answer(exc, ctx.settings.retry_after_seconds).status_code
        return await render_form(request, ctx, status_code=status_code, errors={IMAGE_FIELD: message})
    except NotAnImageModel as exc:
        return await render_form(request, ctx, status_code=409, general_error=str(exc))
    except (OutboxFull, OutboxUnavailable) as exc:
        answer = error_answer(exc, ctx.settings.retry_after_seconds)
        return await render_form(
            request, ctx, status_code=answer.status_code, general_error=str(answer.detail)
        )
    task = ctx.components.model.current.manifest.task
    return await render_form(request, ctx, image=image_result(task, scored, upload.file_name, upload.data))
