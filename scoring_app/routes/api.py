"""The JSON API: score rows, report outcomes. Thin: parse, call the core, answer.

Bodies are read and parsed here (orjson) rather than by FastAPI body models:
that is several times cheaper for thousands of rows, and lets errors name the
row and field. The request schemas are declared for the OpenAPI docs only.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from edgeloop.config.scoring import MAX_ROWS_PER_REQUEST
from edgeloop.domain.tasks import BinaryTask
from scoring_app.auth import require_api_key
from scoring_app.body import read_body, read_json
from scoring_app.context import context_of
from scoring_app.decoding.feedback_body import feedback_items
from scoring_app.openapi import ROW_DESCRIPTION, error_responses, feedback_body_schema
from scoring_app.use_cases import record_feedback, score_body

router = APIRouter(prefix="/api/v1", tags=["scoring"], dependencies=[Depends(require_api_key)])

# The body's schema and example: those of the served model (scoring_app/openapi.py).
_SCORE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["rows"],
                    "additionalProperties": False,
                    "properties": {
                        "rows": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_ROWS_PER_REQUEST,
                            "items": {"type": "object", "description": ROW_DESCRIPTION},
                        }
                    },
                }
            }
        },
    }
}

# The label's schema: the served model's task's (scoring_app/openapi.py).
_FEEDBACK_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": feedback_body_schema(None)}}}
}


def _json(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


@router.post(
    "/score",
    openapi_extra=_SCORE_BODY,
    responses=error_responses(400, 401, 413, 415, 422, 503),
    summary="Score rows",
)
async def score(request: Request) -> Response:
    """Score 1 to 10,000 rows; every row is recorded as an insight before the answer."""
    ctx = context_of(request)
    body = await read_body(request, ctx.settings.max_body_bytes)
    scored = await score_body(ctx, body)  # decoded and validated off the event loop
    return Response(scored.response_json(), media_type="application/json")


@router.post(
    "/feedback",
    openapi_extra=_FEEDBACK_BODY,
    responses=error_responses(400, 401, 404, 413, 415, 422, 503),
    summary="Report actual outcomes",
)
async def feedback(request: Request) -> Response:
    """Label scored insights with their actual outcome (as the model's task has it); all items or none."""
    ctx = context_of(request)
    task = ctx.components.model.current.manifest.task
    items = feedback_items(await read_json(request, ctx.settings.max_body_bytes), task)
    receipt = await record_feedback(ctx, items)
    return _json({"recorded": len(receipt.feedback_ids), "feedback_ids": receipt.feedback_ids})


@router.get("/model", responses=error_responses(401), summary="The model in use and its inputs")
async def model(request: Request) -> Response:
    ctx = context_of(request)
    manifest = ctx.components.model.current.manifest
    described: dict[str, Any] = {
        "name": manifest.name,
        "version": manifest.version,
        "inputs": [spec.to_dict() for spec in manifest.inputs],
        "outputs": [spec.to_dict() for spec in manifest.outputs],
    }
    task = manifest.task
    if isinstance(task, BinaryTask):  # the keys of before tasks, kept for today's clients
        described |= {"risk_output": task.risk_output, "threshold": task.threshold}
    described["task"] = task.to_dict()
    base_data = manifest.recipe.base_data if manifest.recipe is not None else None
    if base_data is not None:  # which source column is which input and the label (edgeloop replay)
        described["base_data"] = {"columns": dict(base_data.columns), "label": base_data.label}
    return _json(described)
