"""A feedback body (``{"items": [{"insight_id", "label"}, ...]}``, decoded JSON) read into typed items.

A label is checked against the task of the model serving now (edgeloop.domain.tasks): 0 or 1,
a class name, or a finite number; a wrong one is named ``items[i].label`` (row ``i``, field
``label``). The feedback use case checks again with the task it reads itself.
"""

from __future__ import annotations

from typing import Any

from edgeloop.domain.problems import InvalidInput, Problem
from edgeloop.domain.tasks import Task
from edgeloop.service_layer.feedback import FeedbackItem, item_problems
from scoring_app.decoding.envelope import check_envelope

MAX_FEEDBACK_ITEMS = 1000
_ITEM_FIELDS = ("insight_id", "label")


def feedback_items(body: Any, task: Task, max_items: int = MAX_FEEDBACK_ITEMS) -> list[FeedbackItem]:
    """The body's items for ``task``; InvalidInput naming item and field otherwise (all problems at once)."""
    items = check_envelope(body, "items").get("items")
    if type(items) is not list:
        raise InvalidInput([Problem(None, "items", "must be a list of {insight_id, label} objects")])
    if not 1 <= len(items) <= max_items:
        raise InvalidInput([Problem(None, "items", f"must hold 1 to {max_items} items, got {len(items)}")])
    problems: list[Problem] = []
    for index, item in enumerate(items):
        if type(item) is not dict:
            problems.append(Problem(index, "item", "must be an object {insight_id, label}"))
            continue
        problems.extend(
            Problem(index, str(key)[:64], "is not a known field (expected insight_id, label)")
            for key in item
            if key not in _ITEM_FIELDS
        )
        problems.extend(item_problems(index, item.get("insight_id"), item.get("label"), task))
    if problems:
        raise InvalidInput(problems)
    return [FeedbackItem(item["insight_id"], item["label"]) for item in items]
