"""Bearer tokens on all three services: rotation, tenancy per token, open health checks and reflection."""

import grpc
import pytest

from lbi.auth import TokenTable
from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.clients.runner import RunnerClient
from lbi.config import RunnerSettings
from lbi.v1 import synthesis_pb2, synthesis_pb2_grpc

TOKENS = "old-token,new-token,shop-only=shop"


def test_token_table_parsing_and_grants():
    table = TokenTable(TOKENS)
    everything = table.grant([("authorization", "Bearer new-token")])
    assert everything is not None and everything.datasets is None
    limited = table.grant([("authorization", "Bearer shop-only")])
    assert limited is not None and limited.allows("shop") and not limited.allows("other")
    assert table.grant([("authorization", "Bearer nope")]) is None and table.grant(None) is None
    assert not TokenTable("") and not TokenTable(" , ")


async def test_runner_requires_a_token_but_not_for_health(tmp_path):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from env_runners.server import start_runner

    server, service = await start_runner(RunnerSettings(data_dir=tmp_path, runner_port=0, auth_tokens=TOKENS))
    target = f"127.0.0.1:{server.port}"
    try:
        async with RunnerClient(target) as anonymous:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await anonymous.list_environments()
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await anonymous.resources("sql")  # a streaming RPC
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        for token in ("old-token", "new-token"):  # both valid during a rotation
            async with RunnerClient(target, token=token) as client:
                assert await client.list_environments()
        async with grpc.aio.insecure_channel(target) as channel:
            status = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
            assert status.status == health_pb2.HealthCheckResponse.SERVING
            from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

            async def ask():
                yield reflection_pb2.ServerReflectionRequest(list_services="")

            async for answer in reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(ask()):
                assert answer.list_services_response.service
                break
    finally:
        await service.shutdown()
        await server.stop(0)


async def test_synthesis_requires_a_token(tmp_path):
    from lbi.cli.local_runner import launch_runner
    from lbi.store.edge import EdgeStore
    from synth_service.config import SynthSettings
    from synth_service.server import start_synthesis

    store = EdgeStore(tmp_path / "q")
    server, engine = await start_synthesis(
        launch_runner=launch_runner,
        settings=SynthSettings(data_dir=tmp_path, synth_port=0, auth_tokens=TOKENS),
        store=store,
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.ListJobs(synthesis_pb2.ListJobsRequest())
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.aio.AioRpcError) as err:
                async for _ in stub.WatchJob(synthesis_pb2.WatchJobRequest(job_id="x")):
                    pass
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            jobs = await stub.ListJobs(
                synthesis_pb2.ListJobsRequest(), metadata=(("authorization", "Bearer old-token"),)
            )
            assert list(jobs.jobs) == []
    finally:
        await engine.close()
        await server.stop(0)
        await store.close()


async def test_retrieval_tenancy_comes_from_the_token(tmp_path):
    from lbi.dataset import DatasetStore
    from lbi.embedding import Embedder
    from lbi.records import Example, Origin, Step
    from lbi.store.edge import EdgeStore
    from retrieval_service.config import RetrievalSettings
    from retrieval_service.server import start_retrieval

    store, embedder = EdgeStore(tmp_path / "q"), Embedder()
    datasets = DatasetStore(store, embedder)
    example = Example(
        "Count the orders.",
        "sql",
        (Step("Connected.", "SELECT COUNT(*) FROM orders"),),
        "2600",
        Origin.FORWARD,
        "t",
        0,
        1,
        kept=True,
    )
    for name in ("shop", "other"):
        await datasets.ingest(name, [example])
    server, _ = await start_retrieval(
        RetrievalSettings(data_dir=tmp_path, retrieval_port=0, auth_tokens=TOKENS), store=store, embedder=embedder
    )
    target = f"127.0.0.1:{server.port}"
    try:
        async with AsyncRetrievalClient(target, token="shop-only") as tenant:
            assert (await tenant.retrieve("shop", observation="Connected.")).examples
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await tenant.retrieve("other", observation="Connected.")
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await tenant.describe_dataset("other")
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert [d.name for d in await tenant.list_datasets()] == ["shop"]
        async with AsyncRetrievalClient(target, token="new-token") as admin:
            assert [d.name for d in await admin.list_datasets()] == ["other", "shop"]
    finally:
        await server.stop(0)
        await store.close()


async def test_tls_with_a_self_signed_certificate(tmp_path):
    import subprocess

    from env_runners.server import start_runner

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    settings = RunnerSettings(
        data_dir=tmp_path, runner_port=0, tls_cert_file=str(cert), tls_key_file=str(key), auth_tokens="t"
    )
    server, service = await start_runner(settings)
    target = f"127.0.0.1:{server.port}"
    try:
        async with RunnerClient(target, token="t", ca_file=str(cert)) as secure:
            assert await secure.list_environments()
        async with RunnerClient(target, token="t", ca_file="", timeout_s=3) as plain:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await plain.list_environments()
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await service.shutdown()
        await server.stop(0)
