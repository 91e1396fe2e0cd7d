"""Synthesis jobs end to end: real env-runner (sql), offline LLM through litellm, embedded Qdrant."""

import asyncio

import pytest
import pytest_asyncio
from litellm import CustomLLM

from lbi.cli.local_runner import launch_runner
from lbi.llm.litellm_setup import get_litellm, register_provider
from lbi.store.edge import EdgeStore
from synth_service.config import SynthSettings
from synth_service.engine import Engine
from synth_service.spec import spec_from_dict
from synth_service.stages.backward import labelling_calls

SECTIONS = ["Filtering rows with WHERE", "Top customers by revenue", "Counting rows"]


@pytest_asyncio.fixture
async def engine(tmp_path, embedder):
    settings = SynthSettings(data_dir=tmp_path, runner_step_timeout_s=5)
    store = EdgeStore(tmp_path / "qdrant")
    engine = Engine(settings, store, embedder, launch_runner=launch_runner)
    yield engine
    await engine.close()
    await store.close()


def _spec(**overrides):
    return spec_from_dict({"env": "sql", "dataset": "test", "resource_filter": SECTIONS, **overrides})


async def test_job_produces_all_origins_and_consistent_stats(engine):
    job = await engine.run(engine.create(_spec()))
    assert job["state"] == "SUCCEEDED", job["error"]
    s = job["stats"]
    assert s.resources == 3 and s.instructions == 3 and s.trajectories == 3
    assert all(v > 0 for v in s.candidates.values())
    assert sum(s.candidates.values()) == s.kept + s.dropped
    assert s.ingested == s.kept
    store, datasets = engine.datasets.store, engine.datasets
    assert await store.count("test__examples") == s.kept
    for origin in ("forward", "backward-task", "backward-summary"):
        assert await store.count("test__examples", {"origin": origin}) > 0
    info = await datasets.describe("test")
    assert info.jobs == [job["id"]] and info.envs == ["sql"]
    assert s.llm_calls == sum(f.llm_calls for f in s.stages.values()) and s.tokens > 0
    assert s.stages["rollout"].llm_calls > 0 and s.stages["backward"].llm_calls > 0 and s.stages["filter"].llm_calls > 0


async def test_rerunning_the_same_spec_resumes_the_same_job(engine):
    spec = _spec()
    first = await engine.run(engine.create(spec))
    again = await engine.run(engine.create(spec))
    assert again["id"] == first["id"] and again["stats"].llm_calls == first["stats"].llm_calls
    assert await engine.datasets.store.count("test__examples") == first["stats"].kept


async def test_budget_ends_the_job_cleanly_with_everything_so_far_ingested(engine):
    job = await engine.run(engine.create(_spec(max_llm_calls=12)))
    assert job["state"] == "BUDGET_EXHAUSTED" and "budget" in job["error"]
    assert job["stats"].llm_calls <= 12
    assert job["stats"].ingested == job["stats"].kept


async def test_cancel_then_resume_gives_the_uninterrupted_result(engine, tmp_path, embedder):
    spec = _spec(dataset="cancelled")
    job_id = engine.create(spec)
    task = engine.start(job_id)
    while engine.get(job_id)["stage"] not in ("rollout", "backward", "filter"):
        await asyncio.sleep(0.01)
    cancelled = await engine.cancel(job_id)
    assert cancelled["state"] == "CANCELLED"
    assert task.done()
    resumed = await engine.run(job_id)
    assert resumed["state"] == "SUCCEEDED"
    reference = await engine.run(engine.create(_spec(dataset="reference")))
    assert resumed["stats"].kept == reference["stats"].kept
    assert resumed["stats"].llm_calls == reference["stats"].llm_calls


