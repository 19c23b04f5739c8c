"""JSON shapes of the global app's API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from edgeloop.domain.counter_stats import SiteStats
from edgeloop.domain.insights_view import StoredInsight, risk_score
from edgeloop.domain.model_stats import ModelFigures, ModelHour
from edgeloop.domain.records import format_timestamp
from edgeloop.service_layer.global_views import ModelHours, Summary


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
        "feedback_judged": stats.counts.feedback_judged,
        "feedback_correct": stats.counts.feedback_correct,
        "feedback_accuracy": stats.feedback_accuracy,
        "feedback_missed": stats.counts.feedback_missed,
        "model_versions": list(stats.model_versions),
    }


def model_json(figures: ModelFigures) -> dict[str, Any]:
    """A model's counts and its task's feedback measures (the other tasks' are null)."""
    model, counts = figures.model, figures.counts
    accepted, rejected, missed = figures.detection_verdicts or (None, None, None)
    return {
        "name": model.name,
        "version": model.version,
        "task": model.task,
        "scored": counts.scored,
        "anomalies": counts.anomalies,
        "anomaly_rate": figures.anomaly_rate,
        "feedback": counts.feedback,
        "quality_measure": model.quality_measure,
        "quality_feedback": figures.quality_feedback,
        "accuracy": figures.accuracy,
        "mean_absolute_error": figures.mean_absolute_error,
        "precision": figures.precision,
        "recall": figures.recall,
        "accepted": accepted,
        "rejected": rejected,
        "missed": missed,
    }


def _model_hour_json(hour: ModelHour) -> dict[str, Any]:
    return {"hour": format_timestamp(hour.hour), **model_json(hour)}


def _time(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


def summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "from": _time(summary.start),
        "to": _time(summary.end),
        "sites": [stats_json(s) for s in summary.sites],
        "overall": stats_json(summary.overall),
        "models": [{**model_json(m), "sites": list(m.sites)} for m in summary.models],
    }


def model_hours_json(view: ModelHours) -> dict[str, Any]:
    return {
        "from": _time(view.start),
        "to": _time(view.end),
        "hours": [_model_hour_json(hour) for hour in view.hours],
    }
