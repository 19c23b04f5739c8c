"""The Trainer port, locally: a message on queue ``retrain-requests`` of the cloud account.

The ``run_retraining`` queue function (functions/cloud_retraining.py) picks it up
and runs the retraining in the Functions worker, so the timer function that
submitted it returns at once. The body is JSON (see :func:`request_to_json`).
"""

from __future__ import annotations

import json
from typing import Any

from edgeloop.domain.records import format_timestamp, parse_timestamp
from edgeloop.ports import QueueSender, RetrainRequest
from edgeloop.wire.messaging import RETRAIN_QUEUE


class RetrainRequestError(ValueError):
    """A retrain-requests message that is not a valid request (names the field)."""


def request_to_json(request: RetrainRequest) -> bytes:
    return json.dumps(
        {
            "run_id": request.run_id,
            "requested_at": format_timestamp(request.requested_at),
            "reason": request.reason,
        }
    ).encode("utf-8")


def request_from_json(body: bytes) -> RetrainRequest:
    try:
        data: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RetrainRequestError(f"message is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RetrainRequestError("message must be a JSON object")
    for field in ("run_id", "requested_at", "reason"):
        if not isinstance(data.get(field), str) or not data[field]:
            raise RetrainRequestError(f"{field}: missing or not a string")
    if not data["run_id"].isalnum():
        raise RetrainRequestError("run_id: letters and digits only")
    return RetrainRequest(
        run_id=data["run_id"],
        requested_at=parse_timestamp(data["requested_at"], "requested_at"),
        reason=data["reason"][:200],
    )


class QueueTrainer:
    def __init__(self, sender: QueueSender, queue_name: str = RETRAIN_QUEUE) -> None:
        self._sender = sender
        self._queue_name = queue_name

    def submit(self, request: RetrainRequest) -> str:
        self._sender.send(request_to_json(request))
        return f"queue {self._queue_name}, run {request.run_id}"
