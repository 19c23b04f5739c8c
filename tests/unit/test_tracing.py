"""Spans of the use cases with the OpenTelemetry SDK (in-memory exporter, the SDK's own), JSON logs.

The scoring service and the relay run on the real demo model and a real SQLite outbox; the
queue is a recording sender (the Azurite path is tests/integration/test_tracing_end_to_end.py).
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.bundles import demo_bundle, valid_rows

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.otel_tracer import OtelTracer
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.config.observability import ObservabilitySettings
from edgeloop.observability.json_logs import JsonLogFormatter, uvicorn_log_config
from edgeloop.observability.tracing import NO_TRACER
from edgeloop.service_layer.relay import OutboxRelay
from edgeloop.service_layer.scoring import ScoringService
from edgeloop.wire.insight_columns import document_traceparent
from edgeloop.wire.packing import unpack_traced
from edgeloop.wire.trace_context import span_id_of, trace_id_of
from scoring_app.decoding.score_body import validated_columns

CLIENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
OTHER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def exported() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exported: InMemorySpanExporter) -> OtelTracer:
    provider = TracerProvider()  # not the global one: tests stay independent
    provider.add_span_processor(SimpleSpanProcessor(exported))
    return OtelTracer(provider.get_tracer("test"))


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> OnnxModel:
    return OnnxModel.load(demo_bundle(tmp_path_factory.mktemp("bundle")))


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[SqliteOutbox]:
    box = SqliteOutbox(tmp_path / "outbox.sqlite3", capacity=1000)
    yield box
    box.close()


class RecordingSender:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()

    def send(self, body: bytes) -> None:
        with self.lock:
            self.bodies.append(body)


def hex_ids(span: ReadableSpan) -> tuple[str, str]:
    context = span.get_span_context()
    assert context is not None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def parent_id(span: ReadableSpan) -> str:
    assert span.parent is not None
    return f"{span.parent.span_id:016x}"


def test_a_span_is_the_child_of_a_remote_parent_links_the_others_and_yields_its_traceparent(
    tracer: OtelTracer, exported: InMemorySpanExporter
) -> None:
    with tracer.span("work", parent=CLIENT, links=[OTHER, "junk"], kind="consumer") as traceparent:
        assert traceparent is not None
        assert tracer.current() == traceparent
    assert tracer.current() is None
    [span] = exported.get_finished_spans()
    assert hex_ids(span) == (trace_id_of(CLIENT), span_id_of(traceparent))
    assert parent_id(span) == span_id_of(CLIENT)
    assert [f"{link.context.trace_id:032x}" for link in span.links] == [trace_id_of(OTHER)]


def test_without_a_valid_parent_a_span_is_the_child_of_the_current_one(
    tracer: OtelTracer, exported: InMemorySpanExporter
) -> None:
    with tracer.span("outer") as outer, tracer.span("inner", parent="not a traceparent"):
        pass
    inner, _ = exported.get_finished_spans()
    assert outer is not None
    assert parent_id(inner) == span_id_of(outer)


def test_tracing_off_yields_no_traceparent() -> None:
    assert not NO_TRACER.enabled
    with NO_TRACER.span("work", parent=CLIENT) as traceparent:
        assert traceparent is None
    assert NO_TRACER.current() is None


def test_a_scoring_group_span_travels_in_the_outbox_and_the_relay_span_in_the_message_header(
    tracer: OtelTracer, exported: InMemorySpanExporter, model: OnnxModel, outbox: SqliteOutbox
) -> None:
    service = ScoringService(outbox, "site-a", tracer=tracer)
    rows = validated_columns(model.manifest, valid_rows(model.manifest, 3, seed=1))
    service.score_many(model, [rows, rows], [CLIENT, OTHER])
    [scoring] = exported.get_finished_spans()
    assert scoring.name == "edgeloop.score"
    assert parent_id(scoring) == span_id_of(CLIENT)
    assert [f"{link.context.span_id:016x}" for link in scoring.links] == [span_id_of(OTHER)]
    [entry] = outbox.claim(10, 60)
    outbox.release([entry.entry_id])
    scoring_traceparent = document_traceparent(entry.items[0])
    assert scoring_traceparent is not None
    assert span_id_of(scoring_traceparent) == hex_ids(scoring)[1]

    sender = RecordingSender()
    relay = OutboxRelay(outbox, sender, max_in_flight=1, tracer=tracer)
    assert relay.run_once() == 6
    _, sent = exported.get_finished_spans()
    assert sent.name == "edgeloop.relay.send"
    assert parent_id(sent) == hex_ids(scoring)[1]
    [body] = sender.bodies
    unpacked = unpack_traced(body)
    assert unpacked.traceparent is not None
    assert span_id_of(unpacked.traceparent) == hex_ids(sent)[1]
    assert unpacked.item_traceparents == [scoring_traceparent]
    assert len(unpacked.records) == 6


def test_untraced_scoring_writes_no_trace_context(model: OnnxModel, outbox: SqliteOutbox) -> None:
    service = ScoringService(outbox, "site-a")
    service.score(model, validated_columns(model.manifest, valid_rows(model.manifest, 2, seed=2)))
    [entry] = outbox.claim(10, 60)
    assert all(b"traceparent" not in item for item in entry.items)


def test_json_log_lines_carry_the_current_trace_and_span_ids(tracer: OtelTracer) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("test_tracing.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("outside %s", "any span")
        with tracer.span("work") as traceparent:
            logger.warning("inside")
    finally:
        logger.removeHandler(handler)
    outside, inside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert outside["message"] == "outside any span"
    assert (outside["trace_id"], outside["span_id"]) == ("", "")
    assert traceparent is not None
    assert (inside["trace_id"], inside["span_id"]) == (trace_id_of(traceparent), span_id_of(traceparent))
    assert inside["level"] == "WARNING"
    assert inside["logger"] == "test_tracing.json"


def test_settings_name_the_exporters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console, otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("LOG_FORMAT", "json")
    settings = ObservabilitySettings()
    assert settings.console
    assert settings.otlp
    assert not settings.azure_monitor
    assert not settings.tracing_off
    assert uvicorn_log_config(settings.log_format) is not None
    assert uvicorn_log_config("text") is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert ObservabilitySettings().tracing_off


CONSOLE_SCRIPT = """
from edgeloop.bootstrap.tracing import configure_tracing
tracer = configure_tracing("edgeloop-console-check")
print("enabled", tracer.enabled, flush=True)
with tracer.span("edgeloop.check"):
    pass
