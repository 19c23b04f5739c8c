"""Cloud blueprint: the retraining loop's timer and worker.

* ``schedule_retraining`` (timer, NCRONTAB from setting ``RETRAIN_SCHEDULE``) first re-signs
  each line's champion pointer if it expires within ``MODEL_POINTER_REFRESH_HOURS`` (a failure is
  logged and does not stop the run), judges a soaking staged rollout and re-signs its pointer
  (edgeloop.service_layer.rollout_watch, docs/rollouts.md; a failure is logged likewise), re-signs
  a shadow test's pointer likewise (edgeloop.service_layer.shadow_pointers), then
  submits a run per champion line (``MODEL_NAME``'s, then each of ``RETRAIN_COHORTS``) through the
  Trainer port and returns at once: locally a message on queue ``retrain-requests``, in Azure
  optionally an Azure ML command job (``RETRAIN_TRAINER``).
* ``run_retraining`` (queue ``retrain-requests`` on the cloud account) runs it
  (edgeloop.service_layer.retraining). A message that is not a valid request
  raises, so the host retries and finally poisons it; a run that dies midway is
  retried by the host and leaves no half-registered version.

Thin: parse, call the use case (functions/dependencies.py composes it on first use).
"""

from __future__ import annotations

import logging
import uuid

import azure.functions as func

from edgeloop.domain.records import utc_now
from edgeloop.ports import RetrainRequest
from edgeloop.wire.messaging import RETRAIN_QUEUE
from edgeloop.wire.retrain_request import request_from_json
from functions import dependencies

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it unannotated
logger = logging.getLogger(__name__)


@bp.function_name("schedule_retraining")
@bp.timer_trigger(arg_name="timer", schedule="%RETRAIN_SCHEDULE%", run_on_startup=False, use_monitor=True)
def schedule_retraining(timer: func.TimerRequest) -> None:
    try:
        refreshed = dependencies.pointer_refresher.get()()
    except Exception:  # e.g. a pointer that does not verify: the sites will say it expired
        logger.exception("champion pointer not refreshed")
    else:
        if refreshed is not None:
            pointer = refreshed.pointer
            logger.info("champion pointer re-signed: serial %d, expires %s", pointer.serial, pointer.expires)
    try:
        logger.info("staged rollout: %s", dependencies.rollout_step.get()())
    except Exception:  # the run below must still start; the sites keep what they serve
        logger.exception("staged rollout not watched")
    try:
        if dependencies.shadow_refresher.get()() is not None:
            logger.info("shadow pointer re-signed")
    except Exception:  # the sites keep shadowing with the pointer they accepted
        logger.exception("shadow pointer not refreshed")
    reason = "schedule (past due)" if timer.past_due else "schedule"
    for line in dependencies.retraining_lines.get():  # None first: MODEL_NAME's line
        request = RetrainRequest(uuid.uuid4().hex, utc_now(), reason, line)
        where = dependencies.trainer.get().submit(request)
        logger.info("retraining run %s (%s) submitted to %s", request.run_id, line or "fleet line", where)


@bp.function_name("run_retraining")
@bp.queue_trigger(arg_name="msg", queue_name=RETRAIN_QUEUE, connection="CloudStorage")
def run_retraining(msg: func.QueueMessage) -> None:
    request = request_from_json(msg.get_body())
    if request.line is None:
        service = dependencies.retraining.get()
    else:  # a line RETRAIN_COHORTS does not name raises: retried, then poisoned
        service = dependencies.line_retraining.get()(request.line)
    report = service.run(request)
    logger.info("retraining run %s finished: %s", request.run_id, report.outcome)
