"""The Cosmos DB documents of the global insight store: their shape, and back.

Documents in a site's partition (``/site_id``):

* an insight: ``id`` = ``insight_id``, with its winning ``feedback`` inline (the join);
  ``sort_key`` = ``scored_at|insight_id`` orders and pages it with one indexed field;
* pending feedback: same ``id``, ``doc_type`` ``pending_feedback``, until its insight arrives;
* hourly counters per (hour, model, task), ``ttl`` -1 so they outlive the insights;
* one ``site`` marker, so the app lists sites without a cross-partition DISTINCT;
* site status: one ``site_status`` document per heartbeat (``id`` ``_status_<status_id>``, expiring
  with the insights) and the site's latest, ``site_status_latest`` (``id`` ``_status_latest``).

The store (``cosmos_store``) decides what to write; this module only maps values
to documents and back, so the mapping is readable in one place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from edgeloop.domain.insights_view import (
    CounterKey,
    Counts,
    InsightState,
    StoredFeedback,
    StoredInsight,
    hour_bucket,
)
from edgeloop.domain.records import format_timestamp, insight_from_wire
from edgeloop.domain.site_status import SiteStatusRecord, site_status_from_wire

INSIGHT, PENDING, HOURLY, SITE = "insight", "pending_feedback", "hourly", "site"
STATUS, LATEST_STATUS = "site_status", "site_status_latest"
SITE_DOC_ID, LATEST_STATUS_ID = "_site", "_status_latest"

Doc = dict[str, Any]
Operation = tuple[str, tuple[Any, ...], dict[str, Any]]  # an ``execute_item_batch`` operation


def sort_key(scored_at: datetime, insight_id: str) -> str:
    return f"{format_timestamp(scored_at)}|{insight_id}"


def site_marker(site: str) -> Doc:
    return {"id": SITE_DOC_ID, "site_id": site, "doc_type": SITE, "ttl": -1}


def item_doc(site: str, insight_id: str, state: InsightState, ttl: int | None) -> Doc:
    """An insight document (with its feedback), or pending feedback while the insight is missing."""
    insight, feedback = state
    doc: Doc = {"id": insight_id, "site_id": site, "feedback": _feedback_doc(feedback)}
    if insight is None:
        doc["doc_type"] = PENDING
    else:
        doc |= {
            "doc_type": INSIGHT,
            "scored_at": format_timestamp(insight.scored_at),
            "sort_key": sort_key(insight.scored_at, insight_id),
            "hour": hour_bucket(insight.scored_at),
            "anomaly": insight.anomaly,
            "record": insight.to_wire(),
        }
    if ttl is not None:
        doc["ttl"] = ttl
    return doc


def write_if_changed(old: Doc | None, new: Doc) -> list[Operation]:
    """Create, replace if the etag read still holds, or nothing when the content is the same."""
    if old is None:
        return [("create", (new,), {})]
    if _content(old) == new:
        return []
    return [("replace", (new["id"], new), {"if_match_etag": old["_etag"]})]


ReadIds = Callable[[str, Sequence[str]], dict[str, Doc]]  # a site's documents by id, those that exist
RollupKey = TypeVar("RollupKey")


def moved_rollups(
    site: str,
    changes: Mapping[RollupKey, Counts],
    read_ids: ReadIds,
    doc_id: Callable[[RollupKey], str],
    doc_of: Callable[[RollupKey, Counts], Doc],
    from_counters: Callable[[RollupKey], Counts],
) -> list[Operation]:
    """The operations that move each of a site's rollup documents by its change: from the stored
    document, or from the counters where there is none yet (a rollup created at its next write);
    under the etag read, so a lost race fails the batch, which the store reads again and retries."""
    existing = read_ids(site, [doc_id(key) for key in changes])
    operations: list[Operation] = []
    for key, change in changes.items():
        old = existing.get(doc_id(key))
        base = counts_of(old) if old is not None else from_counters(key)
        operations += write_if_changed(old, doc_of(key, base + change))
    return operations


def _content(doc: Doc) -> Doc:
    """The document without the service's system properties (``_etag``, ``_ts``, ...)."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _feedback_doc(feedback: StoredFeedback | None) -> Doc | None:
    if feedback is None:
        return None
    return {
        "feedback_id": feedback.feedback_id,
        "label": feedback.label,
        "recorded_at": format_timestamp(feedback.recorded_at),
    }