"""


def run_script(env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS_"))}
    done = subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT],
        env=clean | env | {"EDGELOOP_LOCAL_SETTINGS": "absent.settings.json"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_the_console_exporter_prints_spans_when_asked_and_nothing_is_traced_otherwise() -> None:
    """In a child process: the tracer provider is set once per process."""
    printed = run_script({"OTEL_TRACES_EXPORTER": "console"})
    assert "enabled True" in printed
    assert '"name": "edgeloop.check"' in printed
    assert '"service.name": "edgeloop-console-check"' in printed
    assert run_script({}).strip() == "enabled False"


def test_azure_monitor_is_configured_from_its_connection_string() -> None:
    """configure_azure_monitor with the pinned versions; the ingestion endpoint refuses (nothing leaves)."""
    connection = (
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"
    )
    printed = run_script({"APPLICATIONINSIGHTS_CONNECTION_STRING": connection})
    assert "enabled True" in printed


def test_entra_authentication_names_the_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ObservabilitySettings().entra_client_id() is None
    monkeypatch.setenv("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Authorization=AAD")
    assert ObservabilitySettings().entra_client_id() == ""
    monkeypatch.setenv("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Authorization=AAD;ClientId=abc")
    assert ObservabilitySettings().entra_client_id() == "abc"
