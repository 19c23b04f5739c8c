"""Test app: two subscriptions of one topic, as the cloud functions use them.

A body ``{"fail": true}`` makes the function fail (to reach the dead-letter queue).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import azure.functions as func

app = func.FunctionApp()


def record(**fields: Any) -> None:
    """Append one JSON line to the file ``TEST_RECORD_FILE`` names (what the tests read)."""
    line = json.dumps({"t": time.time(), **fields}, default=str) + "\n"
    with open(os.environ["TEST_RECORD_FILE"], "a", encoding="utf-8") as out:
        out.write(line)


def _handle(subscription: str, message: func.ServiceBusMessage) -> None:
    body = json.loads(message.get_body())
    record(
        fn=subscription, message_id=message.message_id, subject=message.subject, body=body,
        application_properties=message.application_properties, delivery_count=message.delivery_count,
        content_type=message.content_type,
    )  # fmt: skip
    if isinstance(body, dict) and body.get("fail"):
        raise RuntimeError("asked to fail")


@app.service_bus_topic_trigger(
    arg_name="message",
    topic_name="%TEST_TOPIC%",
    subscription_name="global",
    connection="ServiceBusConnection",
)
def on_global(message: func.ServiceBusMessage) -> None:
    _handle("global", message)


@app.service_bus_topic_trigger(
    arg_name="message",
    topic_name="%TEST_TOPIC%",
    subscription_name="powerbi",
    connection="ServiceBusConnection",
)
async def on_powerbi(message: func.ServiceBusMessage) -> None:
    _handle("powerbi", message)
