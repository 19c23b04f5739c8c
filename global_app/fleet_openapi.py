"""JSON Schemas of the fleet API's bodies (OpenAPI 3.1), built by global_app/fleet_json.py.

tests/integration/test_global_app_openapi.py checks every answer against them.
"""

from __future__ import annotations

from typing import Any

from edgeloop.domain.fleet import SITE_STATES
from edgeloop.domain.records import TASK_KINDS
from edgeloop.domain.site_status import DRIFT_STATUSES
from global_app.fleet_rollouts import SITE_ROLLOUT

_COUNT = {"type": "integer", "minimum": 0}
_COUNT_OR_NULL = {"type": ["integer", "null"], "minimum": 0}
_SECONDS_OR_NULL = {"type": ["number", "null"], "minimum": 0}
_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_TEXT_OR_NULL = {"type": ["string", "null"]}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties}


FLEET_ROW = _object(
    {
        "site_id": {"type": "string"},
        "state": {
            "enum": list(SITE_STATES),
            "description": "offline: no status for FLEET_OFFLINE_AFTER_MINUTES; degraded: backlog over "
            "FLEET_BACKLOG_RECORDS or FLEET_BACKLOG_AGE_MINUTES, errors or drift; unknown: never a status",
        },
        "reasons": {"type": "array", "items": {"type": "string"}},
        "last_seen": {**_TIME_OR_NULL, "description": "reported_at of the latest status; null: never"},
        "last_seen_seconds": _SECONDS_OR_NULL,
        "last_seen_text": {"type": "string", "description": "e.g. 'last seen 12 minutes ago'"},
        "serving_model": _TEXT_OR_NULL,
        "serving_version": _TEXT_OR_NULL,
        "champion_version": {**_TEXT_OR_NULL, "description": "The newest champion the site has seen"},
        "outbox_depth": {**_COUNT_OR_NULL, "description": "Records waiting at the site (the backlog)"},
        "outbox_oldest_age_s": _SECONDS_OR_NULL,
        "relay_lag_s": {**_SECONDS_OR_NULL, "description": "Seconds since the site's relay last worked"},
        "last_send_at": _TIME_OR_NULL,
        "drift_status": {"enum": list(DRIFT_STATUSES)},
        "scored": {**_COUNT, "description": "Insights scored in the window"},
        "anomaly_rate": _RATE,
        "feedback_accuracy": _RATE,
    }
)
FLEET_BODY = _object(
    {
        "now": _TIME,
        "window_from": {**_TIME, "description": "Scored, anomaly rate and feedback accuracy count from here"},
        "thresholds": _object(
            {
                "offline_after_s": {"type": "number"},
                "backlog_records": _COUNT,
                "backlog_age_s": {"type": "number"},
            }
        ),
        "states": {**_object({state: _COUNT for state in SITE_STATES}), "description": "The whole fleet's"},
        "page": _object(
            {
                "number": {**_COUNT, "minimum": 1},
                "size": {**_COUNT, "minimum": 1},
                "pages": {**_COUNT, "minimum": 1},
                "matching": {**_COUNT, "description": "Sites in the states asked for, on every page"},
                "states": {"type": "array", "items": {"enum": list(SITE_STATES)}, "description": "[]: all"},
            }
        ),
        "sites": {
            "type": "array",
            "items": FLEET_ROW,
            "description": "This page's: offline first, then degraded, unknown and ok, each by site id",
        },
        "rollouts": {
            "type": "object",
            "additionalProperties": SITE_ROLLOUT,
            "description": "Site id -> its staged rollout (docs/rollouts.md), for this page's sites",
        },
    }
)
_MODEL = {
    "type": "object",
    "required": ["name", "version", "sha256"],
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "string"},
        "sha256": {"type": "string"},
        "task": {"enum": list(TASK_KINDS)},
    },
}
SITE_STATUS = _object(
    {
        "status_id": {"type": "string"},
        "site_id": {"type": "string"},
        "reported_at": _TIME,
        "model": _MODEL,
        "champion_version": _TEXT_OR_NULL,
        "outbox_depth": _COUNT,
        "outbox_oldest_age_s": {"type": "number", "minimum": 0},
        "relay_lag_s": _SECONDS_OR_NULL,
        "last_send_at": _TIME_OR_NULL,
        "scoring_errors": {**_COUNT, "description": "Since the site's previous heartbeat"},
        "relay_failures": {**_COUNT, "description": "Since the site's previous heartbeat"},
        "heartbeat_failures": {**_COUNT, "description": "Heartbeats that could not be written since"},
        "rejected_versions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Versions the site refused to serve (golden check, signature, load, rollback)",
        },
        "drift": _object(
            {
                "status": {"enum": list(DRIFT_STATUSES)},
                "window_rows": _COUNT,
                "features": {"type": "object", "additionalProperties": {"type": "object"}},
            }
        ),
    }
)
FLEET_SITE_BODY = _object(
    {
        "now": _TIME,
        "window_from": _TIME,
        "site": FLEET_ROW,
        "rollout": SITE_ROLLOUT,
        "statuses": {
            "type": "array",
            "items": SITE_STATUS,
            "description": "The newest `limit`, oldest first",
        },
        "hours": {
            "type": "array",
            "items": _object(
                {"hour": _TIME, "scored": _COUNT, "anomalies": _COUNT, "anomaly_rate": {"type": "number"}}
            ),
        },
    }
)
