"""The job registry: creates, runs (the pipeline over one journal, resumable, cancellable, within budget), lists and
cancels synthesis jobs.

The engine holds what jobs share in one process: the journal, the vector store, the embedding model, the LLM
gateway, the datasets' online jobs (synth_service/online/), progress events (job_events.py) and the runners
(runner_provisioning.py). Resuming jobs at start is recovery.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from lbi.dataset import DatasetStore
from lbi.embedding import Embedder
from lbi.errors import FailedPrecondition, InvalidArgument, NotFound
from lbi.ingest.sources import is_url
from lbi.llm.gateway import LLMGateway
from lbi.paths import PathRules
from lbi.store import VectorStore
from lbi.telemetry import tracer
from synth_service.admission import check_new_job_id
from synth_service.config import SynthSettings
from synth_service.context import BudgetExhausted, JobCancelled, JobContext
from synth_service.job_events import JobEvents
from synth_service.journal import Journal, journal_location
from synth_service.online.jobs import OnlineJobs
from synth_service.online.policy import PolicyBook
from synth_service.pipeline import Pipeline
from synth_service.runner_pods import RunnerPods
from synth_service.runner_pool import RunnerPool
from synth_service.runner_provisioning import RunnerLauncher, RunnerProvisioning, probe
from synth_service.spec import JobSpec, spec_from_dict
from synth_service.stages import ingest
from synth_service.stats import job_stats

log = logging.getLogger(__name__)
_tracer = tracer("lbi.synthesis")


class Engine:
    def __init__(
        self,
        settings: SynthSettings,
        store: VectorStore,
        embedder: Embedder | None = None,
        runner_pods: RunnerPods | None = None,
        local_runner: str = "",
        launch_runner: RunnerLauncher | None = None,
    ):
        """For jobs that name no runner endpoints: `local_runner`, the address of a runner this process already
        serves (`lbi up`, the local stack); else `launch_runner` starts one the first time a job needs it (the CLI
        passes lbi.cli.local_runner.launch_runner); with neither, such a job fails with FAILED_PRECONDITION."""
        self.settings = settings
        self.runners = RunnerProvisioning(settings, runner_pods, local_runner, launch_runner)
        self.events = JobEvents()
        self._shutting_down = False
        self.journal = Journal(journal_location(settings), settings.test_fault_kill_after)
        self.gateway = LLMGateway(settings)
        self.datasets = DatasetStore(store, embedder or Embedder.from_settings(settings))
        self.online = OnlineJobs(
            PolicyBook.from_file(settings.online_policy_file),
            self.journal,
            self.gateway,
            self.datasets,
            settings.online_sweep_s,
        )
        self._tasks: dict[str, asyncio.Task] = {}
        self._cancels: dict[str, asyncio.Event] = {}

    async def close(self) -> None:
        """Stops the running jobs, leaving them RUNNING in the journal: the next start resumes them."""
        self._shutting_down = True
        for job_id in list(self._tasks):
            await self.cancel(job_id)
        await self.runners.close()
        await self.online.close()
        self.journal.close()

    def check_job_id(self, spec: JobSpec, job_id: str) -> None:
        """A named id is an existing job's (to resume) or a new one of the caller's own (admission.py)."""
        if job_id and self.journal.job(job_id) is None:
            check_new_job_id(job_id, spec, self.journal)

    def create(self, spec: JobSpec, job_id: str = "") -> str:
        """Registers the job (or finds it, to resume) and returns its id."""
        self.runners.check(spec)
        self.check_job_id(spec, job_id)
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

    def row(self, job_id: str) -> dict[str, Any]:
        """The job as the journal holds it (spec, state, stage, error, times), without its statistics."""
        job = self.journal.job(job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        return job

    def get(self, job_id: str, yields: bool = True) -> dict[str, Any]:
        job = self.row(job_id)
        # the yield per resource kind traces every kept example back; done once a job has ended, not per event
        ended = job["state"] not in ("PENDING", "RUNNING")
        job["stats"] = job_stats(self.journal, job_id, with_yields=yields and ended)
        return job

    def jobs(self) -> list[dict[str, Any]]:
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

    def watch(self, job_id: str) -> AsyncIterator[dict[str, Any]]:
        """Progress events until the job reaches a terminal state; the first event is the current snapshot."""
        return self.events.watch(self.get(job_id), live=job_id in self._tasks)

    def watchers(self, job_id: str) -> int:
        return self.events.watchers(job_id)

    def running(self) -> list[str]:
        """Jobs with a live task in this process."""
        return [job_id for job_id, task in self._tasks.items() if not task.done()]

    async def probe(self, spec: JobSpec) -> None:
        """Refuses a spec that cannot run, before a job exists: documentation paths this service may not read (lbi/
        paths.py), an environment config its runner refuses."""
        rules = PathRules.from_settings(self.settings)
        for source in spec.resource_paths:
            if not is_url(source):
                rules.check("spec.resource_paths", source)
        await self.runners.probe(spec)

    async def _run(self, job_id: str) -> dict[str, Any]:
        job = self.get(job_id)
        spec = spec_from_dict(job["spec"])
        self.journal.set_job(job_id, state="RUNNING", error="")
        self.events.publish(job_id, {"state": "RUNNING"})
        runners = None
        try:
            runners = await self.runners.pool(job_id, spec)
            ctx = self._context(job_id, spec, runners, self._cancels[job_id])
            described = await probe(ctx.pool.first, spec)
            ctx.env_description, ctx.action_space = described.description, described.action_space
            with _tracer.start_as_current_span("synth.job", attributes={"job_id": job_id}):
                await Pipeline(ctx, barrier=self.settings.synth_pipeline == "barrier").run()
            state, error = "SUCCEEDED", ""
        except* BudgetExhausted as group:
            state, error = "BUDGET_EXHAUSTED", str(group.exceptions[0])
            await ingest.run(self._context(job_id, spec, runners))  # what was kept before the budget ran out
        except* (JobCancelled, asyncio.CancelledError):
            if self._shutting_down:
                state, error = "RUNNING", "interrupted by a service shutdown; resumes when the service starts"
            else:
                state, error = "CANCELLED", "cancelled"
        except* (InvalidArgument, FailedPrecondition) as group:
            state, error = "FAILED", str(group.exceptions[0])
        except* Exception as group:
            log.error("job %s failed", job_id, exc_info=group.exceptions[0])
            state, error = "FAILED", f"{type(group.exceptions[0]).__name__}: {group.exceptions[0]}"
        finally:
            if runners:
                await runners.close()
            with contextlib.suppress(Exception):  # the job's end is recorded even if the Kubernetes API is away
                await self.runners.release(job_id, spec)
        self.journal.set_job(job_id, state=state, error=error)
        self.events.publish(job_id, {"state": state, "message": error})
        return self.get(job_id)

    def _context(
        self, job_id: str, spec: JobSpec, runners: RunnerPool | None, cancel: asyncio.Event | None = None
    ) -> JobContext:
        return JobContext(
            job_id,
            spec,
            self.journal,
            self.gateway,
            self.datasets,
            runners,
            self.events.publisher(job_id),
            cancel or asyncio.Event(),
            store_wait_s=self.settings.synth_store_wait_s,
        )
