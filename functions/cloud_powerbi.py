"""Cloud blueprint: ``feed_powerbi`` pushes each compliant blob's rows to the Power BI dataset.

Trigger: topic ``insights``, subscription ``powerbi`` (locally the queue
``insights-powerbi``, docs/functions-host.md). Thin: parse the claim-check
event, hand it to the use case (edgeloop.service_layer.powerbi_feed). Any error
propagates, so Service Bus redelivers the message and, after its max delivery
count, dead-letters it; the delivery ledger keeps redelivery from pushing rows twice.
"""

from __future__ import annotations

import azure.functions as func

from edgeloop.wire.claim_check import parse_event
from edgeloop.wire.messaging import INSIGHTS_TOPIC, POWERBI_SUBSCRIPTION
from functions import dependencies

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it unannotated


@bp.function_name("feed_powerbi")
@bp.service_bus_topic_trigger(
    arg_name="message",
    topic_name=INSIGHTS_TOPIC,
    subscription_name=POWERBI_SUBSCRIPTION,
    connection="ServiceBusConnection",
)
def feed_powerbi(message: func.ServiceBusMessage) -> None:
    event = parse_event(message.get_body())  # a malformed event fails before anything is composed
    dependencies.powerbi_feed.get().deliver(event)
