"""Cloud blueprint: ``feed_powerbi`` pushes each compliant blob's rows to the Power BI dataset.

Trigger: topic ``insights``, subscription ``powerbi`` (locally the queue
``insights-powerbi``, docs/functions-host.md). Thin: parse the claim-check
event, hand it to the use case (edgeloop.service_layer.powerbi_feed). Any error
propagates, so Service Bus redelivers the message and, after its max delivery
count, dead-letters it; the delivery ledger keeps redelivery from pushing rows twice.
"""

from __future__ import annotations

import threading

import azure.functions as func

from edgeloop.domain.claim_check import parse_event
from edgeloop.service_layer.powerbi_feed import PowerBIFeed

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it unannotated

_lock = threading.Lock()
_feed: PowerBIFeed | None = None


def powerbi_feed() -> PowerBIFeed:
    """Composed from settings on first use, then cached for the process (never at import)."""
    global _feed
    with _lock:
        if _feed is None:
            from edgeloop.config.powerbi import PowerBISettings
            from edgeloop.powerbi_bootstrap import build_feed

            _feed = build_feed(PowerBISettings())
        return _feed


def override_powerbi_feed(feed: PowerBIFeed | None) -> None:
    """Use ``feed`` from now on; ``None`` makes the next call compose from settings again."""
    global _feed
    with _lock:
        _feed = feed


@bp.function_name("feed_powerbi")
@bp.service_bus_topic_trigger(
    arg_name="message", topic_name="insights", subscription_name="powerbi", connection="ServiceBusConnection"
)
def feed_powerbi(message: func.ServiceBusMessage) -> None:
    event = parse_event(message.get_body())  # a malformed event fails before anything is composed
    powerbi_feed().deliver(event)
