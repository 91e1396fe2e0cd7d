"""Env-runner pods per synthesis job, through the Kubernetes API (the official `kubernetes` client).

A job whose spec asks for `runners: {replicas: N}` gets N pods made from the runner pod template,
labelled with the job id and owned by the synth pod (owner references: if the synth pod goes, Kubernetes
deletes them). The service waits for them to be Ready (a watch, bounded by a timeout; a pod that never
gets there fails the job with the pod's reason), spreads rollouts over them, replaces a pod that dies,
and deletes them when the job ends, fails or is cancelled. After a restart of the synth service,
`reconcile` finds the pods by label: those of jobs it resumes are adopted, the others deleted.

The client is synchronous; every call runs in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import yaml

from lbi.telemetry import tracer

log = logging.getLogger(__name__)
_tracer = tracer("lbi.synthesis.runner_pods")

COMPONENT, MANAGED_BY, JOB = "app.kubernetes.io/component", "app.kubernetes.io/managed-by", "lbi.dev/job-id"
SELECTOR = f"{COMPONENT}=env-runner,{MANAGED_BY}=lbi-synth"
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class RunnerPodsError(Exception):
    """The runner pods could not be made ready (the job fails with this message)."""


def _api_error(exc: Exception) -> RunnerPodsError:
    """One line from a Kubernetes API error (its str() holds headers and the whole body)."""
    try:
        message = json.loads(exc.body).get("message", "")  # type: ignore[attr-defined]
    except (TypeError, ValueError, AttributeError):
        message = ""
    return RunnerPodsError(
        f"Kubernetes API refused: {getattr(exc, 'status', '?')} {getattr(exc, 'reason', '')}"
        + (f": {message}" if message else "")
    )


def kube_api() -> Any:
    """CoreV1Api from the in-cluster service account when running in a pod, else from kubeconfig."""
    from kubernetes import client, config

    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config()
    else:
        config.load_kube_config()
    return client.CoreV1Api()


def current_namespace(default: str = "default") -> str:
    return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() if SERVICE_ACCOUNT_NAMESPACE.exists() else default


def load_template(path: str) -> dict[str, Any]:
    """The pod template ({metadata, spec}) from a YAML file (the chart mounts it from a ConfigMap)."""
    if not path:
        return {}
    data: dict[str, Any] = yaml.safe_load(Path(path).read_text()) or {}
    template: dict[str, Any] = data.get("template", data)
    return template


def _ready(pod: Any) -> bool:
    if pod.metadata.deletion_timestamp or not pod.status or pod.status.phase != "Running" or not pod.status.pod_ip:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _dead(pod: Any) -> bool:
    return bool(pod.metadata.deletion_timestamp) or (
        pod.status is not None and pod.status.phase in ("Failed", "Succeeded")
    )


def _why_not_ready(pod: Any) -> str:
    status = pod.status
    if status is None:
        return "no status"
    waiting = [
        f"{c.name}: {c.state.waiting.reason}"
        for c in status.container_statuses or []
        if c.state and c.state.waiting and c.state.waiting.reason
    ]
    return f"phase {status.phase}" + (f" ({', '.join(waiting)})" if waiting else "")


class RunnerPods:
    """Creates, watches, replaces and deletes one job's runner pods in one namespace."""

    def __init__(
        self,
        api: Any,
        namespace: str,
        template: dict[str, Any],
        port: int = 50051,
        owner: tuple[str, str] | None = None,
        ready_timeout_s: float = 300.0,
    ):
        self.api = api
        self.namespace = namespace
        self.template = template
        self.port = port
        self.owner = owner  # (name, uid) of the synth pod
        self.ready_timeout_s = ready_timeout_s
        self._replacing: dict[str, asyncio.Lock] = {}

    @staticmethod
    def pod_name(job_id: str, index: int) -> str:
        return f"lbi-runner-{job_id.removeprefix('job-')[:16]}-{index}"

    def manifest(self, job_id: str, index: int, template: dict[str, Any] | None = None) -> dict[str, Any]:
        pod = copy.deepcopy(template or self.template)
        if not pod.get("spec", {}).get("containers"):
            raise RunnerPodsError("the runner pod template has no containers (set synth.runnerTemplate in the chart)")
        metadata = pod.setdefault("metadata", {})
        metadata["name"] = self.pod_name(job_id, index)
        metadata.pop("generateName", None)
        metadata["labels"] = {
            **metadata.get("labels", {}),
            COMPONENT: "env-runner",
            MANAGED_BY: "lbi-synth",
            JOB: job_id.removeprefix("job-"),
        }
        if self.owner:
            metadata["ownerReferences"] = [
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": self.owner[0],
                    "uid": self.owner[1],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
        pod["spec"].setdefault("restartPolicy", "Never")  # a dead runner is replaced, not restarted in place
        return {"apiVersion": "v1", "kind": "Pod", **pod}

    def _endpoint(self, pod: Any) -> str:
        """podIP:port, the port named `grpc` in the pod (a job's own template may choose another)."""
        ports = [p for c in pod.spec.containers for p in (c.ports or [])]
        port = next(
            (p.container_port for p in ports if p.name == "grpc"), ports[0].container_port if ports else self.port
        )
        return f"{pod.status.pod_ip}:{port}"

    def _list(self, selector: str) -> list[Any]:
        return list(self.api.list_namespaced_pod(self.namespace, label_selector=selector).items)

    def _job_selector(self, job_id: str) -> str:
        return f"{SELECTOR},{JOB}={job_id.removeprefix('job-')}"

    def _delete(self, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.api.delete_namespaced_pod(name, self.namespace, grace_period_seconds=0)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def _wait_gone(self, name: str, deadline: float) -> None:
        from kubernetes.client.exceptions import ApiException

        while time.monotonic() < deadline:
            try:
                self.api.read_namespaced_pod(name, self.namespace)
            except ApiException as exc:
                if exc.status == 404:
                    return
                raise
            time.sleep(0.1)
        raise RunnerPodsError(f"runner pod {name} was not deleted within the timeout")

    def _wait_ready(self, job_id: str, names: list[str]) -> list[str]:
        """Endpoints of the named pods once all are Ready (a watch on the job's label); RunnerPodsError on timeout."""
        from kubernetes import watch

        deadline = time.monotonic() + self.ready_timeout_s
        pods = {p.metadata.name: p for p in self._list(self._job_selector(job_id))}
        while not all(n in pods and _ready(pods[n]) for n in names):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                late = [
                    f"{n} ({_why_not_ready(pods[n]) if n in pods else 'missing'})"
                    for n in names
                    if n not in pods or not _ready(pods[n])
                ]
                raise RunnerPodsError(f"runner pods not Ready after {self.ready_timeout_s:g}s: {', '.join(late)}")
            dead = [n for n in names if n in pods and _dead(pods[n])]
            if dead:
                raise RunnerPodsError(
                    f"runner pod {dead[0]} ended before it was Ready ({_why_not_ready(pods[dead[0]])})"
                )
            stream = watch.Watch()
            for event in stream.stream(
                self.api.list_namespaced_pod,
                self.namespace,
                label_selector=self._job_selector(job_id),
                timeout_seconds=max(1, int(remaining)),
            ):
                pod = event["object"]
                if event["type"] == "DELETED":
                    pods.pop(pod.metadata.name, None)
                else:
                    pods[pod.metadata.name] = pod
                if all(n in pods and _ready(pods[n]) for n in names) or any(
                    n in pods and _dead(pods[n]) for n in names
                ):
                    stream.stop()
                if time.monotonic() >= deadline:
                    stream.stop()
        return [self._endpoint(pods[n]) for n in names]

    def _start(self, job_id: str, replicas: int, template: dict[str, Any] | None) -> list[str]:
        existing = {p.metadata.name: p for p in self._list(self._job_selector(job_id))}
        names = [self.pod_name(job_id, i) for i in range(replicas)]
        deadline = time.monotonic() + self.ready_timeout_s
        for index, name in enumerate(names):
            pod = existing.get(name)
            if pod is not None and not _dead(pod):
                log.info("adopting runner pod %s of job %s", name, job_id)
                continue
            if pod is not None:
                self._delete(name)
                self._wait_gone(name, deadline)
            self.api.create_namespaced_pod(self.namespace, self.manifest(job_id, index, template))
        for name in set(existing) - set(names):  # left from a run that asked for more replicas
            self._delete(name)
        return self._wait_ready(job_id, names)

    async def start(self, job_id: str, replicas: int, template: dict[str, Any] | None = None) -> list[str]:
        """Creates (or adopts) the job's N runner pods and returns their gRPC endpoints once all are Ready."""
        from kubernetes.client.exceptions import ApiException

        try:
            with _tracer.start_as_current_span(
                "runner_pods.start", attributes={"lbi.job_id": job_id, "lbi.replicas": replicas}
            ):
                return await asyncio.to_thread(self._start, job_id, replicas, template)
        except (RunnerPodsError, ApiException) as exc:
            with contextlib.suppress(Exception):
                await self.stop(job_id)
            if isinstance(exc, ApiException):
                raise _api_error(exc) from None
            raise

    def _replace(self, job_id: str, endpoint: str, template: dict[str, Any] | None) -> str | None:
        pods = self._list(self._job_selector(job_id))
        pod = next((p for p in pods if p.status and p.status.pod_ip and self._endpoint(p) == endpoint), None)
        if pod is None or _ready(pod):
            # Gone: a concurrent caller replaced it and repointed the pool already. Ready: the failure was
            # the runner's answer, not its pod. Either way there is nothing to replace.
            return None
        name = pod.metadata.name
        index = int(name.rsplit("-", 1)[1])
        log.warning("replacing runner pod %s of job %s (%s)", name, job_id, _why_not_ready(pod))
        self._delete(name)
        self._wait_gone(name, time.monotonic() + self.ready_timeout_s)
        self.api.create_namespaced_pod(self.namespace, self.manifest(job_id, index, template))
        return self._wait_ready(job_id, [name])[0]

    async def replace(self, job_id: str, endpoint: str, template: dict[str, Any] | None = None) -> str | None:
        """A new endpoint when the pod behind `endpoint` died and was replaced; None when it is alive."""
        lock = self._replacing.setdefault(endpoint, asyncio.Lock())
        from kubernetes.client.exceptions import ApiException

        async with lock:
            with _tracer.start_as_current_span(
                "runner_pods.replace", attributes={"lbi.job_id": job_id, "lbi.endpoint": endpoint}
            ):
                try:
                    return await asyncio.to_thread(self._replace, job_id, endpoint, template)
                except ApiException as exc:
                    raise _api_error(exc) from None

    async def stop(self, job_id: str) -> int:
        """Deletes the job's runner pods; returns how many there were."""

        def delete_all() -> int:
            pods = self._list(self._job_selector(job_id))
            for pod in pods:
                self._delete(pod.metadata.name)
            return len(pods)

        return await asyncio.to_thread(delete_all)

    async def reconcile(self, keep_jobs: set[str]) -> list[str]:
        """After a restart: deletes runner pods of jobs not in `keep_jobs` (those are adopted when they resume)."""

        def sweep() -> list[str]:
            keep = {j.removeprefix("job-") for j in keep_jobs}
            removed = []
            for pod in self._list(SELECTOR):
                if (pod.metadata.labels or {}).get(JOB) not in keep:
                    self._delete(pod.metadata.name)
                    removed.append(pod.metadata.name)
            return removed

        return await asyncio.to_thread(sweep)
