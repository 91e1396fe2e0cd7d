"""A synthesis service stopped mid-job (SIGTERM: a rolling update, a drained node) resumes the job when it
starts again, from its journal, and finishes it."""

import asyncio

from lbi.cli.local_runner import launch_runner
from lbi.store.edge import EdgeStore
from synth_service.config import SynthSettings
from synth_service.server import start_synthesis
from synth_service.spec import spec_from_dict


async def test_a_stopped_service_resumes_its_jobs_at_start(tmp_path, embedder):
    settings = SynthSettings(data_dir=tmp_path, synth_port=0)
    spec = spec_from_dict(
        {
            "env": "sql",
            "dataset": "restart",
            "rollout_concurrency": 1,
            "resource_filter": ["Filtering rows with WHERE", "Counting rows", "Top customers by revenue"],
        }
    )
    store = EdgeStore(tmp_path / "qdrant")
    server, engine = await start_synthesis(
        launch_runner=launch_runner, settings=settings, store=store, embedder=embedder
    )
    job_id = engine.create(spec)
    engine.start(job_id)
    while engine.journal.count(job_id, "trajectories") < 1:
        await asyncio.sleep(0.01)
    await engine.close()  # what `lbi synth serve` does on SIGTERM
    await server.stop(0)
    await store.close()

    store = EdgeStore(tmp_path / "qdrant")
    server, engine = await start_synthesis(
        launch_runner=launch_runner, settings=settings, store=store, embedder=embedder
    )
    try:
        job = engine.get(job_id)
        assert job["state"] == "RUNNING" and engine.running() == [job_id]  # resumed at start, not CANCELLED
        resumed = engine.start(job_id)  # the resumed job's task
        assert resumed is not None
        await resumed
        job = engine.get(job_id)
        assert job["state"] == "SUCCEEDED", job["error"]
        s = job["stats"]
        assert s.trajectories + s.failed_rollouts == s.instructions and s.ingested == s.kept > 0
    finally:
        await engine.close()
        await server.stop(0)
        await store.close()
