"""Settings of the synthesis service (`LBI_SYNTH_*` and the common `LBI_*` variables)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lbi.config import RunnerSettings


class SynthSettings(RunnerSettings):
    """Includes the runner settings, used for the local runner a job gets when it names no endpoints."""

    synth_host: str = Field("127.0.0.1", description="Address the synthesis service binds.")
    synth_port: int = Field(50053, ge=0, le=65535, description="Port of the synthesis gRPC server.")
    synth_store_wait_s: float = Field(
        600.0,
        ge=0,
        description="How long ingest retries writes to an unavailable vector store before the job fails (resumable).",
    )
    synth_pipeline: Literal["streaming", "barrier"] = Field(
        "streaming",
        description="streaming: each item moves on to its next stage as soon as it is done; barrier: each "
        "stage waits for the whole previous stage (the old pipeline, kept as the baseline bench/synthesis.py "
        "measures).",
    )
    synth_resume_on_start: bool = Field(
        True, description="Resume jobs a previous process left running when the service starts."
    )
    synth_kubernetes: bool = Field(
        False, description="Manage runner pods on Kubernetes (jobs with runners.replicas); set by the Helm chart."
    )
    synth_k8s_namespace: str = Field(
        "", description="Namespace of runner pods; empty: the service's own (from its service account), else default."
    )
    synth_runner_template_file: str = Field(
        "", description="YAML pod template for runner pods (the chart mounts it from a ConfigMap)."
    )
    synth_runner_pod_port: int = Field(50051, ge=1, le=65535, description="gRPC port the runner pods listen on.")
    synth_runner_ready_timeout_s: float = Field(
        300.0, gt=0, description="How long a job waits for its runner pods to be Ready before it fails."
    )
    synth_pod_name: str = Field(
        "", description="Name of the synth pod (downward API), the owner of the runner pods it makes."
    )
    synth_pod_uid: str = Field("", description="UID of the synth pod (downward API).")
    online_policy_file: str = Field(
        "",
        description="YAML file of per-dataset online policies (synth_service/online/policy.py); "
        "empty: no dataset accepts episodes.",
    )
    online_sweep_s: float = Field(
        3600.0, gt=0, description="How often each online job deletes episodes past their dataset's retention."
    )
    test_fault_kill_after: str = Field(
        "",
        description="Tests only (tests/reliability): SIGKILL the service after a given "
        "journal write, as synth_service/journal.py describes. Never set it in a deployment.",
    )