def state_of(doc: Doc | None) -> InsightState:
    if doc is None:
        return None, None
    raw = doc.get("feedback")
    feedback = (
        StoredFeedback.from_stored(raw["feedback_id"], raw["label"], raw["recorded_at"]) if raw else None
    )
    insight = insight_from_wire(doc["record"]) if doc.get("doc_type") == INSIGHT else None
    return insight, feedback


def stored_insight(doc: Doc) -> StoredInsight:
    insight, feedback = state_of(doc)
    assert insight is not None  # callers pass insight documents only
    return StoredInsight(insight, feedback)


def counter_id(key: CounterKey) -> str:
    # Model names and versions may hold characters an id may not ('/', '#', ...): hash them.
    # A binary model's id is the one from before tasks, so its counters carry on.
    named = f"{key.model_name}\0{key.model_version}" + ("" if key.task == "binary" else f"\0{key.task}")
    digest = hashlib.sha256(named.encode()).hexdigest()[:24]
    return f"_hourly_{key.hour}_{digest}"


def counter_doc(key: CounterKey, counts: Counts) -> Doc:
    return {
        "id": counter_id(key),
        "site_id": key.site_id,
        "doc_type": HOURLY,
        "hour": key.hour,
        "model_name": key.model_name,
        "model_version": key.model_version,
        "task": key.task,
        **count_fields(counts),
        "ttl": -1,  # counters outlive the insights' TTL: the dashboard's history
    }


def counter_key(doc: Doc) -> CounterKey:
    task = doc.get("task", "binary")
    return CounterKey(doc["site_id"], doc["hour"], doc["model_name"], doc["model_version"], task)


def count_fields(counts: Counts) -> Doc:
    """The counts as a counter or rollup document's fields (read back by :func:`counts_of`)."""
    return {
        "scored": counts.scored,
        "anomalies": counts.anomalies,
        "feedback": counts.feedback,
        "feedback_correct": counts.feedback_correct,
        "feedback_judged": counts.feedback_judged,
        "error_count": counts.error_count,
        "error_sum": counts.error_sum,
        "feedback_missed": counts.feedback_missed,
    }


def counts_of(doc: Doc | None) -> Counts:
    """A counter document's counts; one written before tasks is a binary model's, every
    feedback of which was judged (a 0/1 label); one written before ``feedback_missed`` counted
    no missed box (docs/global-app.md says what that leaves)."""
    if doc is None:
        return Counts()
    return Counts(
        int(doc["scored"]),
        int(doc["anomalies"]),
        int(doc["feedback"]),
        int(doc["feedback_correct"]),
        int(doc["feedback_judged"] if "feedback_judged" in doc else doc["feedback"]),
        int(doc.get("error_count", 0)),
        float(doc.get("error_sum", 0.0)),
        int(doc.get("feedback_missed", 0)),
    )


def status_doc(status: SiteStatusRecord, ttl: int | None, *, latest: bool = False) -> Doc:
    """A heartbeat's document: one of the history, or the site's latest (which never expires)."""
    doc: Doc = {
        "id": LATEST_STATUS_ID if latest else f"_status_{status.status_id}",
        "site_id": status.site_id,
        "doc_type": LATEST_STATUS if latest else STATUS,
        "reported_at": format_timestamp(status.reported_at),
        "sort_key": f"{format_timestamp(status.reported_at)}|{status.status_id}",
        "record": status.to_wire(),
    }
    if latest:
        doc["ttl"] = -1
    elif ttl is not None:
        doc["ttl"] = ttl
    return doc


def status_of(doc: Doc) -> SiteStatusRecord:
    return site_status_from_wire(doc["record"])
