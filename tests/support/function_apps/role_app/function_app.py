"""Test app: registers blueprints by EDGELOOP_ROLE, like the project's root function_app.py."""

from __future__ import annotations

import os

import azure.functions as func

edge = func.Blueprint()
cloud = func.Blueprint()


@edge.queue_trigger(arg_name="msg", queue_name="%EDGE_QUEUE%", connection="EdgeStorage")
def edge_fn(msg: func.QueueMessage) -> None:
    pass


@cloud.function_name(name="cloud_fn")
@cloud.service_bus_topic_trigger(
    arg_name="message", topic_name="insights", subscription_name="global", connection="ServiceBusConnection"
)
def cloud_handler(message: func.ServiceBusMessage, context: func.Context) -> None:
    pass


@cloud.route(route="health")
def health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("ok")


app = func.FunctionApp()
role = os.environ.get("EDGELOOP_ROLE", "all")
if role in ("edge", "all"):
    app.register_blueprint(edge)
if role in ("cloud", "all"):
    app.register_blueprint(cloud)
