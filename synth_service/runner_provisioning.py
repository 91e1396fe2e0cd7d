"""Where a job's environment runners come from: its own runner pods on Kubernetes (`runners.replicas`), the
endpoints its spec names, or a runner on 127.0.0.1 (the one this process already serves, or one the composing
layer's `RunnerLauncher` starts on first need: the synthesis service never imports the runner itself). Also the
probe that refuses a job whose environment or config the runner refuses."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import grpc

from lbi.clients.runner import EnvironmentDescription, RunnerClient
from lbi.errors import FailedPrecondition, InvalidArgument
from synth_service.config import SynthSettings
from synth_service.runner_pods import RunnerPods, current_namespace, kube_api, load_template
from synth_service.runner_pool import RunnerPool
from synth_service.spec import JobSpec

log = logging.getLogger(__name__)
_REFUSED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND}


class RunnerLauncher(Protocol):
    """Starts a runner on 127.0.0.1 with the service's settings; returns its address and how to stop it."""

    async def __call__(self, settings: SynthSettings) -> tuple[str, Callable[[], Awaitable[None]]]: ...


class RunnerProvisioning:
    def __init__(
        self,
        settings: SynthSettings,
        runner_pods: RunnerPods | None = None,
        local_runner: str = "",
        launch_runner: RunnerLauncher | None = None,
    ):
        self.settings = settings
        self.local_runner = local_runner
        self.launch_runner = launch_runner
        self._pods = runner_pods
        self._own_runner: tuple[str, Callable[[], Awaitable[None]]] | None = None  # started here, if one was

    @property
    def on_kubernetes(self) -> bool:
        return self._pods is not None or self.settings.synth_kubernetes

    @property
    def pods(self) -> RunnerPods:
        """Runner pods on the Kubernetes cluster this service runs in (or its kubeconfig's)."""
        if self._pods is None:
            s = self.settings
            owner = (s.synth_pod_name, s.synth_pod_uid) if s.synth_pod_name and s.synth_pod_uid else None
            self._pods = RunnerPods(
                kube_api(),
                s.synth_k8s_namespace or current_namespace(),
                load_template(s.synth_runner_template_file),
                port=s.synth_runner_pod_port,
                owner=owner,
                ready_timeout_s=s.synth_runner_ready_timeout_s,
            )
        return self._pods

    def check(self, spec: JobSpec) -> None:
        if spec.runners.replicas and not self.on_kubernetes:
            raise InvalidArgument(
                "spec.runners.replicas",
                "runner pods need the service on Kubernetes (LBI_SYNTH_KUBERNETES=true, "
                "as the Helm chart sets); elsewhere name runner_endpoints",
            )

    async def endpoints(self, job_id: str, spec: JobSpec) -> list[str]:
        if spec.runners.replicas:
            return await self.pods.start(job_id, spec.runners.replicas, spec.runners.template or None)
        if spec.runner_endpoints:
            return spec.runner_endpoints
        if self.local_runner:
            return [self.local_runner]
        if self._own_runner is None:
            if self.launch_runner is None:
                raise FailedPrecondition(
                    "the job names no runner_endpoints and this synthesis service has no runner of its own: "
                    "name runner_endpoints, or runners.replicas on Kubernetes"
                )
            self._own_runner = await self.launch_runner(self.settings)
        return [self._own_runner[0]]

    async def pool(self, job_id: str, spec: JobSpec) -> RunnerPool:
        """The job's runners; a runner pod that dies is replaced by a new one."""
        replacer: Callable[[str], Awaitable[str | None]] | None = None
        if spec.runners.replicas:

            async def replacer(endpoint: str) -> str | None:
                return await self.pods.replace(job_id, endpoint, spec.runners.template or None)

        return RunnerPool(await self.endpoints(job_id, spec), token=self.settings.client_token, replacer=replacer)

    async def release(self, job_id: str, spec: JobSpec) -> None:
        if spec.runners.replicas:
            await self.pods.stop(job_id)

    async def reconcile(self, running: set[str]) -> None:
        """At start, on Kubernetes: adopts the runner pods of the jobs being resumed, deletes every other one."""
        if self.on_kubernetes:
            removed = await self.pods.reconcile(running)
            if removed:
                log.info("deleted %d orphaned runner pods: %s", len(removed), ", ".join(removed))

    async def probe(self, spec: JobSpec) -> None:
        """Refuses a job whose environment or config the runner refuses (INVALID_ARGUMENT naming the field), before
        it is created; jobs on runner pods are probed when their pods are up."""
        if spec.runners.replicas:
            return
        async with RunnerClient((await self.endpoints("", spec))[0], token=self.settings.client_token) as runner:
            await probe(runner, spec)

    async def close(self) -> None:
        if self._own_runner:
            _, stop = self._own_runner
            self._own_runner = None
            await stop()


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
