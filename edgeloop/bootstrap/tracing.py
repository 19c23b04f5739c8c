"""Composition root of traces and logs: the process's tracer provider, exporter and log format.

Called by each component's composition root at start-up (scoring app, Functions, global app).
The first call in a process sets the global provider; later ones get a tracer on it. No
exporter configured: the no-op tracer (no OpenTelemetry SDK work on the hot path at all).
"""

from __future__ import annotations

import logging
import threading

from edgeloop.config.observability import ObservabilitySettings
from edgeloop.observability.json_logs import use_json_logs
from edgeloop.observability.tracing import NO_TRACER, Tracer

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_state: dict[str, bool] = {}  # "tracing": whether this process has a provider (set once)


def configure_tracing(component: str, settings: ObservabilitySettings | None = None) -> Tracer:
    """The tracer for ``component`` (its service name unless OTEL_SERVICE_NAME is set)."""
    settings = settings or ObservabilitySettings()
    with _lock:
        if "tracing" not in _state:
            _state["tracing"] = _install_provider(settings.service_name or component, settings)
        enabled = _state["tracing"]
    if not enabled:
        return NO_TRACER
    from edgeloop.adapters.otel_tracer import OtelTracer

    return OtelTracer.named(f"edgeloop.{component}")


def configure_logging(settings: ObservabilitySettings | None = None) -> None:
    """With LOG_FORMAT=json, every handler of the root logger writes JSON lines."""
    settings = settings or ObservabilitySettings()
    if settings.log_format == "json":
        use_json_logs()


def _install_provider(service_name: str, settings: ObservabilitySettings) -> bool:
    if settings.tracing_off or not (settings.azure_monitor or settings.otlp or settings.console):
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    resource = Resource.create({SERVICE_NAME: service_name})
    if settings.azure_monitor:
        assert settings.applicationinsights_connection_string is not None
        # Imported only here: it pulls in the SDK's instrumentations.
        from azure.monitor.opentelemetry import configure_azure_monitor

        connection = settings.applicationinsights_connection_string.get_secret_value()
        configure_azure_monitor(connection_string=connection, resource=resource, **_entra(settings))
    if settings.otlp or settings.console:
        provider = trace.get_tracer_provider()
        if not hasattr(provider, "add_span_processor"):  # not yet an SDK provider
            from opentelemetry.sdk.trace import TracerProvider

            provider = TracerProvider(resource=resource)
            trace.set_tracer_provider(provider)
        _add_exporters(provider, settings)
    logger.info("tracing on: service %s", service_name)
    return True


def _entra(settings: ObservabilitySettings) -> dict[str, object]:
    """The managed identity to send telemetry with, when Application Insights takes Entra ID only."""
    client_id = settings.entra_client_id()
    if client_id is None:
        return {}
    from azure.identity import ManagedIdentityCredential

    return {"credential": ManagedIdentityCredential(client_id=client_id or None)}


def _add_exporters(provider: object, settings: ObservabilitySettings) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    assert isinstance(provider, TracerProvider)
    if settings.otlp:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # Given, not left to the exporter: the setting may come from local.settings.json.
        endpoint = settings.otlp_traces_endpoint or settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if settings.console:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
