"""Cloud blueprint: ``feed_lake`` merges each compliant blob's insights into the Delta table.

Trigger: topic ``insights``, subscription ``lake`` (locally the queue ``insights-lake``).
Thin: parse the claim-check event, hand it to the use case (edgeloop.service_layer.lake_feed).
Any error propagates, so Service Bus redelivers; the merge on ``insight_id`` makes that safe.
"""

from __future__ import annotations

import azure.functions as func

from edgeloop.wire.claim_check import parse_event
from edgeloop.wire.messaging import INSIGHTS_TOPIC, LAKE_SUBSCRIPTION
from functions import dependencies

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it unannotated


@bp.function_name("feed_lake")
@bp.service_bus_topic_trigger(
    arg_name="message",
    topic_name=INSIGHTS_TOPIC,
    subscription_name=LAKE_SUBSCRIPTION,
    connection="ServiceBusConnection",
)
def feed_lake(message: func.ServiceBusMessage) -> None:
    event = parse_event(message.get_body())  # a malformed event fails before anything is composed
    dependencies.lake_feed.get().deliver(event)
