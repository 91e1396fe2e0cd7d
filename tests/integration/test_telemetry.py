"""OpenTelemetry: gRPC server spans and environment spans are recorded; health checks are not traced."""

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lbi.telemetry import add_span_processor


async def test_runner_calls_produce_spans(runner):
    exporter = InMemorySpanExporter()
    add_span_processor(SimpleSpanProcessor(exporter))
    session, _ = await runner.open_session("sql")
    await runner.step(session, "SELECT 1")
    await runner.close_session(session)
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    await health_pb2_grpc.HealthStub(runner._channel).Check(health_pb2.HealthCheckRequest(service=""))
    names = [s.name for s in exporter.get_finished_spans()]
    assert "env.open" in names and "env.step" in names
    assert any(n.endswith("EnvRunner/Step") for n in names)
    assert not any("Health" in n for n in names)
