"""Observability: the Tracer port's no-op implementation and JSON logs carrying the trace ids.

The OpenTelemetry adapter is edgeloop/adapters/otel_tracer.py; which exporter a process uses
is decided at start-up by edgeloop/bootstrap/tracing.py.
"""
