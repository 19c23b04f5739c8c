"""Test app: a queue function with a blob output binding, which the local host refuses."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp()


@app.queue_trigger(arg_name="msg", queue_name="inbox", connection="AzureWebJobsStorage")
@app.blob_output(arg_name="out", path="outbox/{id}", connection="AzureWebJobsStorage")
def copy(msg: func.QueueMessage, out: func.Out[str]) -> None:
    out.set(msg.get_body().decode())
