"""Cloud blueprint: ``feed_powerbi`` pushes each compliant blob's rows to the Power BI dataset.

Trigger: topic ``insights``, subscription ``powerbi`` (locally the queue
``insights-powerbi``, docs/functions-host.md). Thin: parse the claim-check
event, hand it to the use case (edgeloop.service_layer.powerbi_feed). Any error
propagates, so Service Bus redelivers the message and, after its max delivery
count, dead-letters it; the delivery ledger keeps redelivery from pushing rows twice.
"""

from __future__ import annotations

import azure.functions as func

from edgeloop.service_layer.powerbi_feed import PowerBIFeed
from edgeloop.wire.claim_check import parse_event
from functions.lazy import Lazy

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it unannotated


def _compose_feed() -> PowerBIFeed:
    from edgeloop.bootstrap.powerbi import build_feed
    from edgeloop.config.powerbi import PowerBISettings  # the adapters load only when needed

    return build_feed(PowerBISettings())


_feed = Lazy(_compose_feed)


def powerbi_feed() -> PowerBIFeed:
    """Composed from settings on first use, then cached for the process (never at import)."""
    return _feed.get()


def override_powerbi_feed(feed: PowerBIFeed | None) -> None:
    """Use ``feed`` from now on; ``None`` makes the next call compose from settings again."""
    _feed.override(feed)


@bp.function_name("feed_powerbi")
@bp.service_bus_topic_trigger(
    arg_name="message", topic_name="insights", subscription_name="powerbi", connection="ServiceBusConnection"
)
def feed_powerbi(message: func.ServiceBusMessage) -> None:
    event = parse_event(message.get_body())  # a malformed event fails before anything is composed
    powerbi_feed().deliver(event)
