"""Cloud blueprint: the retraining loop's timer and worker.

* ``schedule_retraining`` (timer, NCRONTAB from setting ``RETRAIN_SCHEDULE``) submits a
  run through the Trainer port and returns at once: locally a message on queue
  ``retrain-requests``, in Azure optionally an Azure ML command job (``RETRAIN_TRAINER``).
* ``run_retraining`` (queue ``retrain-requests`` on the cloud account) runs it
  (edgeloop.service_layer.retraining). A message that is not a valid request
  raises, so the host retries and finally poisons it; a run that dies midway is
  retried by the host and leaves no half-registered version.

Thin: parse, call the use case. Composed on first use (never at import).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

import azure.functions as func

from edgeloop.adapters.local_trainer import RETRAIN_QUEUE, request_from_json
from edgeloop.domain.records import utc_now
from edgeloop.ports import RetrainRequest, Trainer
from functions.lazy import Lazy

if TYPE_CHECKING:
    from edgeloop.adapters.azure_clients import AzureClients
    from edgeloop.service_layer.retraining import RetrainingService

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it unannotated
logger = logging.getLogger(__name__)


def _compose_clients() -> AzureClients:
    from edgeloop.adapters.azure_clients import AzureClients

    return AzureClients()


def _compose_trainer() -> Trainer:
    from edgeloop.bootstrap.retraining import build_trainer
    from edgeloop.config.retraining import RetrainingSettings

    return build_trainer(RetrainingSettings(), _clients.get())


def _compose_retraining() -> RetrainingService:
    from edgeloop.bootstrap.retraining import build_retraining
    from edgeloop.config.retraining import RetrainingSettings

    return build_retraining(RetrainingSettings(), _clients.get())


# One set of credentials (the app's identity in Azure) for the timer's queue and the worker's blobs.
_clients: Lazy[AzureClients] = Lazy(_compose_clients)
trainer: Lazy[Trainer] = Lazy(_compose_trainer)
retraining: Lazy[RetrainingService] = Lazy(_compose_retraining)


def override_retraining(trainer_: Trainer | None, service: RetrainingService | None) -> None:
    """Use these from now on; ``None`` makes the next call compose from settings again."""
    trainer.override(trainer_)
    retraining.override(service)


@bp.function_name("schedule_retraining")
@bp.timer_trigger(arg_name="timer", schedule="%RETRAIN_SCHEDULE%", run_on_startup=False, use_monitor=True)
def schedule_retraining(timer: func.TimerRequest) -> None:
    reason = "schedule (past due)" if timer.past_due else "schedule"
    request = RetrainRequest(run_id=uuid.uuid4().hex, requested_at=utc_now(), reason=reason)
    where = trainer.get().submit(request)
    logger.info("retraining run %s submitted to %s", request.run_id, where)


@bp.function_name("run_retraining")
@bp.queue_trigger(arg_name="msg", queue_name=RETRAIN_QUEUE, connection="CloudStorage")
def run_retraining(msg: func.QueueMessage) -> None:
    request = request_from_json(msg.get_body())
    report = retraining.get().run(request)
    logger.info("retraining run %s finished: %s", request.run_id, report.outcome)
