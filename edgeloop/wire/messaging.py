"""Names of the messaging entities records and requests travel through (docs/CONTRACTS.md).

* Site account: queue ``insights`` (the relay writes, ``filter_insights`` reads); after
  ``maxDequeueCount`` (host.json) the host moves a message to ``insights-poison``.
* Service Bus: topic ``insights`` with subscriptions ``global`` (``ingest_insights``),
  ``powerbi`` (``feed_powerbi``) and ``lake`` (``feed_lake``). Locally each subscription is a
  Storage queue ``<topic>-<subscription>`` (``insights-global``, ``insights-powerbi``, ...).
* Cloud account: queue ``retrain-requests`` (``run_retraining``).

Settings defaults reference these; the deployed names may differ by setting.
"""

from __future__ import annotations

INSIGHTS_QUEUE = "insights"
INSIGHTS_TOPIC = "insights"
GLOBAL_SUBSCRIPTION = "global"
POWERBI_SUBSCRIPTION = "powerbi"
LAKE_SUBSCRIPTION = "lake"
TOPIC_SUBSCRIPTIONS = (GLOBAL_SUBSCRIPTION, POWERBI_SUBSCRIPTION, LAKE_SUBSCRIPTION)
RETRAIN_QUEUE = "retrain-requests"


def subscription_queue(topic: str, subscription: str) -> str:
    """The Storage queue that stands in for a topic subscription locally."""
    return f"{topic}-{subscription}"
