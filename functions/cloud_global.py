"""Cloud blueprint: ``ingest_insights`` upserts each compliant blob's records into the global store.

Trigger: topic ``insights``, subscription ``global`` (locally the queue
``insights-global``, see docs/functions-host.md). Thin: parse the claim-check
event, hand it to the use case (edgeloop.service_layer.ingest). Any error
propagates, so Service Bus redelivers the message and, after its max delivery
count, dead-letters it; the store's upsert is idempotent, so redelivery is safe.
"""

from __future__ import annotations

import azure.functions as func

from edgeloop.service_layer.ingest import InsightIngest
from edgeloop.wire.claim_check import parse_event
from functions.lazy import Lazy

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it unannotated


def _compose_ingest() -> InsightIngest:
    from edgeloop.bootstrap.cloud import build_ingest  # the adapters load only when needed

    return build_ingest()


_ingest = Lazy(_compose_ingest)


def insight_ingest() -> InsightIngest:
    """Composed from settings on first use, then cached for the process (never at import)."""
    return _ingest.get()


def override_insight_ingest(ingest: InsightIngest | None) -> None:
    """Use ``ingest`` from now on; ``None`` makes the next call compose from settings again."""
    _ingest.override(ingest)


@bp.function_name("ingest_insights")
@bp.service_bus_topic_trigger(
    arg_name="message", topic_name="insights", subscription_name="global", connection="ServiceBusConnection"
)
def ingest_insights(message: func.ServiceBusMessage) -> None:
    insight_ingest().ingest(parse_event(message.get_body()))
