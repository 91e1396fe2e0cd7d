"""A hostile tenant's job specs and job ids, through the real synthesis gRPC server on 127.0.0.1 with auth on, as
`lbi up` runs it with `LBI_AUTH_TOKENS='alice@tokA=ds1:rw,bob@tokB=ds2:rw,admin@tokAdm'` (issue 36, items 1 and 3).

Listeners of our own stand where the hostile request points and record what reaches them:
- a gRPC listener named in `spec.runner_endpoints`: nothing reaches it, least of all the service's client token;
- an HTTP listener named through a model (`oobabooga/http://...`: litellm sends the call, the job's documents in
  its prompt, to the URL in the name, whatever the operator's api base; other providers get the operator's API
  key): nothing reaches it;
- the Kubernetes API stand-in: a job's own pod template (hostPath, another service account) never becomes a pod;
  a job's pods are the operator's template;
- the journal rows of an online episode (`online/<dataset>/<episode id>`): another tenant's job cannot take that id,
  read its records or copy its examples; nor take the id the server would give another tenant's spec.
Each refusal is INVALID_ARGUMENT naming the field (or NOT_FOUND for an id that is no job), never a traceback. What the
operator configured (an allow-listed runner, the chart's template, its own models) keeps working, and so does a
request naming any runner when auth is off (one user on their own machine, who is the operator).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest
import yaml

from env_runners.server import start_runner
from lbi.cli.local_runner import launch_runner
from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.config import RunnerSettings
from lbi.records import Step
from lbi.store.edge import EdgeStore
from lbi.v1 import synthesis_pb2 as pb
from lbi.v1 import synthesis_pb2_grpc
from synth_service.config import SynthSettings
from synth_service.online.episode import episode_key
from synth_service.server import start_synthesis
from synth_service.spec import spec_from_dict, spec_from_proto
from tests.fixtures.kube_standin import MISSING_IMAGE, KubeStandIn

TOKENS = "alice@tokA=ds1:rw,bob@tokB=ds2:rw,admin@tokAdm"
ALICE, BOB, ADMIN = ((("authorization", f"Bearer {t}"),) for t in ("tokA", "tokB", "tokAdm"))
CLIENT_TOKEN = "svc-client-token-5521"  # what the synthesis service sends to runners (its local runner accepts it)
LLM_KEY = "sk-operator-llm-key-8830"  # the operator's LLM API key
SECTIONS = ["Filtering rows with WHERE", "Counting rows"]
ENDED = {pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED, pb.JOB_STATE_BUDGET_EXHAUSTED}


class GrpcRecorder(grpc.GenericRpcHandler):
    """A gRPC server on 127.0.0.1 that answers every method UNIMPLEMENTED and records (method, authorization)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        metadata = dict(details.invocation_metadata or ())
        self.calls.append((details.method, str(metadata.get("authorization", ""))))

        async def refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "a recorder")

        return grpc.unary_unary_rpc_method_handler(refuse)

    async def __aenter__(self) -> GrpcRecorder:
        self.server = grpc.aio.server()
        self.server.add_generic_rpc_handlers([self])
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.stop(0)


