"""OpenTelemetry set-up: one call configures tracing and metrics for a process.

With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans and metrics go to that OTLP collector; without it,
providers still exist (so spans carry context and tests can attach exporters) but nothing is sent.
gRPC interceptors come from here so that every server and client is instrumented the same way, with
health checks excluded.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.grpc import aio_client_interceptors, aio_server_interceptor, filters
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource as OtelResource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_lock = threading.Lock()
_configured: dict[str, Any] = {}


def setup_telemetry(service_name: str) -> TracerProvider:
    """Installs the global tracer and meter providers once per process; later calls return the first."""
    with _lock:
        if "tracer" in _configured:
            return _configured["tracer"]
        resource = OtelResource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
        tracer_provider = TracerProvider(resource=resource)
        readers = []
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

            tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
        _configured["tracer"] = tracer_provider
        return tracer_provider


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def meter(name: str) -> metrics.Meter:
    return metrics.get_meter(name)


_NOT_HEALTH = filters.negate(filters.health_check())


def server_interceptors() -> list[Any]:
    """The OpenTelemetry server interceptor; pass it when creating the grpc.aio server."""
    return [aio_server_interceptor(filter_=_NOT_HEALTH)]


def client_interceptors() -> list[Any]:
    """OpenTelemetry client interceptors for grpc.aio channels."""
    return list(aio_client_interceptors(filter_=_NOT_HEALTH))
