"""Frames kept on site, for the operators to label (admin key, X-Admin-Key). Thin: read, call, answer.

``GET /api/v1/admin/frames?limit=N``: the newest kept frames, without their bytes.
``GET /api/v1/admin/frames/{frame_id}``: one frame's bytes (to show it).
``POST /api/v1/admin/frames/{frame_id}/label`` with ``{"label": "<class>"}``: recorded as
feedback on the frame's insight (edgeloop.service_layer.frame_labelling). docs/frames.md.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from edgeloop.domain.frames import StoredFrame
from edgeloop.domain.records import format_timestamp
from edgeloop.service_layer.frame_labelling import FrameLabelling, UnknownFrame
from scoring_app.auth import require_admin_key
from scoring_app.body import read_json
from scoring_app.context import AppContext, context_of
from scoring_app.errors import ApiError, json_response
from scoring_app.openapi import error_responses
from scoring_app.use_cases import label_frame

router = APIRouter(prefix="/api/v1/admin/frames", tags=["admin"], dependencies=[Depends(require_admin_key)])
FRAME_ID = re.compile(r"^[0-9a-f]{32}$")


def _labelling(ctx: AppContext) -> FrameLabelling:
    if ctx.frames is None:
        raise ApiError(409, "this site keeps no frames (SCORING_FRAMES_DIR unset)")
    return FrameLabelling(ctx.frames.store, ctx.components.feedback)


def _frame_id(frame_id: str) -> str:
    if not FRAME_ID.match(frame_id):
        raise ApiError(404, f"frame {frame_id[:64]!r} is not kept on this site")
    return frame_id


def frame_item(stored: StoredFrame) -> dict[str, Any]:
    origin = stored.origin
    return {
        "frame_id": stored.frame_id,
        "insight_id": origin.insight_id,
        "media_type": stored.media_type,
        "size_bytes": stored.size_bytes,
        "kept_at": format_timestamp(stored.kept_at),
        "captured_at": format_timestamp(origin.captured_at),
        "source": origin.source,
        "source_name": origin.source_name,  # on site only: an upload's file name never leaves it
        "top_class": stored.result.top_class,
        "confidence": stored.result.confidence,
        "detections": stored.result.detections,  # a detection model's: how many boxes to judge
        "max_score": stored.result.max_score,
        "models_disagree": stored.result.models_disagree,
    }


@router.get("", summary="Frames kept on site, newest first", responses=error_responses(401, 403, 409))
async def list_frames(request: Request, limit: int = Query(50, ge=1, le=500)) -> Response:
    frames = _labelling(context_of(request)).for_labelling(limit)
    return json_response({"frames": [frame_item(stored) for stored in frames]})


@router.get("/{frame_id}", summary="A kept frame's image", responses=error_responses(401, 403, 404, 409))
async def frame_image(request: Request, frame_id: str) -> Response:
    try:
        kept = _labelling(context_of(request)).frame(_frame_id(frame_id))
    except UnknownFrame as exc:
        raise ApiError(404, str(exc)) from None
    return Response(kept.data, media_type=kept.media_type, headers={"Cache-Control": "no-store"})


@router.post(
    "/{frame_id}/label",
    summary="Label a kept frame (feedback on its insight)",
    responses=error_responses(400, 401, 403, 404, 409, 413, 415, 422, 503),
)
async def label_kept_frame(request: Request, frame_id: str) -> Response:
    """Body ``{"label": "<class>"}``: a class of the model serving now."""
    ctx = context_of(request)
    labelling = _labelling(ctx)
    body: Any = await read_json(request, 4096)
    if not isinstance(body, dict) or "label" not in body:
        raise ApiError(422, [{"row": None, "field": "label", "message": "required"}])
    try:
        insight_id, receipt = await label_frame(ctx, labelling, _frame_id(frame_id), body["label"])
    except UnknownFrame as exc:
        raise ApiError(404, str(exc)) from None
    answer = {"frame_id": frame_id, "insight_id": insight_id, "feedback_id": receipt.feedback_ids[0]}
    return json_response(answer)
