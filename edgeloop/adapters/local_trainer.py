"""The Trainer port, locally: a message on queue ``retrain-requests`` of the cloud account.

The ``run_retraining`` queue function (functions/cloud_retraining.py) picks it up
and runs the retraining in the Functions worker, so the timer function that
submitted it returns at once. The body: edgeloop.wire.retrain_request.
"""

from __future__ import annotations

from edgeloop.ports import QueueSender, RetrainRequest
from edgeloop.wire.messaging import RETRAIN_QUEUE
from edgeloop.wire.retrain_request import request_to_json


class QueueTrainer:
    def __init__(self, sender: QueueSender, queue_name: str = RETRAIN_QUEUE) -> None:
        self._sender = sender
        self._queue_name = queue_name

    def submit(self, request: RetrainRequest) -> str:
        self._sender.send(request_to_json(request))
        return f"queue {self._queue_name}, run {request.run_id}"
