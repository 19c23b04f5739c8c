"""Site administration: return to the previous model (authenticated by the admin key, X-Admin-Key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from edgeloop.service_layer.model_delivery import NoPreviousModel
from scoring_app.auth import require_admin_key
from scoring_app.body import read_json
from scoring_app.context import context_of
from scoring_app.errors import ApiError, json_response
from scoring_app.openapi import error_responses

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], dependencies=[Depends(require_admin_key)])
MAX_REASON = 500


@router.post(
    "/model/rollback",
    summary="Serve the previous model again",
    responses=error_responses(400, 401, 403, 409, 413, 415, 422),
)
async def rollback_model(request: Request) -> Response:
    """Swap back to the model served before the last swap; the current version is not installed
    again until the champion changes. Optional JSON body ``{"reason": "..."}``."""
    ctx = context_of(request)
    reason = "admin request"
    if request.headers.get("content-length", "0") != "0":
        body: Any = await read_json(request, 4096)
        if not isinstance(body, dict) or not isinstance(body.get("reason", ""), str):
            raise ApiError(422, [{"row": None, "field": "reason", "message": "must be a string"}])
        reason = str(body.get("reason") or reason)[:MAX_REASON]
    delivery = ctx.delivery
    if delivery is None:
        raise ApiError(409, "model delivery is off on this site (SCORING_MODEL_SIGNING_PUBLIC_KEY unset)")
    try:
        rolled_back, serving = delivery.rollback("admin", reason)
    except NoPreviousModel as exc:
        raise ApiError(409, str(exc)) from None
    return json_response({"rolled_back": rolled_back, "serving": serving, "reason": reason})
