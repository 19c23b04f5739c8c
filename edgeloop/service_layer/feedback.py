"""Feedback use case: the actual outcome of scored readings, recorded like insights.

All items of a request are checked first (shape, label, and that the insight was
scored on this site); one bad item refuses the whole request and nothing is
recorded. Also: the "recent scorings" view of the site, joined with feedback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from edgeloop.domain.records import FEEDBACK_KIND, INSIGHT_KIND, FeedbackRecord, utc_now
from edgeloop.ports import Outbox
from edgeloop.service_layer.scoring import InvalidInput, Problem, new_batch_id
from edgeloop.service_layer.scoring_input import check_envelope

MAX_FEEDBACK_ITEMS = 1000
_INSIGHT_ID = re.compile(r"^([0-9a-f]{32})-([0-9]{5})$")


class UnknownInsights(InvalidInput):
    """Feedback naming insights this site never scored (or no longer knows)."""

    status_code = 404


@dataclass(frozen=True, slots=True)
class FeedbackReceipt:
    batch_id: str
    feedback_ids: list[str]


def _items_of(body: Any, max_items: int) -> list[tuple[str, int]]:
    items = check_envelope(body, "items").get("items")
    if type(items) is not list:
        raise InvalidInput([Problem(None, "items", "must be a list of {insight_id, label} objects")])
    if not 1 <= len(items) <= max_items:
        raise InvalidInput([Problem(None, "items", f"must hold 1 to {max_items} items, got {len(items)}")])
    problems: list[Problem] = []
    parsed: list[tuple[str, int]] = []
    for index, item in enumerate(items):
        if type(item) is not dict:
            problems.append(Problem(index, "item", "must be an object {insight_id, label}"))
            continue
        problems.extend(
            Problem(index, str(key)[:64], "is not a known field (expected insight_id, label)")
            for key in item
            if key not in ("insight_id", "label")
        )
        insight_id, label = item.get("insight_id"), item.get("label")
        if type(insight_id) is not str or not _INSIGHT_ID.match(insight_id):
            problems.append(Problem(index, "insight_id", "must be an insight id like <32 hex>-<5 digits>"))
        if type(label) is not int or label not in (0, 1):
            problems.append(Problem(index, "label", "must be 0 (did not fail) or 1 (failed)"))
        parsed.append((str(insight_id), label if type(label) is int else -1))
    if problems:
        raise InvalidInput(problems)
    return parsed


class FeedbackService:
    def __init__(
        self,
        outbox: Outbox,
        site_id: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        batch_ids: Callable[[], str] = new_batch_id,
        max_items: int = MAX_FEEDBACK_ITEMS,
    ) -> None:
        self._outbox = outbox
        self._site_id = site_id
        self._clock = clock
        self._batch_ids = batch_ids
        self._max_items = max_items

    def record(self, body: Any) -> FeedbackReceipt:
        """Record every item or none; raises InvalidInput (422), UnknownInsights (404) or OutboxFull."""
        items = _items_of(body, self._max_items)
        unknown = []
        for index, (insight_id, _) in enumerate(items):
            match = _INSIGHT_ID.match(insight_id)
            assert match is not None  # checked in _items_of
            if not self._outbox.has_record(match.group(1), int(match.group(2))):
                unknown.append(Problem(index, "insight_id", f"unknown insight {insight_id} on this site"))
        if unknown:
            raise UnknownInsights(unknown)
        batch_id = self._batch_ids()
        recorded_at = self._clock()
        records = [
            FeedbackRecord(f"{batch_id}-{index:05d}", insight_id, self._site_id, label, recorded_at)
            for index, (insight_id, label) in enumerate(items)
        ]
        self._outbox.append(batch_id, FEEDBACK_KIND, [orjson.dumps(r.to_wire()) for r in records])
        return FeedbackReceipt(batch_id, [r.feedback_id for r in records])


@dataclass(frozen=True, slots=True)
class RecentScoring:
    insight_id: str
    scored_at: str
    model_version: str
    inputs: dict[str, Any]
    outputs: dict[str, float]
    anomaly: bool
    anomaly_kinds: list[str]
    context: dict[str, str]
    feedback: int | None  # the latest reported label, if any


def recent_scorings(outbox: Outbox, limit: int, feedback_window: int = 2000) -> list[RecentScoring]:
    """The site's newest insights (newest first) with the outcome reported for each, if any."""
    labels: dict[str, int] = {}
    # Newest first: the first label seen for an insight is its latest.
    for record in outbox.recent(FEEDBACK_KIND, feedback_window):
        labels.setdefault(record["insight_id"], record["label"])
    scorings = []
    for record in outbox.recent(INSIGHT_KIND, limit):
        scorings.append(
            RecentScoring(
                insight_id=record["insight_id"],
                scored_at=record["scored_at"],
                model_version=record["model"]["version"],
                inputs=record["inputs"],
                outputs=record["outputs"],
                anomaly=record["anomaly"],
                anomaly_kinds=record["anomaly_kinds"],
                context=record.get("context") or {},
                feedback=labels.get(record["insight_id"]),
            )
        )
    return scorings
