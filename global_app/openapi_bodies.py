"""JSON Schemas of the global app's answer bodies, for its OpenAPI document (3.1).

The routes build their bodies by hand (global_app/serialize.py, no response model on the
hot path), so the document states them here; tests/integration/test_global_app_openapi.py
checks every answer against them.
"""

from __future__ import annotations

from typing import Any

from edgeloop.domain.records import TASK_KINDS

_COUNT = {"type": "integer", "minimum": 0}
_COUNT_OR_NULL = {"type": ["integer", "null"], "minimum": 0}  # null: not the model's task
_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties}


SITE_STATS = _object(
    {
        "site_id": {"type": "string"},
        "scored": _COUNT,
        "anomalies": _COUNT,
        "anomaly_rate": _RATE,
        "feedback": _COUNT,
        "feedback_judged": {**_COUNT, "description": "Classification feedback compared with its prediction"},
        "feedback_correct": _COUNT,
        "feedback_accuracy": {
            **_RATE,
            "description": "feedback_correct / feedback_judged (binary and multiclass feedback, and the "
            "verdicts on detections: an accepted one is right); null without any",
        },
        "feedback_missed": {
            **_COUNT,
            "description": "Defects detection models missed (operators' missed boxes)",
        },
        "model_versions": {"type": "array", "items": {"type": "string"}},
    }
)
_MODEL_PROPERTIES: dict[str, Any] = {
    "name": {"type": "string"},
    "version": {"type": "string"},
    "task": {"enum": list(TASK_KINDS)},
    "scored": _COUNT,
    "anomalies": _COUNT,
    "anomaly_rate": _RATE,
    "feedback": _COUNT,
    "quality_measure": {
        "enum": ["accuracy", "mean_absolute_error", "precision"],
        "description": "accuracy for binary (anomaly flag vs the 0/1 outcome) and multiclass (predicted vs "
        "reported class); mean_absolute_error for regression (|prediction - reported value|); precision for "
        "detection (accepted / (accepted + rejected) detections), with its recall",
    },
    "quality_feedback": {
        **_COUNT,
        "description": "How many feedback the measure is over (a detection model's: its verdicts)",
    },
    "accuracy": {
        **_RATE,
        "description": "Binary and multiclass; null for another task or without judged feedback",
    },
    "mean_absolute_error": {
        "type": ["number", "null"],
        "minimum": 0,
        "description": "In the model's unit; null for another task or without measured feedback",
    },
    "precision": {
        **_RATE,
        "description": "Detection: accepted / (accepted + rejected); null otherwise or without",
    },
    "recall": {
        **_RATE,
        "description": "Detection: accepted / (accepted + missed), the share of the defects operators saw "
        "that the model found; null otherwise or without",
    },
    "accepted": {
        **_COUNT_OR_NULL,
        "description": "Detection: the detections operators accepted (defects found)",
    },
    "rejected": {**_COUNT_OR_NULL, "description": "Detection: the detections operators rejected"},
    "missed": {
        **_COUNT_OR_NULL,
        "description": "Detection: the defects the model did not find (operators' missed boxes)",
    },
}
MODEL_STATS = _object({**_MODEL_PROPERTIES, "sites": {"type": "array", "items": {"type": "string"}}})
MODEL_HOUR = _object({"hour": {"type": "string", "format": "date-time"}, **_MODEL_PROPERTIES})

SUMMARY_BODY = _object(
    {
        "from": {
            **_TIME_OR_NULL,
            "description": "Start of the hours counted (the range widened); null: none",
        },
        "to": {**_TIME_OR_NULL, "description": "End of the hours counted (exclusive); null: none"},
        "sites": {"type": "array", "items": SITE_STATS},
        "overall": SITE_STATS,
        "models": {"type": "array", "items": MODEL_STATS, "description": "Per model version, over all sites"},
    }
)
MODEL_HOURS_BODY = _object(
    {
        "from": _TIME_OR_NULL,
        "to": _TIME_OR_NULL,
        "hours": {
            "type": "array",
            "items": MODEL_HOUR,
            "description": "Per model version and hour with data, over all sites; by model, then hour",
        },
    }
)
