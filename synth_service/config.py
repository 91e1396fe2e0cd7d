"""Settings of the synthesis service (`LBI_SYNTH_*` and the common `LBI_*` variables)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lbi.config import RunnerSettings


class SynthSettings(RunnerSettings):
    """Includes the runner settings, used for the local runner a job gets when it names no endpoints."""

    synth_host: str = Field("127.0.0.1", description="Address the synthesis service binds.")
    synth_port: int = Field(50053, ge=0, le=65535, description="Port of the synthesis gRPC server.")
    journal_url: str = Field(
        "",
        description="Where the job journal lives: a PostgreSQL database (postgresql://user:password@host:5432/db, "
        "psycopg 3; several processes may share it) or sqlite:///file. Empty: a SQLite file under the data directory "
        "(synthesis/journal.sqlite). Its schema is migrated at start (synth_service/migrations/).",
    )
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
    synth_allowed_runner_endpoints: list[str] | None = Field(
        None,
        description=(
            "Runners a job's spec.runner_endpoints may name, as a JSON list of host:port glob patterns (e.g. "
            '["lbi-runner-*.lbi-runner.agents.svc:50051"], the chart\'s standing pool); the service sends its client '
            "token to them. Unset: any endpoint when auth is off, none when it is on."
        ),
    )
    synth_job_pod_templates: bool | None = Field(
        None,
        description=(
            "Whether a job's spec.runners.template may replace the operator's runner pod template (it decides the "
            "containers, volumes and service account of pods this service creates). Unset: yes when auth is off, "
            "no when it is on; the chart sets false."
        ),
    )
    synth_allowed_models: list[str] | None = Field(
        None,
        description=(
            "Models a job's spec.models may name besides those configured (LBI_LLM_MODEL, LBI_LLM_FALLBACKS, "
            "LBI_LLM_ROLES, LBI_LLM_MODEL_LIST) and the offline backend, as a JSON list of glob patterns. Unset: any "
            "model when auth is off, only those when it is on."
        ),
    )
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
