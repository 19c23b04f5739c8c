"""The OpenAPI document: the answers each route gives, and the request bodies' schemas per model.

The schema of ``POST /api/v1/score``'s body is generated from the very types the fast
decoder validates with (scoring_app.decoding.fast_rows, built from the manifest of the
model being served), so the document and the app cannot drift: the features with their
ranges or categories, required; the on-site context fields, optional and nullable;
nothing else. ``POST /api/v1/feedback``'s label follows the served model's task
(edgeloop.domain.tasks): 0 or 1, one of the class names, a number, or a detection model's
verdicts and missed boxes (edgeloop.domain.detection_labels).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from edgeloop.domain.detection_labels import MAX_MISSED, label_pattern
from edgeloop.domain.insight_ids import INSIGHT_ID_PATTERN
from edgeloop.domain.label_bounds import MAX_LABEL_LENGTH
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.tasks import BinaryTask, DetectionTask, MulticlassTask, Task
from scoring_app.decoding.fast_rows import RowsDecoder
from scoring_app.decoding.feedback_body import MAX_FEEDBACK_ITEMS

_PROBLEM = {
    "type": "object",
    "required": ["row", "field", "message"],
    "properties": {
        "row": {"type": ["integer", "null"]},
        "field": {"type": ["string", "null"]},
        "message": {"type": "string"},
    },
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": _PROBLEM}]}},
}
_ERRORS = {
    400: "Body is not valid JSON",
    401: "Missing or wrong X-API-Key (admin routes: X-Admin-Key)",
    403: "Admin routes: the scoring key cannot administer, or admin is off (no SCORING_ADMIN_API_KEY)",
    404: "Feedback names insights this site does not know; nothing recorded",
    409: "Nothing to go back to, or model delivery is off",
    413: "Body larger than SCORING_MAX_BODY_BYTES",
    415: "Content-Type is not application/json",
    422: 'Invalid content: {"detail": [{"row", "field", "message"}]}',
    503: "Outbox full (see Retry-After); nothing recorded",
}
ROW_DESCRIPTION = (
    "Every feature of the model's manifest (see GET /api/v1/model), "
    "plus optional on-site context: product_id, operator, notes."
)


_IMAGE_ERRORS = {
    400: "Not a multipart body that can be parsed",
    401: _ERRORS[401],
    409: "The served model takes rows, not images (POST /api/v1/score)",
    413: "Body larger than SCORING_MAX_BODY_BYTES, or a file larger than SCORING_IMAGE_MAX_BYTES",
    415: "Content-Type is not multipart/form-data, or a file is not JPEG or PNG",
    422: 'A file refused: {"detail": [{"index", "file_name", "field", "kind", "message"}]}',
    503: _ERRORS[503],
}
_IMAGE_PROBLEM = {
    "type": "object",
    "required": ["index", "file_name", "field", "kind", "message"],
    "properties": {
        "index": {"type": ["integer", "null"], "description": "The file's place in the request, from 0"},
        "file_name": {"type": ["string", "null"]},
        "field": {"type": "string"},
        "kind": {
            "type": "string",
            "enum": [
                "too_large",
                "unsupported_type",
                "undecodable",
                "too_many_pixels",
                "too_many",
                "bad_field",
            ],
        },
        "message": {"type": "string"},
    },
}
_IMAGE_ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": _IMAGE_PROBLEM}]}},
}


def image_error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """The image route's documented error answers: a refused file named by index and file name."""
    return {
        code: {
            "description": _IMAGE_ERRORS[code],
            "content": {"application/json": {"schema": _IMAGE_ERROR_SCHEMA}},
        }
        for code in status_codes
    }


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route, each ``{"detail": ...}`` JSON."""
    return {
        code: {"description": _ERRORS[code], "content": {"application/json": {"schema": ERROR_SCHEMA}}}
        for code in status_codes
    }


DETECTION_LABEL_DESCRIPTION = (
    "A verdict per detection of the insight, in its order ('accept' or 'reject', comma-separated), then"
    f" up to {MAX_MISSED} defects the model missed, each ';class@x1,y1,x2,y2': one of the model's classes"
    " and its box's corners as fractions 0..1 of the picture (x1 < x2, y1 < y2, at most 4 decimals);"
    " e.g. 'accept,reject', 'accept;stain@0.1,0.25,0.3,0.5', or ';stain@0.1,0.25,0.3,0.5' for a picture"
    " with no detection. 422 naming items[i].label when the verdicts do not judge the insight's"
    " detections one for one or a missed box is malformed; 404 when the insight is not known on site."
)


def label_schema(task: Task | None) -> dict[str, Any]:
    """The JSON Schema of a feedback label for ``task`` (None: the app not started, any task's)."""
    if task is None:
        return {"type": ["integer", "number", "string"], "description": "As the served model's task has it"}
    if isinstance(task, BinaryTask):
        names = task.label_names
        return {"type": "integer", "enum": [0, 1], "description": f"0: {names[0]}, 1: {names[1]}"}
    if isinstance(task, MulticlassTask):
        return {"type": "string", "enum": list(task.classes), "description": "The actual class"}
    if isinstance(task, DetectionTask):
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_LABEL_LENGTH,
            "pattern": label_pattern(task.classes),
            "description": DETECTION_LABEL_DESCRIPTION,
            "examples": ["accept,reject", f"accept;{task.classes[0]}@0.1,0.25,0.3,0.5"],
        }
    unit = f" ({task.unit})" if task.unit else ""
    return {"type": "number", "description": f"The actual value{unit}"}


