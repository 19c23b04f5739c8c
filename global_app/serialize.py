"""JSON shapes of the global app's API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from edgeloop.domain.insights_view import SiteStats, StoredInsight, risk_score
from edgeloop.domain.records import format_timestamp
from edgeloop.service_layer.global_views import Summary


def insight_json(item: StoredInsight) -> dict[str, Any]:
    body = item.record.to_wire()
    body["risk"] = risk_score(item.record.outputs)
    body["feedback"] = (
        None
        if item.feedback is None
        else {
            "feedback_id": item.feedback.feedback_id,
            "label": item.feedback.label,
            "recorded_at": format_timestamp(item.feedback.recorded_at),
        }
    )
    return body


def stats_json(stats: SiteStats) -> dict[str, Any]:
    return {
        "site_id": stats.site_id,
        "scored": stats.counts.scored,
        "anomalies": stats.counts.anomalies,
        "anomaly_rate": stats.anomaly_rate,
        "feedback": stats.counts.feedback,
        "feedback_correct": stats.counts.feedback_correct,
        "feedback_accuracy": stats.feedback_accuracy,
        "model_versions": list(stats.model_versions),
    }


def _time(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


def summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "from": _time(summary.start),
        "to": _time(summary.end),
        "sites": [stats_json(s) for s in summary.sites],
        "overall": stats_json(summary.overall),
    }
