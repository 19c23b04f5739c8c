"""Edge blueprint: ``filter_insights`` moves compliant insights from the site to the cloud.

Thin: the trigger input goes to the use case (edgeloop.service_layer.filtering).
A body that is not a valid pack raises, so the host retries it and, after
maxDequeueCount (host.json), moves it to ``insights-poison``.
"""

from __future__ import annotations

import azure.functions as func

from functions import dependencies

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it unannotated


@bp.function_name("filter_insights")
@bp.queue_trigger(arg_name="msg", queue_name="%INSIGHTS_QUEUE%", connection="EdgeStorage")
def filter_insights(msg: func.QueueMessage) -> None:
    dependencies.insight_filter.get().process_message(msg.get_body())
