"""Bad input fuzzing over real gRPC: at least 1,000 hypothesis-generated requests per service. Every one gets a
proper status code (never INTERNAL, never a traceback) and the services still answer health checks afterwards."""

import asyncio
import math
import threading

import grpc
import pytest
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lbi.v1 import (
    common_pb2,
    env_runner_pb2,
    env_runner_pb2_grpc,
    retrieval_pb2,
    retrieval_pb2_grpc,
    synthesis_pb2,
    synthesis_pb2_grpc,
)

ALLOWED = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
    )


texts = st.one_of(
    st.text(max_size=120),
    st.sampled_from(
        [
            "",
            "sql",
            "shell",
            "fuzz",
            "a" * 1_100_000,
            "\x00",
            "../../etc",
            "SELECT 1",
            "sleep 0.01",
            "\udc80".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
        ]
    ),
)
ints = st.one_of(
    st.integers(min_value=-(2**31), max_value=2**31 - 1), st.sampled_from([0, -1, 1, 5, 50, 51, 2**31 - 1])
)
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([math.nan, -1.0, 1e300]))


def nested(depth: int) -> dict:
    value: dict = {"x": 1}
    for _ in range(depth):
        value = {"nested": value}
    return value


configs = st.one_of(
    st.dictionaries(
        st.sampled_from(
            [
                "database",
                "read_only",
                "max_rows",
                "setup_sql",
                "resources",
                "timeout_s",
                "colour",
                "setup",
                "output_cap",
                "man_pages",
            ]
        ),
        st.one_of(texts, ints, floats, st.booleans(), st.lists(st.text(max_size=10), max_size=3)),
        max_size=3,
    ),
    st.integers(min_value=1, max_value=30).map(nested),  # deeper Structs exceed protobuf's own decode depth
)


def struct(data: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(data)
    return message


def expect_status(call, *args, **kwargs):
    """The call's response, or None after checking its error is a proper status without a traceback."""
    try:
        return call(*args, timeout=30, **kwargs)
    except grpc.RpcError as exc:
        assert exc.code() in ALLOWED, (exc.code(), str(exc.details()))
        assert "Traceback" not in (exc.details() or "")
        return None


class Served:
    """The three services on 127.0.0.1, on an event loop in a background thread, so hypothesis tests stay sync."""

    def __init__(self, tmp_path):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self._start(tmp_path))

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def _start(self, tmp_path):
        from env_runners.server import start_runner
        from lbi.cli.local_runner import launch_runner
        from lbi.config import RunnerSettings
        from lbi.dataset import DatasetStore
        from lbi.embedding import Embedder
        from lbi.records import Example, Origin, Step
        from lbi.store.edge import EdgeStore
        from retrieval_service.config import RetrievalSettings
        from retrieval_service.server import start_retrieval
        from synth_service.config import SynthSettings
        from synth_service.server import start_synthesis

        self.store, embedder = EdgeStore(tmp_path / "qdrant"), Embedder()
        await DatasetStore(self.store, embedder).ingest(
            "fuzz",
            [
                Example(
                    "Count the orders.",
                    "sql",
                    (Step("Connected.", "SELECT COUNT(*) FROM orders"),),
                    "2600",
                    Origin.FORWARD,
                    "t",
                    0,
                    1,
                    kept=True,
                ),
            ],
        )
        self.runner, self.runner_service = await start_runner(
            RunnerSettings(data_dir=tmp_path, runner_port=0, runner_max_sessions=8, runner_step_timeout_s=5)
        )
        self.retrieval, _ = await start_retrieval(
            RetrievalSettings(data_dir=tmp_path, retrieval_port=0), store=self.store, embedder=embedder
        )
        self.synthesis, self.engine = await start_synthesis(
            launch_runner=launch_runner,
            settings=SynthSettings(data_dir=tmp_path, synth_port=0, runner_step_timeout_s=5),
            store=self.store,
            embedder=embedder,
        )

    async def _stop(self):
        await self.engine.close()
        await self.synthesis.stop(0)
        await self.retrieval.stop(0)
        await self.runner_service.shutdown()
        await self.runner.stop(0)
        await self.store.close()

    def close(self):
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def channel(self, server) -> grpc.Channel:
        return grpc.insecure_channel(f"127.0.0.1:{server.port}")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    services = Served(tmp_path_factory.mktemp("fuzz"))
    yield services
    services.close()