class HttpRecorder:
    """An HTTP server on 127.0.0.1 that answers 401 to everything and records each request's headers."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                recorder.requests.append({k.lower(): v for k, v in self.headers.items()})
                self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                body = json.dumps({"error": {"message": "a recorder", "type": "invalid_request_error"}}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> HttpRecorder:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.asynccontextmanager
async def synthesis(tmp_path, embedder, **settings: Any):
    """The synthesis server as `lbi up` runs it (auth on with TOKENS unless told; jobs without endpoints get a local
    runner), and a stub of it."""
    store = EdgeStore(tmp_path / "qdrant")
    server, engine = await start_synthesis(
        SynthSettings(
            **{
                "data_dir": tmp_path,
                "synth_port": 0,
                "auth_tokens": f"{TOKENS},synth@{CLIENT_TOKEN}",
                "client_token": CLIENT_TOKEN,
                **settings,
            }
        ),
        store=store,
        embedder=embedder,
        launch_runner=launch_runner,
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield synthesis_pb2_grpc.SynthesisServiceStub(channel), engine, f"127.0.0.1:{server.port}"
    finally:
        await channel.close()
        await engine.close()
        await server.stop(0)
        await store.close()


def _spec(**fields: Any) -> pb.JobSpec:
    return spec_from_dict({"env": "sql", "dataset": "ds1", "resource_filter": SECTIONS, **fields}).to_proto()


async def _create(stub, metadata, spec: pb.JobSpec, job_id: str = "") -> tuple[grpc.StatusCode, str, str]:
    """(code, details, job id) of a CreateJob; OK and the id when it was created."""
    try:
        job = await stub.CreateJob(pb.CreateJobRequest(spec=spec, job_id=job_id), metadata=metadata, timeout=120)
    except grpc.aio.AioRpcError as exc:
        return exc.code(), str(exc.details()), ""
    return grpc.StatusCode.OK, "", job.id


async def _ended(stub, job_id: str, timeout_s: float = 120.0) -> pb.Job:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = await stub.GetJob(pb.GetJobRequest(job_id=job_id), metadata=ADMIN)
        if job.state in ENDED:
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end within {timeout_s}s")


def _server_id(spec: pb.JobSpec) -> str:
    """The id the server gives a spec (its content hash)."""
    return spec_from_proto(spec).job_id()


def _refused(code: grpc.StatusCode, details: str, field: str) -> None:
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
    assert details.startswith(f"{field}: "), details
    assert "Traceback" not in details


async def test_a_request_never_chooses_where_the_service_sends_its_client_token(tmp_path, embedder, shared_data_dir):
    runner_server, runner_service = await start_runner(
        RunnerSettings(data_dir=shared_data_dir, runner_port=0, auth_tokens=CLIENT_TOKEN)
    )
    pool = f"127.0.0.1:{runner_server.port}"  # the operator's runner, allow-listed
    try:
        async with (
            GrpcRecorder() as recorder,
            synthesis(tmp_path, embedder, synth_allowed_runner_endpoints=[pool]) as (stub, _, _),
        ):
            hostile = f"127.0.0.1:{recorder.port}"
            for metadata in (ALICE, ADMIN):  # a dataset-scoped token, and one for every dataset
                for endpoints in ([hostile], [pool, hostile], [f"dns:///{hostile}"], [f"ipv4:{hostile}"]):
                    code, details, job_id = await _create(stub, metadata, _spec(runner_endpoints=endpoints))
                    if job_id:  # today's code: let the job reach the listener as it would
                        await _ended(stub, job_id)
                    assert recorder.calls == [], recorder.calls
                    _refused(code, details, f"spec.runner_endpoints[{len(endpoints) - 1}]")
            # the operator's runner is a job's to name; it gets the client token, and the job runs there
            code, details, job_id = await _create(stub, ALICE, _spec(runner_endpoints=[pool], max_steps=2))
            assert code == grpc.StatusCode.OK, details
            job = await _ended(stub, job_id)
            assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
            assert job.stats.trajectories > 0
            assert recorder.calls == []
    finally:
        await runner_service.shutdown()
        await runner_server.stop(0)


async def test_with_auth_off_a_request_names_any_runner(tmp_path, embedder):
    async with GrpcRecorder() as recorder, synthesis(tmp_path, embedder, auth_tokens="", client_token="") as (stub, *_):
        _, details, _ = await _create(stub, (), _spec(runner_endpoints=[f"127.0.0.1:{recorder.port}"]))
    assert not details.startswith("spec.runner_endpoints"), details  # refused by the listener, not by the service
    assert recorder.calls == [("/lbi.v1.EnvRunner/ListEnvironments", "")]


async def test_a_request_never_chooses_where_the_service_sends_its_llm_key(tmp_path, embedder):
    with HttpRecorder() as listener:
        async with synthesis(
            tmp_path, embedder, llm_api_key=LLM_KEY, llm_retries=0, llm_timeout_s=10, llm_model="offline/heuristic"
        ) as (stub, *_):
            hostile = f"oobabooga/{listener.url}"  # litellm sends the call to the URL in the model's name
            for field, models in (
                ("spec.models.instructor", {"instructor": hostile}),
                ("spec.models.policy", {"policy": f"huggingface/{listener.url}"}),
                ("spec.models.labeller", {"labeller": hostile}),
                ("spec.models.committee[1]", {"committee": ["offline/heuristic", hostile]}),
                ("spec.models.instructor", {"instructor": "openai/gpt-4o"}),  # not one the operator configured
            ):
                code, details, job_id = await _create(stub, ALICE, _spec(models=models, max_steps=2))
                if job_id:
                    await _ended(stub, job_id)
                assert [h for h in listener.requests if LLM_KEY in json.dumps(h)] == []
                assert listener.requests == []
                _refused(code, details, field)
            # the operator's own models may be named
            code, details, job_id = await _create(stub, ALICE, _spec(models={"labeller": "offline/heuristic"}))
            assert code == grpc.StatusCode.OK, details
            await stub.CancelJob(pb.CancelJobRequest(job_id=job_id), metadata=ALICE)


HOSTILE_POD: dict[str, Any] = {
    "spec": {
        "serviceAccountName": "default",
        "containers": [
            {
                "name": "runner",
                "image": MISSING_IMAGE,  # never started by the kubelet stand-in
                "ports": [{"name": "grpc", "containerPort": 50051}],
                "volumeMounts": [{"name": "host", "mountPath": "/host"}],
            }
        ],
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
    }
}


async def test_a_request_never_chooses_the_pods_the_service_makes(tmp_path, embedder, monkeypatch):
    operator_template = {
        "metadata": {"labels": {"from": "the-chart"}},
        "spec": {"containers": [{"name": "runner", "image": MISSING_IMAGE, "ports": [{"containerPort": 50051}]}]},
    }
    template_file = tmp_path / "runner-pod-template.yaml"
    template_file.write_text(yaml.safe_dump({"template": operator_template}))
    with KubeStandIn(tmp_path) as standin:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "standin", "cluster": {"server": standin.url}}],
                    "users": [{"name": "synth", "user": {}}],
                    "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "synth"}}],
                    "current-context": "standin",
                }
            )
        )
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        async with synthesis(
            tmp_path,
            embedder,
            synth_kubernetes=True,
            synth_k8s_namespace="default",
            synth_runner_template_file=str(template_file),
            synth_runner_ready_timeout_s=2,
        ) as (stub, *_):
            for metadata in (ALICE, ADMIN):
                spec = _spec(runners={"replicas": 1, "template": HOSTILE_POD})
                code, details, job_id = await _create(stub, metadata, spec)
                if job_id:
                    await _ended(stub, job_id)
                made = [p for p in standin.pods.values() if "volumes" in p["spec"]]
                assert [r for r in standin.requests if r[0] == "POST"] == [], made
                _refused(code, details, "spec.runners.template")
            # the operator's template makes the pods of a job that names none
            code, details, job_id = await _create(stub, ALICE, _spec(runners={"replicas": 1}))
            assert code == grpc.StatusCode.OK, details
            job = await _ended(stub, job_id)
            assert job.state == pb.JOB_STATE_FAILED and "ErrImagePull" in job.error  # the operator's image
            created = [e[3] for e in standin.events if e[2] == "ADDED"]
            assert len(created) == 1 and created[0]["metadata"]["labels"]["from"] == "the-chart"
            assert "volumes" not in created[0]["spec"] and "serviceAccountName" not in created[0]["spec"]


def _online_policy(tmp_path) -> str:
    path = tmp_path / "online.yaml"
    path.write_text(yaml.safe_dump({"datasets": {"ds2": {"accept_episodes": True, "env": "sql", "batch_episodes": 1}}}))
    return str(path)


async def test_job_ids_are_the_servers_namespace(tmp_path, embedder):
    steps = [
        Step("Tables: plants(id, name, water_ml)", "SELECT name FROM plants ORDER BY water_ml DESC LIMIT 1;"),
        Step("name\nbob-secret-fern", "UPDATE plants SET water_ml = 0 WHERE name = 'bob-secret-fern';"),
    ]
    async with synthesis(tmp_path, embedder, online_policy_file=_online_policy(tmp_path)) as (stub, engine, target):
        bob = AsyncRetrievalClient(target, token="tokB", timeout_s=30)
        answer = await bob.report_episode("ds2", "ep-1", "Dry out the thirstiest plant", steps, "1 row", "success")
        assert answer.accepted
        deadline = time.monotonic() + 120
        while (await bob.online_stats("ds2")).episodes_learned < 1:
            assert time.monotonic() < deadline, "bob's episode was not learned"
            await asyncio.sleep(0.1)
        await bob.close()
        borrowed = f"online/ds2/{episode_key('ep-1', 'bob')}"
        assert engine.journal.count(borrowed, "candidates") > 0  # bob's candidates are journaled under that id

        code, details, job_id = await _create(stub, ALICE, _spec(), job_id=borrowed)
        if job_id:
            await _ended(stub, job_id)
            records = await stub.ListJobRecords(
                pb.ListJobRecordsRequest(job_id=borrowed, kind=pb.RECORD_KIND_CANDIDATE), metadata=ALICE
            )
            assert "bob-secret-fern" not in str(records)
        _refused(code, details, "job_id")
        assert engine.journal.job(borrowed) is None
        for metadata in (ALICE, ADMIN):  # an id no job has: not a job, whoever asks
            for call, request in (
                (stub.ListJobRecords, pb.ListJobRecordsRequest(job_id=borrowed, kind=pb.RECORD_KIND_CANDIDATE)),
                (stub.GetJob, pb.GetJobRequest(job_id=borrowed)),
                (stub.CancelJob, pb.CancelJobRequest(job_id=borrowed)),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await call(request, metadata=metadata)
                assert err.value.code() == grpc.StatusCode.NOT_FOUND, err.value.details()

        # ids that name no job of the request's own: other namespaces, paths, the id of another tenant's spec
        bobs_spec = _spec(dataset="ds2")
        for bad in ("online/ds2", "../online/ds2/ep-1", "a/b", " job", "x" * 200, _server_id(bobs_spec)):
            code, details, _ = await _create(stub, ALICE, _spec(), job_id=bad)
            _refused(code, details, "job_id")
        # bob's own job still gets the server's id for his spec
        code, details, bobs_job = await _create(stub, BOB, bobs_spec)
        assert code == grpc.StatusCode.OK and bobs_job == _server_id(bobs_spec), details
        # a name of alice's own choosing, and the server's id of her own spec, are hers to use
        code, details, named = await _create(stub, ALICE, _spec(max_steps=2), job_id="alice-run-1")
        assert code == grpc.StatusCode.OK and named == "alice-run-1", details
        own = _spec(max_steps=3)
        code, details, same = await _create(stub, ALICE, own, job_id=_server_id(own))
        assert code == grpc.StatusCode.OK and same == _server_id(own), details
        for job_id in (bobs_job, named, same):
            await stub.CancelJob(pb.CancelJobRequest(job_id=job_id), metadata=ADMIN)
        # and ds1 holds nothing of bob's
        assert "bob-secret-fern" not in json.dumps(
            [p for _, p, _, _ in engine.journal.records(named, "candidates")], default=str
        )


async def test_a_job_journaled_before_the_rules_is_neither_resumed_nor_served(tmp_path, embedder):
    """Rows an older version let in: a RUNNING job naming a hostile runner, a job row under an online episode's id."""
    from synth_service.journal import Journal

    journal = Journal(tmp_path / "synthesis" / "journal.sqlite")
    hostile = spec_from_dict({"env": "sql", "dataset": "ds1", "runner_endpoints": ["127.0.0.1:9"]})
    journal.create_job("job-old", hostile.model_dump(mode="json"))
    journal.set_job("job-old", state="RUNNING")
    journal.create_job("online/ds2/ep-1", spec_from_dict({"env": "sql", "dataset": "ds1"}).model_dump(mode="json"))
    journal.set_job("online/ds2/ep-1", state="RUNNING")
    journal.close()
    async with synthesis(tmp_path, embedder) as (stub, engine, _):
        assert engine.running() == []
        old = await stub.GetJob(pb.GetJobRequest(job_id="job-old"), metadata=ALICE)
        assert old.state == pb.JOB_STATE_FAILED and "spec.runner_endpoints[0]" in old.error
        listed = await stub.ListJobs(pb.ListJobsRequest(), metadata=ADMIN)
        assert [j.id for j in listed.jobs] == ["job-old"]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListJobRecords(
                pb.ListJobRecordsRequest(job_id="online/ds2/ep-1", kind=pb.RECORD_KIND_CANDIDATE), metadata=ALICE
            )
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        code, details, _ = await _create(stub, ALICE, spec_from_dict(hostile.model_dump()).to_proto(), "job-old")
        _refused(code, details, "spec.runner_endpoints[0]")  # nor resumed on request