def feedback_body_schema(task: Task | None) -> dict[str, Any]:
    """The JSON Schema of the feedback bodies the app accepts while ``task``'s model serves."""
    item = {
        "type": "object",
        "required": ["insight_id", "label"],
        "additionalProperties": False,
        "properties": {
            "insight_id": {"type": "string", "pattern": INSIGHT_ID_PATTERN},
            "label": label_schema(task),
        },
    }
    return {
        "type": "object",
        "required": ["items"],
        "additionalProperties": False,
        "properties": {
            "items": {"type": "array", "minItems": 1, "maxItems": MAX_FEEDBACK_ITEMS, "items": item}
        },
    }


def score_body_schema(manifest: ModelManifest, max_rows: int) -> dict[str, Any]:
    """The JSON Schema of the scoring bodies the app accepts for ``manifest``."""
    schema = RowsDecoder(manifest, max_rows).json_schema()
    schema["properties"]["rows"]["items"]["description"] = ROW_DESCRIPTION
    return schema


def score_body_example(manifest: ModelManifest) -> dict[str, Any]:
    """A body of one valid row for ``manifest``: mid-range numbers, the first category."""
    row: dict[str, Any] = {}
    for spec in manifest.inputs:
        if spec.type == "number":
            low = 0.0 if spec.min is None else spec.min
            high = low if spec.max is None else spec.max
            row[spec.name] = low + (high - low) / 2
        else:
            row[spec.name] = (spec.categories or ("",))[0]
    return {"rows": [{**row, "product_id": "P-0001"}]}


def install_openapi(app: FastAPI, path: str, max_rows: int, feedback_path: str) -> None:
    """Serve the document with ``POST path``'s and ``POST feedback_path``'s body schemas (and the
    score body's example) for the model served now."""
    generate = app.openapi  # FastAPI's: builds the document once, then returns it
    cached: list[tuple[ModelManifest, dict[str, Any], dict[str, Any]]] = []  # the served manifest's media

    def openapi() -> dict[str, Any]:
        document = generate()
        ctx = getattr(app.state, "ctx", None)
        if ctx is None or not ctx.components.model.loaded:  # no model yet: the document as declared
            return document
        manifest: ModelManifest = ctx.components.model.current.manifest
        if not cached or cached[0][0] is not manifest:
            media: dict[str, Any] = {
                "schema": {"description": "This model takes images: /api/v1/score/images"}
            }
            if manifest.image_input is None:
                media = {
                    "schema": score_body_schema(manifest, max_rows),
                    "example": score_body_example(manifest),
                }
            cached[:] = [(manifest, media, {"schema": feedback_body_schema(manifest.task)})]
        _, score_media, feedback_media = cached[0]
        for route, media in ((path, score_media), (feedback_path, feedback_media)):
            document["paths"][route]["post"]["requestBody"]["content"]["application/json"] = media
        return document

    app.openapi = openapi  # type: ignore[method-assign]
