"""Runner pods per synthesis job through the real `kubernetes` client, against a local API stand-in
(tests/fixtures/kube_standin.py: no Kubernetes API server can run here) whose kubelet stand-in runs the
real `lbi runner serve` for each pod."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from lbi.store.edge import EdgeStore
from synth_service.config import SynthSettings
from synth_service.engine import Engine
from synth_service.recovery import recover
from synth_service.runner_pods import JOB, RunnerPods
from synth_service.spec import spec_from_dict
from tests.fixtures.kube_standin import MISSING_IMAGE, KubeStandIn

NS = "default"
TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app.kubernetes.io/name": "lbi"}},
    "spec": {
        "containers": [
            {
                "name": "runner",
                "image": "lbi:test",
                "args": ["runner", "serve"],
                "ports": [{"name": "grpc", "containerPort": 50051}],
                "env": [{"name": "LBI_RUNNER_STEP_TIMEOUT_S", "value": "5"}],
            }
        ]
    },
}
SECTIONS = ["Filtering rows with WHERE", "Counting rows", "Top customers by revenue"]


@pytest.fixture
def cluster(shared_data_dir):
    """(stand-in, CoreV1Api of it, the synth pod's (name, uid))."""
    from kubernetes import client

    with KubeStandIn(shared_data_dir) as standin:
        api = client.CoreV1Api(client.ApiClient(client.Configuration(host=standin.url)))
        _, synth = standin.create(
            NS,
            {"metadata": {"name": "lbi-synth-0"}, "spec": {"containers": [{"name": "synth", "image": "lbi:test"}]}},
            run=False,
        )
        yield standin, api, ("lbi-synth-0", synth["metadata"]["uid"])


def _runner_pods(standin: KubeStandIn) -> list[dict]:
    return [p for (ns, _), p in standin.pods.items() if p["metadata"].get("labels", {}).get(JOB)]


@pytest_asyncio.fixture
async def engine_on(tmp_path, embedder):
    engines = []

    def make(pods: RunnerPods) -> Engine:
        engine = Engine(
            SynthSettings(data_dir=tmp_path, runner_step_timeout_s=5),
            EdgeStore(tmp_path / "qdrant"),
            embedder,
            runner_pods=pods,
        )
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        await engine.close()
        await engine.datasets.store.close()


def _spec(replicas=2, template=None, **overrides):
    runners = {"replicas": replicas, **({"template": template} if template else {})}
    return spec_from_dict(
        {"env": "sql", "dataset": "pods", "resource_filter": SECTIONS, "runners": runners, **overrides}
    )


async def test_a_job_runs_on_its_own_pods_which_go_when_it_ends(cluster, engine_on):
    standin, api, owner = cluster
    engine = engine_on(RunnerPods(api, NS, TEMPLATE, owner=owner, ready_timeout_s=90))
    job_id = engine.create(_spec())
    task = engine.start(job_id)
    while engine.get(job_id)["stage"] != "rollout":
        await asyncio.sleep(0.05)
    pods = _runner_pods(standin)
    assert len(pods) == 2 and all(p["status"]["phase"] == "Running" for p in pods)
    for pod in pods:
        assert pod["metadata"]["labels"][JOB] == job_id.removeprefix("job-")
        assert pod["metadata"]["ownerReferences"][0]["uid"] == owner[1] and pod["spec"]["restartPolicy"] == "Never"
    await task
    job = engine.get(job_id)
    assert job["state"] == "SUCCEEDED", job["error"]
    assert job["stats"].trajectories == job["stats"].instructions > 0
    assert _runner_pods(standin) == []  # deleted when the job ended


async def test_a_pod_that_never_becomes_ready_fails_the_job_with_its_reason(cluster, engine_on):
    standin, api, owner = cluster
    broken = {**TEMPLATE, "spec": {"containers": [{**TEMPLATE["spec"]["containers"][0], "image": MISSING_IMAGE}]}}
    engine = engine_on(RunnerPods(api, NS, TEMPLATE, owner=owner, ready_timeout_s=3))
    job = await engine.run(engine.create(_spec(replicas=1, template=broken)))
    assert job["state"] == "FAILED"
    assert "not Ready after 3s" in job["error"] and "ErrImagePull" in job["error"]
    assert _runner_pods(standin) == []


async def test_a_runner_pod_that_dies_is_replaced_and_no_rollout_is_lost(cluster, engine_on):
    standin, api, owner = cluster
    engine = engine_on(RunnerPods(api, NS, TEMPLATE, owner=owner, ready_timeout_s=90))
    job_id = engine.create(_spec(rollout_concurrency=1, rollout_retries=3))
    task = engine.start(job_id)
    while engine.get(job_id)["stage"] != "rollout":
        await asyncio.sleep(0.02)
    victim = RunnerPods.pod_name(job_id, 0)
    standin.kill_container(victim)
    await task
    job = engine.get(job_id)
    assert job["state"] == "SUCCEEDED", job["error"]
    s = job["stats"]
    assert s.trajectories + s.failed_rollouts == s.instructions and s.failed_rollouts == 0
    assert [r for r in standin.requests if r == ("POST", victim)] == [("POST", victim)] * 2  # made, then made again
    assert ("DELETE", victim) in standin.requests


async def test_restart_adopts_the_pods_of_resumed_jobs_and_deletes_orphans(cluster, engine_on):
    standin, api, owner = cluster
    pods = RunnerPods(api, NS, TEMPLATE, owner=owner, ready_timeout_s=90)
    first = engine_on(pods)
    job_id = first.create(_spec(replicas=1))
    first.journal.set_job(job_id, state="RUNNING")  # as a SIGKILLed service leaves it
    await pods.start(job_id, 1)
    await pods.start("job-0123456789abcdef", 1)  # a job the journal does not resume
    await first.close()
    await first.datasets.store.close()

    restarted = engine_on(RunnerPods(api, NS, TEMPLATE, owner=owner, ready_timeout_s=90))
    assert await recover(restarted) == [job_id]
    assert {p["metadata"]["labels"][JOB] for p in _runner_pods(standin)} == {job_id.removeprefix("job-")}
    job = await restarted.run(job_id)
    assert job["state"] == "SUCCEEDED", job["error"]
    adopted = RunnerPods.pod_name(job_id, 0)
    assert standin.requests.count(("POST", adopted)) == 1  # adopted, not made again
    assert _runner_pods(standin) == []


async def test_deleting_the_synth_pod_takes_its_runner_pods_on_the_templates_port(cluster):
    standin, api, owner = cluster
    pods = RunnerPods(api, NS, TEMPLATE, owner=owner, ready_timeout_s=90)
    other_port = {
        **TEMPLATE,
        "spec": {
            "containers": [{**TEMPLATE["spec"]["containers"][0], "ports": [{"name": "grpc", "containerPort": 50061}]}]
        },
    }
    endpoints = await pods.start("job-fedcba9876543210", 2, other_port)
    ips = {p["status"]["podIP"] for p in _runner_pods(standin)}
    assert len(endpoints) == 2 and {e.removesuffix(":50061") for e in endpoints} == ips
    standin.delete(NS, owner[0])
    assert _runner_pods(standin) == []


async def test_runner_pods_off_kubernetes_are_refused_naming_the_field(tmp_path, embedder):
    from lbi.errors import InvalidArgument

    engine = Engine(SynthSettings(data_dir=tmp_path), EdgeStore(tmp_path / "qdrant"), embedder)
    try:
        with pytest.raises(InvalidArgument) as err:
            engine.create(_spec())
        assert err.value.field == "spec.runners.replicas" and "Kubernetes" in str(err.value)
    finally:
        await engine.close()
        await engine.datasets.store.close()


async def test_an_api_refusal_fails_the_job_with_one_clear_line(cluster, engine_on):
    standin, api, owner = cluster
    engine = engine_on(RunnerPods(api, NS, TEMPLATE, owner=owner, ready_timeout_s=30))
    privileged = {
        **TEMPLATE,
        "spec": {"containers": [{**TEMPLATE["spec"]["containers"][0], "securityContext": {"privileged": True}}]},
    }
    job = await engine.run(engine.create(_spec(replicas=1, template=privileged, dataset="refused")))
    assert job["state"] == "FAILED" and "\n" not in job["error"]
    assert "Kubernetes API refused: 403 Forbidden" in job["error"] and "PodSecurity" in job["error"], job["error"]
    assert _runner_pods(standin) == []


PEER_CLUSTER = """
import json, sys
from tests.fixtures.kube_standin import KubeStandIn
with KubeStandIn(sys.argv[1]) as standin:
    _, pod = standin.create("default", json.loads(sys.argv[2]), run=False)
    print(pod["status"]["podIP"])
"""


def test_a_cluster_in_another_process_gives_its_pods_other_addresses(tmp_path):
    """Two test processes (pytest-xdist workers) each with a stand-in at once: their pods' addresses differ. Runners
    bind with SO_REUSEPORT, so a shared address had one test's runner answer for another's pod."""
    manifest = {"metadata": {"name": "first"}, "spec": {"containers": [{"name": "runner", "image": "lbi:test"}]}}
    with KubeStandIn(tmp_path) as standin:
        _, ours = standin.create(NS, manifest, run=False)
        peer = subprocess.run(
            [sys.executable, "-c", PEER_CLUSTER, str(tmp_path), json.dumps(manifest)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            cwd=Path(__file__).parents[2],
        )
    assert peer.stdout.strip() not in ("", ours["status"]["podIP"])
