"""An env-runner process SIGKILLed mid-rollout while a second runner is up: the job finishes and every
rollout is accounted for (retried on the live runner, or recorded failed with its reason)."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from lbi.cli.local_runner import launch_runner
from lbi.processes import free_port
from lbi.store.edge import EdgeStore
from synth_service.config import SynthSettings
from synth_service.engine import Engine
from synth_service.spec import spec_from_dict
from tests.fixtures.health import SERVING, wait_for_status

LBI = str(Path(sys.executable).parent / "lbi")


async def test_a_runner_killed_mid_rollout_costs_retries_not_rollouts(tmp_path, shared_data_dir, embedder):
    env = {**os.environ, "LBI_DATA_DIR": str(shared_data_dir), "LBI_RUNNER_STEP_TIMEOUT_S": "5"}
    ports = [free_port(), free_port()]
    runners = [
        subprocess.Popen(
            [LBI, "runner", "serve", "--port", str(p)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for p in ports
    ]
    store = EdgeStore(tmp_path / "qdrant")
    engine = Engine(SynthSettings(data_dir=tmp_path), store, embedder, launch_runner=launch_runner)
    try:
        for port in ports:
            await wait_for_status(f"127.0.0.1:{port}", SERVING, within_s=30)
        spec = spec_from_dict(
            {
                "env": "sql",
                "dataset": "death",
                "rollout_concurrency": 2,
                "rollout_retries": 2,
                "runner_endpoints": [f"127.0.0.1:{p}" for p in ports],
                "resource_filter": ["Filtering rows with WHERE", "Counting rows", "Top customers by revenue"],
            }
        )
        job_id = engine.create(spec)
        task = engine.start(job_id)
        assert task is not None
        while engine.journal.count(job_id, "trajectories") < 1:  # rollouts are under way
            assert not task.done()
            await asyncio.sleep(0.01)
        runners[0].send_signal(signal.SIGKILL)
        await task
        job = engine.get(job_id)
        assert job["state"] == "SUCCEEDED", job["error"]
        s = job["stats"]
        assert s.trajectories + s.failed_rollouts == s.instructions > 2
        assert s.failed_rollouts == 0  # each interrupted rollout was run again on the live runner
        assert runners[0].wait(timeout=5) == -signal.SIGKILL and runners[1].poll() is None
    finally:
        await engine.close()
        await store.close()
        for runner in runners:
            runner.kill()
            runner.wait()
