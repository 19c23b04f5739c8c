"""The JSON API: score rows, report outcomes. Thin: parse, call the core, answer.

Bodies are read and parsed here (orjson) rather than by FastAPI body models:
that is several times cheaper for thousands of rows, and lets errors name the
row and field. The request schemas are declared for the OpenAPI docs only.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from edgeloop.config.scoring import MAX_ROWS_PER_REQUEST
from edgeloop.ports import OutboxFull
from edgeloop.service_layer.feedback import MAX_FEEDBACK_ITEMS
from scoring_app.body import read_body, read_json
from scoring_app.context import context_of
from scoring_app.outcomes import outbox_full, score_rows

router = APIRouter(prefix="/api/v1", tags=["scoring"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Body is not valid JSON"},
    401: {"description": "Missing or wrong X-API-Key"},
    413: {"description": "Body larger than SCORING_MAX_BODY_BYTES"},
    415: {"description": "Content-Type is not application/json"},
    422: {"description": 'Invalid content: {"detail": [{"row", "field", "message"}]}'},
    503: {"description": "Outbox full (see Retry-After); nothing recorded"},
}

_ROW_DESCRIPTION = (
    "Every feature of the model's manifest (see GET /api/v1/model), "
    "plus optional on-site context: product_id, operator, notes."
)

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
                            "items": {
                                "type": "object",
                                "description": _ROW_DESCRIPTION,
                                "additionalProperties": {"type": ["number", "string"]},
                            },
                        }
                    },
                },
                "example": {
                    "rows": [
                        {
                            "type": "M",
                            "air_temperature_k": 298.1,
                            "process_temperature_k": 308.6,
                            "rotational_speed_rpm": 1551,
                            "torque_nm": 42.8,
                            "tool_wear_min": 0,
                            "product_id": "M14860",
                        }
                    ]
                },
            }
        },
    }
}

_FEEDBACK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["items"],
                    "properties": {
                        "items": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_FEEDBACK_ITEMS,
                            "items": {
                                "type": "object",
                                "required": ["insight_id", "label"],
                                "properties": {
                                    "insight_id": {"type": "string", "pattern": "^[0-9a-f]{32}-[0-9]{5}$"},
                                    "label": {"type": "integer", "enum": [0, 1]},
                                },
                            },
                        }
                    },
                }
            }
        },
    }
}


def _json(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


@router.post("/score", openapi_extra=_SCORE_BODY, responses=_ERRORS, summary="Score rows")
async def score(request: Request) -> Response:
    """Score 1 to 10,000 rows; every row is recorded as an insight before the answer."""
    ctx = context_of(request)
    ctx.guard.check_api_key(request)
    body = await read_body(request, ctx.settings.max_body_bytes)
    scored = await score_rows(ctx, body)  # decoded and validated off the event loop
    return Response(scored.response_json(), media_type="application/json")


@router.post("/feedback", openapi_extra=_FEEDBACK_BODY, responses=_ERRORS, summary="Report actual outcomes")
async def feedback(request: Request) -> Response:
    """Label scored insights (1: the machine failed, 0: it did not); all items or none."""
    ctx = context_of(request)
    ctx.guard.check_api_key(request)
    body = await read_json(request, ctx.settings.max_body_bytes)
    try:
        receipt = await run_in_threadpool(ctx.components.feedback.record, body)
    except OutboxFull as exc:
        raise outbox_full(ctx, exc) from None
    ctx.metrics.feedback_items.inc(len(receipt.feedback_ids))
    return _json({"recorded": len(receipt.feedback_ids), "feedback_ids": receipt.feedback_ids})


@router.get("/model", summary="The model in use and its inputs")
async def model(request: Request) -> Response:
    ctx = context_of(request)
    ctx.guard.check_api_key(request)
    manifest = ctx.components.model.current.manifest
    return _json(
        {
            "name": manifest.name,
            "version": manifest.version,
            "inputs": [spec.to_dict() for spec in manifest.inputs],
            "outputs": [spec.to_dict() for spec in manifest.outputs],
            "risk_output": manifest.risk_output,
            "threshold": manifest.threshold,
        }
    )
