"""Settings of traces and logs, under the names OpenTelemetry and Azure Monitor document.

- ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``): spans go to that
  OTLP/HTTP collector (``/v1/traces`` is appended to the first, as the OTLP spec says).
- ``OTEL_TRACES_EXPORTER``: a comma list; ``console`` prints spans on stdout, ``none`` turns
  tracing off whatever else is set.
- ``APPLICATIONINSIGHTS_CONNECTION_STRING``: spans (and logs) go to Azure Monitor; with
  ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD[;ClientId=...]`` (local auth off,
  as infra/bicep sets it) they are sent with the app's managed identity.
- ``OTEL_SERVICE_NAME``: the process's name in the traces (default: the component's own).
- ``LOG_FORMAT``: ``text`` (default) or ``json`` (one object a line, with trace_id and span_id).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from edgeloop.config.base import EdgeloopSettings


class ObservabilitySettings(EdgeloopSettings):
    otlp_endpoint: str = Field(default="", alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    otlp_traces_endpoint: str = Field(default="", alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    traces_exporter: str = Field(default="", alias="OTEL_TRACES_EXPORTER")
    applicationinsights_connection_string: SecretStr | None = Field(
        default=None, alias="APPLICATIONINSIGHTS_CONNECTION_STRING"
    )
    applicationinsights_authentication_string: str = Field(
        default="", alias="APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
    )
    service_name: str = Field(default="", alias="OTEL_SERVICE_NAME")
    log_format: Literal["text", "json"] = Field(default="text", alias="LOG_FORMAT")

    def exporters(self) -> set[str]:
        return {name.strip().lower() for name in self.traces_exporter.split(",") if name.strip()}

    @property
    def tracing_off(self) -> bool:
        return "none" in self.exporters()

    @property
    def console(self) -> bool:
        return "console" in self.exporters()

    @property
    def otlp(self) -> bool:
        return bool(self.otlp_endpoint or self.otlp_traces_endpoint)

    def entra_client_id(self) -> str | None:
        """None: key-based ingestion; "" the system identity; else a user-assigned identity's client id."""
        parts = dict(
            part.split("=", 1)
            for part in self.applicationinsights_authentication_string.split(";")
            if "=" in part
        )
        if parts.get("Authorization", "").upper() != "AAD":
            return None
        return parts.get("ClientId", "")

    @property
    def azure_monitor(self) -> bool:
        secret = self.applicationinsights_connection_string
        return secret is not None and bool(secret.get_secret_value())
