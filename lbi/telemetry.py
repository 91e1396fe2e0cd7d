"""OpenTelemetry set-up: tracing and metrics per service, even when one process hosts several (`lbi up`).

Each service name gets its own TracerProvider, whose resource says `service.name` (OTEL_SERVICE_NAME, when
set, names every service of the process). A span takes the provider of the service it runs in: the one whose
gRPC server is handling the request (`server_interceptors(service)` marks it), else the one its tracer was
made for (`tracer("lbi.retrieval")` belongs to lbi-retrieval; see SERVICE_OF), else the process's first. The
first provider set up is also the global one, which libraries and agents' own code use.

With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans and metrics go to that OTLP collector; without it providers
still exist but spans are not recorded (nothing would read them), until a processor is added with
`add_span_processor` (tests collect spans in memory that way).
Span names follow the OpenTelemetry semantic conventions where they exist: RPC (the gRPC instrumentation),
GenAI (`chat <model>`, `embeddings <model>`), database (`search <collection>`, db.system.name qdrant).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import grpc
from opentelemetry import metrics, trace
from opentelemetry.context import Context as OtelContext
from opentelemetry.instrumentation.grpc import (
    aio_client_interceptors,
    aio_server_interceptor,
    client_interceptor,
    filters,
    grpcext,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource as OtelResource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from lbi.grpc_handlers import Behaviour, Continuation, Handler, wrap_handler
from lbi.grpc_handlers import Context as RpcContext

_lock = threading.Lock()
_providers: dict[str, TracerProvider] = {}
_processors: list[SpanProcessor] = []  # added to every provider, present and future (tests' in-memory exporters)
_service: contextvars.ContextVar[str] = contextvars.ContextVar("lbi_service", default="")
# The service a tracer's spans belong to when no request of a service is being handled (background work).
SERVICE_OF = {
    "lbi.retrieval": "lbi-retrieval",
    "lbi.synthesis": "lbi-synthesis",
    "lbi.online": "lbi-synthesis",
    "lbi.env_runner": "lbi-env-runner",
}


class _WhenExported(Sampler):
    """Records spans only while something takes them (an OTLP endpoint, or a processor added with
    `add_span_processor`): without a collector a span is a cheap non-recording one, so the hot path does not pay
    for spans nobody reads. Trace context is still propagated."""

    def should_sample(
        self,
        parent_context: OtelContext | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if _exporting():
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return SamplingResult(Decision.DROP)

    def get_description(self) -> str:
        return "lbi: record when exported"


def _exporting() -> bool:
    return bool(_processors) or bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def setup_telemetry(service_name: str) -> TracerProvider:
    """The service's tracer provider, made once (the first one made becomes the global provider too)."""
    with _lock:
        if service_name in _providers:
            return _providers[service_name]
        resource = OtelResource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
        provider = TracerProvider(resource=resource, sampler=_WhenExported())
        first = not _providers
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        for processor in _processors:
            provider.add_span_processor(processor)
        _providers[service_name] = provider
        if first:
            trace.set_tracer_provider(provider)
            readers = []
            if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
                from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
                from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

                readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
            metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
        return provider


def add_span_processor(processor: SpanProcessor) -> None:
    """Adds a span processor to every service's provider, now and later (an in-memory exporter in tests)."""
    with _lock:
        _processors.append(processor)
        providers = list(_providers.values())
    for provider in providers:
        provider.add_span_processor(processor)


def _provider(default_service: str) -> Any:
    service = _service.get() or default_service
    return _providers.get(service) or trace.get_tracer_provider()


class _ServiceTracer:
    """A tracer whose spans go to the provider of the service they run in (see the module docstring)."""

    def __init__(self, name: str):
        self.name = name
        self.default_service = next(
            (s for prefix, s in SERVICE_OF.items() if name == prefix or name.startswith(prefix + ".")), ""
        )
        # The tracer per provider: the SDK's get_tracer builds a scope and edits the warnings filters on every
        # call (about 60 us), which is not for a hot path's every span. Providers live as long as the process.
        self._tracers: dict[Any, trace.Tracer] = {}

    def _tracer(self) -> trace.Tracer:
        provider = _provider(self.default_service)
        tracer = self._tracers.get(provider)
        if tracer is None:
            tracer = self._tracers[provider] = provider.get_tracer(self.name)
        return tracer

    def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._tracer().start_as_current_span(name, *args, **kwargs)

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> trace.Span:
        return self._tracer().start_span(name, *args, **kwargs)


def tracer(name: str) -> Any:
    return _ServiceTracer(name)


def meter(name: str) -> metrics.Meter:
    return metrics.get_meter(name)


@contextlib.contextmanager
def in_service(service_name: str) -> Iterator[None]:
    """Spans started inside (and tasks created inside) belong to this service."""
    token = _service.set(service_name)
    try:
        yield
    finally:
        _service.reset(token)


_NOT_HEALTH = filters.negate(filters.health_check())


class _ServiceMarker(grpc.aio.ServerInterceptor):
    """Runs each RPC handler of a server inside `in_service(name)`."""

    def __init__(self, service_name: str):
        self.service_name = service_name

    async def intercept_service(self, continuation: Continuation, details: grpc.HandlerCallDetails) -> Handler | None:
        name = self.service_name

        def unary(inner: Behaviour) -> Behaviour:
            async def in_the_service(request: Any, context: RpcContext) -> Any:
                with in_service(name):
                    return await inner(request, context)

            return in_the_service

        def stream(inner: Behaviour) -> Behaviour:
            async def in_the_service(request: Any, context: RpcContext) -> AsyncIterator[Any]:
                with in_service(name):
                    async for item in inner(request, context):
                        yield item

            return in_the_service

        return wrap_handler(await continuation(details), unary, stream)


def server_interceptors(service_name: str) -> list[Any]:
    """The service marker and the OpenTelemetry server interceptor (of the service's provider); pass them when
    creating the grpc.aio server."""
    provider = setup_telemetry(service_name)
    return [_ServiceMarker(service_name), aio_server_interceptor(tracer_provider=provider, filter_=_NOT_HEALTH)]


def client_interceptors() -> list[Any]:
    """OpenTelemetry client interceptors for grpc.aio channels: a client span per call, its W3C trace context sent."""
    return list(aio_client_interceptors(filter_=_NOT_HEALTH))


def intercept_sync_channel(channel: grpc.Channel) -> grpc.Channel:
    """A blocking channel with the OpenTelemetry client interceptor (the SDK's RetrievalClient)."""
    intercepted: grpc.Channel = grpcext.intercept_channel(channel, client_interceptor(filter_=_NOT_HEALTH))
    return intercepted
