"""JSON shapes of the fleet API (/api/v1/fleet, /api/v1/fleet/{site}); schemas in fleet_openapi.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from edgeloop.domain.fleet import FleetRow
from edgeloop.domain.records import format_timestamp
from edgeloop.domain.site_status import SiteStatusRecord
from edgeloop.service_layer.fleet_views import FleetView, SiteHistory


def _time(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


def row_json(row: FleetRow) -> dict[str, Any]:
    status, stats = row.status, row.stats
    model = status.model if status is not None and status.model.name else None
    return {
        "site_id": row.site_id,
        "state": row.state.state,
        "reasons": list(row.state.reasons),
        "last_seen": _time(status.reported_at if status else None),
        "last_seen_seconds": row.state.last_seen_s,
        "last_seen_text": row.state.last_seen_text,
        "serving_model": model.name if model else None,
        "serving_version": model.version if model else None,
        "champion_version": status.champion_version if status else None,
        "outbox_depth": status.outbox_depth if status else None,
        "outbox_oldest_age_s": status.outbox_oldest_age_s if status else None,
        "relay_lag_s": status.relay_lag_s if status else None,
        "last_send_at": _time(status.last_send_at if status else None),
        "drift_status": status.drift.status if status else "unavailable",
        "scored": stats.counts.scored if stats else 0,
        "anomaly_rate": stats.anomaly_rate if stats else None,
        "feedback_accuracy": stats.feedback_accuracy if stats else None,
    }


def fleet_json(view: FleetView) -> dict[str, Any]:
    limits, paging = view.thresholds, view.paging
    return {
        "now": format_timestamp(view.now),
        "window_from": format_timestamp(view.window_start),
        "thresholds": {
            "offline_after_s": limits.offline_after.total_seconds(),
            "backlog_records": limits.backlog_records,
            "backlog_age_s": limits.backlog_age.total_seconds(),
        },
        "states": paging.counts,
        "page": {
            "number": paging.number,
            "size": paging.size,
            "pages": paging.pages,
            "matching": paging.matching,
            "states": list(paging.states),
        },
        "sites": [row_json(row) for row in view.rows],
    }


def status_json(status: SiteStatusRecord) -> dict[str, Any]:
    return {key: value for key, value in status.to_wire().items() if key not in ("kind", "schema_version")}


def site_json(history: SiteHistory) -> dict[str, Any]:
    return {
        "now": format_timestamp(history.now),
        "window_from": format_timestamp(history.window_start),
        "site": row_json(history.row),
        "statuses": [status_json(status) for status in history.statuses],
        "hours": [
            {
                "hour": format_timestamp(rate.hour),
                "scored": rate.scored,
                "anomalies": rate.anomalies,
                "anomaly_rate": rate.anomaly_rate,
            }
            for rate in history.rates
        ],
    }
