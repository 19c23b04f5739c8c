"""The body of a ``retrain-requests`` message: a ``RetrainRequest`` (edgeloop.domain) as JSON.

Written by the local Trainer (edgeloop.adapters.local_trainer), read by the
``run_retraining`` function; ``line`` (optional) names a champion line of ``RETRAIN_COHORTS``.
A body that is not a valid request raises :class:`RetrainRequestError` naming the field,
so the host poisons it.
"""

from __future__ import annotations

import json
from typing import Any

from edgeloop.domain.records import format_timestamp, parse_timestamp
from edgeloop.domain.retraining_data import RetrainRequest


class RetrainRequestError(ValueError):
    """A retrain-requests message that is not a valid request (names the field)."""


def request_to_json(request: RetrainRequest) -> bytes:
    document = {
        "run_id": request.run_id,
        "requested_at": format_timestamp(request.requested_at),
        "reason": request.reason,
    }
    if request.line is not None:  # absent: MODEL_NAME's line, as every request before lines
        document["line"] = request.line
    return json.dumps(document).encode("utf-8")


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
    line = data.get("line")
    if line is not None and (not isinstance(line, str) or not line):
        raise RetrainRequestError("line: not a model name")
    return RetrainRequest(
        run_id=data["run_id"],
        requested_at=parse_timestamp(data["requested_at"], "requested_at"),
        reason=data["reason"][:200],
        line=line,
    )
