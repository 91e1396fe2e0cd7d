"""Runs synthesis jobs: the stages in order over one journal, resumable, cancellable, within budget.

The engine owns what jobs share in one process: the journal, the vector store, the embedding model,
the LLM gateway, the datasets' online jobs (synth_service/online/), and the runners: a job's own runner pods on Kubernetes (`runners.replicas`), the
endpoints it names, or else a local env-runner on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import grpc

from lbi.config import RunnerSettings
from lbi.dataset import DatasetStore
from lbi.embedding import Embedder
from lbi.clients.runner import EnvironmentDescription, RunnerClient
from lbi.errors import FailedPrecondition, InvalidArgument, NotFound
from lbi.llm.gateway import LLMGateway
from lbi.store import VectorStore
from lbi.telemetry import tracer
from synth_service.config import SynthSettings
from synth_service.context import BudgetExhausted, JobCancelled, JobContext
from synth_service.journal import Journal
from synth_service.online.jobs import OnlineJobs
from synth_service.online.policy import PolicyBook
from synth_service.runner_pods import RunnerPods, current_namespace, kube_api, load_template
from synth_service.runner_pool import RunnerPool
from synth_service.spec import JobSpec, spec_from_dict
from synth_service.pipeline import Pipeline
from synth_service.stages import ingest
from synth_service.stats import job_stats

log = logging.getLogger(__name__)
_tracer = tracer("lbi.synthesis")

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "BUDGET_EXHAUSTED"}


class Engine:
    def __init__(self, settings: SynthSettings, store: VectorStore, embedder: Embedder | None = None,
                 runner_pods: RunnerPods | None = None, local_runner: str = ""):
        """`local_runner`: the address of a runner this process already serves (`lbi up`, the local stack), for jobs
        that name no endpoints; without one, the engine starts its own the first time a job needs it."""
        self.settings = settings
        self.local_runner = local_runner
        self._pods = runner_pods
        self._shutting_down = False
        self.journal = Journal(settings.data_dir / "synthesis" / "journal.sqlite", settings.test_fault_kill_after)
        self.gateway = LLMGateway(settings)
        self.datasets = DatasetStore(store, embedder or Embedder.from_settings(settings))
        self.online = OnlineJobs(PolicyBook.from_file(settings.online_policy_file), self.journal, self.gateway, self.datasets,
                                 settings.online_sweep_s)
        self._tasks: dict[str, asyncio.Task] = {}
        self._cancels: dict[str, asyncio.Event] = {}
        self._watchers: dict[str, list[asyncio.Queue]] = defaultdict(list)
        self._local_runner: Any = None

    async def close(self) -> None:
        """Stops the running jobs, leaving them RUNNING in the journal: the next start resumes them."""
        self._shutting_down = True
        for job_id in list(self._tasks):
            await self.cancel(job_id)
        if self._local_runner:
            server, service = self._local_runner
            await service.shutdown()
            await server.stop(0)
        await self.online.close()
        self.journal.close()

    @property
    def pods(self) -> RunnerPods:
        """Runner pods on the Kubernetes cluster this service runs in (or its kubeconfig's)."""
        if self._pods is None:
            s = self.settings
            owner = (s.synth_pod_name, s.synth_pod_uid) if s.synth_pod_name and s.synth_pod_uid else None
            self._pods = RunnerPods(kube_api(), s.synth_k8s_namespace or current_namespace(), load_template(s.synth_runner_template_file),
                                    port=s.synth_runner_pod_port, owner=owner, ready_timeout_s=s.synth_runner_ready_timeout_s)
        return self._pods

    async def recover(self) -> list[str]:
        """At start: resumes jobs a previous process left RUNNING; on Kubernetes, adopts their runner pods and
        deletes every other runner pod it finds by label. Returns the resumed job ids."""
        interrupted = [j["id"] for j in self.journal.jobs() if j["state"] == "RUNNING" and j["id"] not in self._tasks]
        if self._pods is not None or self.settings.synth_kubernetes:
            removed = await self.pods.reconcile(set(interrupted))
            if removed:
                log.info("deleted %d orphaned runner pods: %s", len(removed), ", ".join(removed))
        for job_id in interrupted:
            log.info("resuming job %s", job_id)
            self.start(job_id)
        return interrupted

    async def _endpoints(self, job_id: str, spec: JobSpec) -> list[str]:
        if spec.runners.replicas:
            return await self.pods.start(job_id, spec.runners.replicas, spec.runners.template or None)
        if spec.runner_endpoints:
            return spec.runner_endpoints
        if self.local_runner:
            return [self.local_runner]
        if self._local_runner is None:
            from env_runners.server import start_runner

            runner_settings = RunnerSettings(**{**self.settings.model_dump(include=set(RunnerSettings.model_fields)), "runner_port": 0})
            self._local_runner = await start_runner(runner_settings)
        return [f"127.0.0.1:{self._local_runner[0].port}"]

    def create(self, spec: JobSpec, job_id: str = "") -> str:
        """Registers the job (or finds it, to resume) and returns its id."""
        if spec.runners.replicas and self._pods is None and not self.settings.synth_kubernetes:
            raise InvalidArgument("spec.runners.replicas", "runner pods need the service on Kubernetes (LBI_SYNTH_KUBERNETES=true, "
                                  "as the Helm chart sets); elsewhere name runner_endpoints")
        job_id = job_id or spec.job_id()
        if not self.journal.create_job(job_id, spec.model_dump(mode="json")):
            stored = self.journal.job(job_id)
            if stored and stored["spec"] != spec.model_dump(mode="json"):
                raise InvalidArgument("job_id", f"job {job_id} exists with a different spec")
        return job_id

    def start(self, job_id: str) -> asyncio.Task | None:
        """Runs (or resumes) the job in the background; None when it already finished (succeeded or out of budget)."""
        job = self.get(job_id)
        if job_id in self._tasks:
            return self._tasks[job_id]
        if job["state"] in ("SUCCEEDED", "BUDGET_EXHAUSTED"):
            return None
        self._cancels[job_id] = asyncio.Event()
        task = asyncio.get_running_loop().create_task(self._run(job_id))
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: (self._tasks.pop(job_id, None), self._cancels.pop(job_id, None)))
        return task

    async def run(self, job_id: str) -> dict[str, Any]:
        """Starts or resumes the job and waits for its end."""
        task = self.start(job_id)
        if task is not None:
            await asyncio.shield(task)
        return self.get(job_id)

    def get(self, job_id: str) -> dict[str, Any]:
        job = self.journal.job(job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        # the yield per resource kind traces every kept example back; done once a job has ended, not per event
        job["stats"] = job_stats(self.journal, job_id, with_yields=job["state"] not in ("PENDING", "RUNNING"))
        return job

    def list(self) -> list[dict[str, Any]]:
        return [self.get(j["id"]) for j in self.journal.jobs()]

    async def cancel(self, job_id: str) -> dict[str, Any]:
        self.get(job_id)
        if job_id in self._cancels:
            self._cancels[job_id].set()
            task = self._tasks.get(job_id)
            if task:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(task), 10)
                if not task.done():
                    task.cancel()
        return self.get(job_id)

    def _publish(self, job_id: str, event: dict[str, Any]) -> None:
        event = {"job_id": job_id, "time": time.time(), **event}
        for queue in self._watchers.get(job_id, []):
            queue.put_nowait(event)

    async def watch(self, job_id: str) -> AsyncIterator[dict[str, Any]]:
        """Progress events until the job reaches a terminal state; the first event is the current snapshot."""
        job = self.get(job_id)
        queue: asyncio.Queue = asyncio.Queue()
        self._watchers[job_id].append(queue)
        try:
            yield {"job_id": job_id, "state": job["state"], "stage": job["stage"], "snapshot": True}
            if job["state"] in TERMINAL and job_id not in self._tasks:
                return
            while True:
                event = await queue.get()
                yield event
                if event.get("state") in TERMINAL:
                    return
        finally:
            self._watchers[job_id].remove(queue)
            if not self._watchers[job_id]:
                del self._watchers[job_id]

    def running(self) -> list[str]:
        """Jobs with a live task in this process."""
        return [job_id for job_id, task in self._tasks.items() if not task.done()]

    def watchers(self, job_id: str) -> int:
        """Open watch streams of a job (a cancelled stream leaves at once)."""
        return len(self._watchers.get(job_id, ()))

    async def _run(self, job_id: str) -> dict[str, Any]:
        job = self.get(job_id)
        spec = spec_from_dict(job["spec"])
        self.journal.set_job(job_id, state="RUNNING", error="")
        self._publish(job_id, {"state": "RUNNING"})
        runners = None
        try:
            replacer = None
            if spec.runners.replicas:
                async def replacer(endpoint: str) -> str | None:
                    return await self.pods.replace(job_id, endpoint, spec.runners.template or None)
            runners = RunnerPool(await self._endpoints(job_id, spec), token=self.settings.client_token, replacer=replacer)
            ctx = JobContext(job_id, spec, self.journal, self.gateway, self.datasets, runners,
                             lambda e: self._publish(job_id, {"state": "RUNNING", **e}), self._cancels[job_id],
                             store_wait_s=self.settings.synth_store_wait_s)
            await self._describe_env(ctx)
            with _tracer.start_as_current_span("synth.job", attributes={"job_id": job_id}):
                await Pipeline(ctx, barrier=self.settings.synth_pipeline == "barrier").run()
            state, error = "SUCCEEDED", ""
        except* BudgetExhausted as group:
            state, error = "BUDGET_EXHAUSTED", str(group.exceptions[0])
            await self._ingest_so_far(job_id, spec, runners)
        except* (JobCancelled, asyncio.CancelledError):
            if self._shutting_down:
                state, error = "RUNNING", "interrupted by a service shutdown; resumes when the service starts"
            else:
                state, error = "CANCELLED", "cancelled"
        except* (InvalidArgument, FailedPrecondition) as group:
            state, error = "FAILED", str(group.exceptions[0])
        except* Exception as group:  # noqa: BLE001 - the job fails, the service lives on
            log.error("job %s failed", job_id, exc_info=group.exceptions[0])
            state, error = "FAILED", f"{type(group.exceptions[0]).__name__}: {group.exceptions[0]}"
        finally:
            if runners:
                await runners.close()
            if spec.runners.replicas:
                with contextlib.suppress(Exception):  # the job's end is recorded even if the API is away
                    await self.pods.stop(job_id)
        self.journal.set_job(job_id, state=state, error=error)
        self._publish(job_id, {"state": state, "message": error})
        return self.get(job_id)

    async def _describe_env(self, ctx: JobContext) -> None:
        described = await probe(ctx.pool.first, ctx.spec)
        ctx.env_description, ctx.action_space = described.description, described.action_space

    async def probe(self, spec: JobSpec) -> None:
        """Refuses a job whose environment or config the runner refuses (INVALID_ARGUMENT naming the field), before
        it is created; jobs on runner pods are probed when their pods are up."""
        if spec.runners.replicas:
            return
        endpoints = await self._endpoints("", spec)
        async with RunnerClient(endpoints[0], token=self.settings.client_token) as runner:
            await probe(runner, spec)

    async def _ingest_so_far(self, job_id: str, spec: JobSpec, runners: RunnerPool | None) -> None:
        ctx = JobContext(job_id, spec, self.journal, self.gateway, self.datasets, runners,
                         lambda e: self._publish(job_id, {"state": "RUNNING", **e}), store_wait_s=self.settings.synth_store_wait_s)
        await ingest.run(ctx)


_REFUSED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND}


async def probe(runner: RunnerClient, spec: JobSpec) -> EnvironmentDescription:
    """The job's environment as the runner describes it, after one probe session with the job's config opened and
    closed: a refused config is INVALID_ARGUMENT naming `spec.env_config.<field>`."""
    envs = {e.name: e for e in await runner.list_environments()}
    if spec.env not in envs:
        raise InvalidArgument("spec.env", f"runner has no environment {spec.env!r}; it has {', '.join(sorted(envs))}")
    try:
        session_id, _ = await runner.open_session(spec.env, spec.env_config)
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in _REFUSED:
            raise
        details = exc.details() or exc.code().name
        field, _, problem = details.partition(": ")
        if field.startswith("config"):
            raise InvalidArgument("spec.env_" + field, problem) from None
        raise InvalidArgument("spec.env_config", details) from None
    await runner.close_session(session_id)
    return envs[spec.env]
