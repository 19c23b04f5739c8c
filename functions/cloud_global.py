"""Cloud blueprint: ``ingest_insights`` upserts each compliant blob's records into the global store.

Trigger: topic ``insights``, subscription ``global`` (locally the queue
``insights-global``, see docs/functions-host.md). Thin: parse the claim-check
event, hand it to the use case (edgeloop.service_layer.ingest). Any error
propagates, so Service Bus redelivers the message and, after its max delivery
count, dead-letters it; the store's upsert is idempotent, so redelivery is safe.
The site statuses stored go to the drift watch (edgeloop.service_layer.drift_watch):
a drifting site may request a retraining run, rate-limited by the trigger's ledger,
so a redelivered message requests nothing twice.
"""

from __future__ import annotations

import azure.functions as func

from edgeloop.wire.claim_check import parse_event
from edgeloop.wire.messaging import GLOBAL_SUBSCRIPTION, INSIGHTS_TOPIC
from functions import dependencies

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it unannotated


@bp.function_name("ingest_insights")
@bp.service_bus_topic_trigger(
    arg_name="message",
    topic_name=INSIGHTS_TOPIC,
    subscription_name=GLOBAL_SUBSCRIPTION,
    connection="ServiceBusConnection",
)
def ingest_insights(message: func.ServiceBusMessage) -> None:
    result = dependencies.insight_ingest.get().ingest(parse_event(message.get_body()))
    if result.site_statuses:
        dependencies.drift_watch.get().observe(result.site_statuses)