class Garbage(CustomLLM):
    """A labeller that answers in the wrong schema every time."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    async def acompletion(self, model, messages, *args, **kwargs):
        self.calls += 1
        return get_litellm().completion(model="gpt-3.5-turbo", messages=messages, mock_response='{"label": 42}')


async def test_malformed_llm_output_is_recorded_not_crashed(engine):
    garbage = Garbage()
    register_provider("garbage", garbage)
    job = await engine.run(engine.create(_spec(models={"labeller": "garbage/x"}, dataset="garbage")))
    assert job["state"] == "SUCCEEDED"
    s = job["stats"]
    assert s.candidates["backward-task"] == 0 and s.label_failures > 0
    assert s.candidates["forward"] == 3 and s.kept + s.dropped == 3
    # each unusable reply is asked again once; spans whose label inputs are identical share one call while it runs
    assert garbage.calls % 2 == 0 and 0 < garbage.calls <= 2 * s.label_failures
    reasons = [r for _, _, _, r in engine.journal.records(job["id"], "label_failures")]
    assert all("schema" in r for r in reasons)


async def test_a_dead_runner_costs_a_retry_on_another(engine, runner_settings):
    from env_runners.server import start_runner

    server, service = await start_runner(runner_settings)
    try:
        spec = _spec(runner_endpoints=[f"127.0.0.1:{server.port}", "127.0.0.1:9"], dataset="dead", rollout_retries=2)
        job = await engine.run(engine.create(spec))
    finally:
        await service.shutdown()
        await server.stop(0)
    assert job["state"] == "SUCCEEDED"
    assert job["stats"].trajectories == 3 and job["stats"].failed_rollouts == 0


async def test_only_dead_runners_record_failed_rollouts(engine, runner_settings):
    from env_runners.server import start_runner

    server, service = await start_runner(runner_settings)
    spec = _spec(runner_endpoints=[f"127.0.0.1:{server.port}"], dataset="dying", rollout_retries=1)
    job_id = engine.create(spec)
    task = engine.start(job_id)
    while engine.get(job_id)["stage"] != "rollout":
        await asyncio.sleep(0.005)
    await service.shutdown()
    await server.stop(0)
    await task
    job = engine.get(job_id)
    assert job["stats"].trajectories + job["stats"].failed_rollouts == job["stats"].instructions
    if job["stats"].trajectories:  # some rollouts finished before the runner went away
        assert job["state"] == "SUCCEEDED"
    else:  # every rollout failed: the job says so, with the first reason
        assert job["state"] == "FAILED" and "rollouts failed; the first: runner " in job["error"]
    reasons = [r for _, _, ok, r in engine.journal.records(job_id, "trajectories") if not ok]
    assert all("UNAVAILABLE" in r or "NOT_FOUND" in r for r in reasons)


@pytest.mark.parametrize(
    "mode, window, expected",
    [
        ("paper", 3, {1: 2, 2: 6, 3: 12, 4: 20, 6: 42}),
        ("window", 2, {1: 2, 2: 6, 3: 10, 4: 14, 6: 22}),
        ("batched", 3, {1: 2, 2: 4, 3: 6, 4: 8, 6: 12}),
    ],
)
def test_labelling_calls_per_mode(mode, window, expected):
    assert {length: labelling_calls(length, mode, window) for length in expected} == expected


class Counting(CustomLLM):
    """Counts calls by role and answers like the offline backend."""

    def __init__(self):
        super().__init__()
        self.by_role = {}

    async def acompletion(self, model, messages, *args, **kwargs):
        from lbi.llm.offline.handler import OfflineLLM

        role = kwargs["litellm_params"]["metadata"]["lbi_role"]
        self.by_role[role] = self.by_role.get(role, 0) + 1
        return OfflineLLM().completion(model, messages, *args, **kwargs)


@pytest.mark.parametrize("mode", ["paper", "window", "batched"])
async def test_counted_labelling_calls_match_the_formula(engine, mode):
    counter = Counting()
    register_provider("counting", counter, reads_inputs=True)  # it answers as the offline backend does
    spec = _spec(
        models={"labeller": "counting/x"},
        backward_mode=mode,
        backward_window=2,
        dataset=f"count-{mode}",
        resource_filter=["Top customers by revenue"],
    )
    job = await engine.run(engine.create(spec))
    length = len(next(engine.journal.records(job["id"], "trajectories"))[1]["steps"])
    role = "label_batch" if mode == "batched" else "label"
    assert counter.by_role[role] == labelling_calls(length, mode, 2)


async def test_grpc_service_creates_watches_lists_and_cancels(tmp_path, embedder):
    import grpc

    from lbi.cli.local_runner import launch_runner
    from lbi.v1 import synthesis_pb2 as pb
    from lbi.v1 import synthesis_pb2_grpc
    from synth_service.server import start_synthesis

    settings = SynthSettings(data_dir=tmp_path, synth_port=0)
    store = EdgeStore(tmp_path / "qdrant")
    server, engine = await start_synthesis(
        launch_runner=launch_runner, settings=settings, store=store, embedder=embedder
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)
            spec = _spec(dataset="grpc").to_proto()
            job = await stub.CreateJob(pb.CreateJobRequest(spec=spec))
            assert job.id.startswith("job-") and job.spec.dataset == "grpc"
            events = [e async for e in stub.WatchJob(pb.WatchJobRequest(job_id=job.id))]
            assert events[-1].state == pb.JOB_STATE_SUCCEEDED
            assert {pb.Stage.Name(e.stage) for e in events} >= {
                "STAGE_ROLLOUT",
                "STAGE_BACKWARD",
                "STAGE_FILTER",
                "STAGE_INGEST",
            }
            done = await stub.GetJob(pb.GetJobRequest(job_id=job.id))
            stats = done.stats
            assert (
                stats.kept + stats.dropped
                == stats.candidates_forward + stats.candidates_backward_task + stats.candidates_backward_summary
            )
            assert stats.kept > 0 and len(stats.stages) == 6
            again = await stub.CreateJob(pb.CreateJobRequest(spec=spec))
            assert again.id == job.id and again.state == pb.JOB_STATE_SUCCEEDED
            assert [j.id for j in (await stub.ListJobs(pb.ListJobsRequest())).jobs] == [job.id]
            other = await stub.CreateJob(pb.CreateJobRequest(spec=_spec(dataset="grpc-cancel").to_proto()))
            cancelled = await stub.CancelJob(pb.CancelJobRequest(job_id=other.id))
            assert cancelled.state in (pb.JOB_STATE_CANCELLED, pb.JOB_STATE_SUCCEEDED)
            for bad, field in (
                (pb.JobSpec(), "spec.env"),
                (pb.JobSpec(env="sql", dataset="a b"), "spec.dataset"),
                (pb.JobSpec(env="sql", max_steps=1000), "spec.max_steps"),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await stub.CreateJob(pb.CreateJobRequest(spec=bad))
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in str(err.value.details())
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.GetJob(pb.GetJobRequest(job_id="job-nope"))
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await engine.close()
        await server.stop(0)
        await store.close()


async def test_examples_reach_the_store_before_the_last_rollout_ends(engine):
    """The pipeline streams: with one rollout at a time, the first batch of kept examples is written while
    later tasks are still being rolled out (the barrier pipeline wrote nothing before every stage was done)."""
    spec = _spec(
        dataset="stream",
        rollout_concurrency=1,
        ingest_batch=4,
        resource_filter=[*SECTIONS, "Joining two tables", "Sorting and limiting", "Grouping with GROUP BY"],
    )
    job_id = engine.create(spec)
    events = []

    async def watch():
        async for event in engine.watch(job_id):
            events.append((event, engine.journal.count(job_id, "trajectories")))

    watcher = asyncio.ensure_future(watch())
    await asyncio.sleep(0)
    job = await engine.run(job_id)
    await watcher
    assert job["state"] == "SUCCEEDED", job["error"]
    first_ingest = next(i for i, (e, _) in enumerate(events) if e.get("stage") == "ingest" and e.get("done", 0) > 0)
    rollout_done = next(i for i, (e, _) in enumerate(events) if e.get("message") == "rollout done")
    assert first_ingest < rollout_done
    _, rolled_out = events[first_ingest]
    # later tasks were still to roll out
    assert rolled_out < job["stats"].instructions and job["stats"].instructions >= 6
    times = job["stats"].stages
    assert times["ingest"].wall_seconds > 0 and times["rollout"].wall_seconds > 0
