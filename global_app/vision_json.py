"""JSON shape of the vision API (/api/v1/vision) and its schema (OpenAPI 3.1).

tests/integration/test_global_app_openapi.py checks every answer against ``VISION_BODY``.
"""

from __future__ import annotations

from typing import Any

from edgeloop.domain.records import format_timestamp
from edgeloop.domain.vision_counts import VisionCounts
from edgeloop.domain.vision_view import CameraVision, SiteVision
from edgeloop.service_layer.vision_views import VisionView

_COUNT = {"type": "integer", "minimum": 0}
_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_TIME = {"type": "string", "format": "date-time"}


def _counts(counts: VisionCounts) -> dict[str, Any]:
    return {
        "frames": counts.frames,
        "defects": counts.defects,
        "anomalies": counts.anomalies,
        "defect_rate": counts.defect_rate,
        "classes": dict(counts.classes),
        "accepted": counts.accepted,
        "rejected": counts.rejected,
        "missed": counts.missed,
        "precision": counts.precision,
        "recall": counts.recall,
    }


def camera_json(camera: CameraVision) -> dict[str, Any]:
    return {
        "camera_id": None if camera.is_uploads else camera.camera_id,
        "source": "upload" if camera.is_uploads else "camera",
        "models": list(camera.models),
        **_counts(camera.counts),
        "hours": [{"hour": format_timestamp(hour.hour), **_counts(hour.counts)} for hour in camera.hours],
    }


def site_json(site: SiteVision) -> dict[str, Any]:
    return {
        "site_id": site.site_id,
        **_counts(site.counts),
        "cameras": [camera_json(c) for c in site.cameras],
    }


def vision_json(view: VisionView) -> dict[str, Any]:
    return {
        "from": format_timestamp(view.start),
        "to": format_timestamp(view.end) if view.end else None,
        "sites": [site_json(site) for site in view.sites],
    }


def _object(properties: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    schema = {"type": "object", "required": list(properties), "properties": properties}
    return schema | ({"description": description} if description else {})


_COUNTS: dict[str, Any] = {
    "frames": {**_COUNT, "description": "Images scored"},
    "defects": {
        **_COUNT,
        "description": "Frames showing a class the model's manifest names a defect (task.alert_classes); "
        "for a model without classes, flagged frames",
    },
    "anomalies": {
        **_COUNT,
        "description": "Frames flagged by any anomaly rule (a defect, low confidence, ...)",
    },
    "defect_rate": {
        "type": ["number", "null"],
        "minimum": 0,
        "maximum": 1,
        "description": "defects / frames",
    },
    "classes": {
        "type": "object",
        "additionalProperties": _COUNT,
        "description": "The class mix: class -> times seen (a classifier: once per frame)",
    },
    "accepted": {**_COUNT, "description": "Detections operators accepted (defects found)"},
    "rejected": {**_COUNT, "description": "A detection model's detections operators rejected"},
    "missed": {**_COUNT, "description": "Defects a detection model did not find (operators' missed boxes)"},
    "precision": {**_RATE, "description": "accepted / (accepted + rejected); null without verdicts"},
    "recall": {
        **_RATE,
        "description": "accepted / (accepted + missed): of the defects operators saw, the share found",
    },
}
CAMERA = _object(
    {
        "camera_id": {"type": ["string", "null"], "description": "null: images uploaded to the site"},
        "source": {"enum": ["camera", "upload"]},
        "models": {"type": "array", "items": {"type": "string"}, "description": "'name version' of each"},
        **_COUNTS,
        "hours": {
            "type": "array",
            "items": _object({"hour": _TIME, **_COUNTS}),
            "description": "Hours with frames, oldest first",
        },
    }
)
VISION_BODY = _object(
    {
        "from": {**_TIME, "description": "Counted from this hour (default: the last 24 hours)"},
        "to": {"type": ["string", "null"], "format": "date-time", "description": "null: up to now"},
        "sites": {
            "type": "array",
            "items": _object(
                {"site_id": {"type": "string"}, **_COUNTS, "cameras": {"type": "array", "items": CAMERA}}
            ),
            "description": "Sites with image insights in the range, by id; cameras by id, uploads last",
        },
    }
)