def assert_serving(channel: grpc.Channel, service: str) -> None:
    status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
    assert status.status == health_pb2.HealthCheckResponse.SERVING


def test_env_runner(served):
    channel = served.channel(served.runner)
    stub = env_runner_pb2_grpc.EnvRunnerStub(channel)
    calls = [0]

    @fuzz(520)
    @given(env=st.sampled_from(["sql", "shell", "nope", ""]), config=configs, action=texts, session=texts)
    def one(env, config, action, session):
        opened = expect_status(stub.OpenSession, env_runner_pb2.OpenSessionRequest(env=env, config=struct(config)))
        if opened is not None:
            expect_status(stub.Step, env_runner_pb2.StepRequest(session_id=opened.session_id, action=action))
            expect_status(stub.CloseSession, env_runner_pb2.CloseSessionRequest(session_id=opened.session_id))
        expect_status(stub.Step, env_runner_pb2.StepRequest(session_id=session, action=action))
        calls[0] += 4 if opened is not None else 2

    one()
    assert calls[0] >= 1000
    assert_serving(channel, "lbi.v1.EnvRunner")


steps = st.builds(
    lambda o, a, e: common_pb2.Step(observation=o, action=a, error=e),
    st.text(max_size=50),
    st.text(max_size=50),
    st.booleans(),
)


def test_retrieval(served):
    channel = served.channel(served.retrieval)
    stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)

    @fuzz(1000)
    @given(
        dataset=st.sampled_from(["fuzz", "fuzz", "nope", "", "bad name", "a" * 80]),
        observation=texts,
        instruction=texts,
        history=st.one_of(
            st.lists(steps, max_size=3),
            st.integers(min_value=199, max_value=230).map(lambda n: [common_pb2.Step()] * n),
        ),
        queries=st.lists(st.text(max_size=40), max_size=12),
        modes=st.lists(st.integers(min_value=-3, max_value=9), max_size=3),
        k=ints,
        budget=ints,
        window=ints,
        origins=st.lists(st.integers(min_value=-2, max_value=6), max_size=2),
        generate=st.booleans(),
        dense=st.booleans(),
    )
    def one(dataset, observation, instruction, history, queries, modes, k, budget, window, origins, generate, dense):
        request = retrieval_pb2.RetrieveRequest(
            dataset=dataset,
            observation=observation,
            instruction=instruction,
            history=history,
            queries=queries,
            modes=modes,
            k_observation=k,
            k_query=k,
            k_instruction=k,
            prompt_budget_chars=budget,
            window=window,
            generate_queries=generate,
            dense_observation=dense,
            filters=retrieval_pb2.RetrievalFilters(envs=["sql"], origins=origins),
        )
        response = expect_status(stub.Retrieve, request)
        if response is not None and budget > 0:
            assert len(response.prompt_block) <= budget

    one()
    expect_status(
        stub.BatchRetrieve, retrieval_pb2.BatchRetrieveRequest(requests=[retrieval_pb2.RetrieveRequest()] * 300)
    )
    assert_serving(channel, "lbi.v1.RetrievalService")


def test_synthesis(served):
    channel = served.channel(served.synthesis)
    stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)

    @fuzz(350)
    @given(
        job_id=texts,
        env=st.sampled_from(["", "nope", "also-nope"]),
        dataset=texts,
        steps=ints,
        per=ints,
        mode=ints,
        policy=ints,
        budget=ints,
        threshold=floats,
        config=configs,
    )
    def one(job_id, env, dataset, steps, per, mode, policy, budget, threshold, config):
        spec = synthesis_pb2.JobSpec(
            env=env,
            dataset=dataset[:100],
            max_steps=steps,
            instructions_per_resource=per,
            backward_mode=mode,
            filter_policy=policy,
            env_config=struct(config),
            budget=synthesis_pb2.Budget(max_llm_calls=budget),
            dedup_threshold=threshold,
        )
        expect_status(stub.CreateJob, synthesis_pb2.CreateJobRequest(spec=spec))
        expect_status(stub.GetJob, synthesis_pb2.GetJobRequest(job_id=job_id))
        expect_status(stub.CancelJob, synthesis_pb2.CancelJobRequest(job_id=job_id))

    one()
    assert expect_status(stub.ListJobs, synthesis_pb2.ListJobsRequest()) is not None
    assert_serving(channel, "lbi.v1.SynthesisService")
