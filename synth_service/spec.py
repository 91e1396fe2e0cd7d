"""The job spec: what a synthesis job does, as a validated pydantic model (from YAML, CLI flags or protobuf)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lbi.dataset import check_name
from lbi.errors import InvalidArgument
from lbi.records import content_id, struct_to_dict, to_struct
from lbi.v1 import synthesis_pb2 as pb

BACKWARD_MODES = {
    "paper": pb.BACKWARD_MODE_PAPER,
    "window": pb.BACKWARD_MODE_WINDOW,
    "batched": pb.BACKWARD_MODE_BATCHED,
}
FILTER_POLICIES = {"strict": pb.FILTER_POLICY_STRICT, "relaxed": pb.FILTER_POLICY_RELAXED}


class Models(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: str = ""
    labeller: str = ""
    committee: list[str] = Field(default_factory=list)
    instructor: str = ""


class RunnerPodsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    replicas: int = Field(0, ge=0, le=256, description="Runner pods made for the job on Kubernetes (0: none).")
    template: dict[str, Any] = Field(default_factory=dict, description="Pod template; empty uses the service's.")


class JobSpec(BaseModel):
    """Every field of a job; defaults follow the paper (3 tasks per resource, 10 steps, all spans, strict)."""

    model_config = ConfigDict(extra="forbid")
    env: str = Field(min_length=1)
    env_config: dict[str, Any] = Field(default_factory=dict)
    runner_endpoints: list[str] = Field(default_factory=list)
    resource_paths: list[str] = Field(default_factory=list)
    resource_filter: list[str] = Field(default_factory=list)
    models: Models = Field(default_factory=Models)
    instructions_per_resource: int = Field(3, ge=1, le=50)
    max_steps: int = Field(10, ge=1, le=100)
    backward_mode: Literal["paper", "window", "batched"] = "paper"
    backward_window: int = Field(3, ge=1, le=100)
    filter_policy: Literal["strict", "relaxed"] = "strict"
    dataset: str = "default"
    rollout_concurrency: int = Field(4, ge=1, le=256)
    llm_concurrency: int = Field(8, ge=1, le=256)
    max_llm_calls: int = Field(0, ge=0)
    max_tokens: int = Field(0, ge=0)
    dedup_threshold: float = Field(0.95, gt=0, le=1.0)
    rollout_retries: int = Field(2, ge=0, le=10)
    ingest_batch: int = Field(128, ge=1, le=4096)
    runners: RunnerPodsSpec = Field(default_factory=RunnerPodsSpec)

    @field_validator("dataset")
    @classmethod
    def _dataset_name(cls, value: str) -> str:
        return check_name(value)

    def job_id(self) -> str:
        """Deterministic: the same spec is the same job (re-running resumes it)."""
        return "job-" + content_id("job", self.model_dump(mode="json"))[:16]

    def to_proto(self) -> pb.JobSpec:
        return pb.JobSpec(
            env=self.env,
            env_config=to_struct(self.env_config),
            runner_endpoints=self.runner_endpoints,
            resource_paths=self.resource_paths,
            resource_filter=self.resource_filter,
            models=pb.Models(**self.models.model_dump()),
            instructions_per_resource=self.instructions_per_resource,
            max_steps=self.max_steps,
            backward_mode=BACKWARD_MODES[self.backward_mode],
            backward_window=self.backward_window,
            filter_policy=FILTER_POLICIES[self.filter_policy],
            dataset=self.dataset,
            concurrency=pb.Concurrency(rollouts=self.rollout_concurrency, llm_calls=self.llm_concurrency),
            budget=pb.Budget(max_llm_calls=self.max_llm_calls, max_tokens=self.max_tokens),
            dedup_threshold=self.dedup_threshold,
            runners=pb.RunnerPods(replicas=self.runners.replicas, template=to_struct(self.runners.template)),
        )


def _invalid(exc: ValidationError, prefix: str = "spec") -> InvalidArgument:
    first = exc.errors()[0]
    path = ".".join(str(p) for p in first["loc"])
    return InvalidArgument(f"{prefix}.{path}" if path else prefix, first["msg"])


def spec_from_dict(data: dict[str, Any]) -> JobSpec:
    try:
        return JobSpec.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


def spec_from_proto(msg: pb.JobSpec) -> JobSpec:
    """Unset proto fields (0, empty) take the model defaults."""
    data: dict[str, Any] = {
        "env": msg.env,
        "env_config": struct_to_dict(msg.env_config, "spec.env_config"),
        "runner_endpoints": list(msg.runner_endpoints),
        "resource_paths": list(msg.resource_paths),
        "resource_filter": list(msg.resource_filter),
        "models": dict(json_format.MessageToDict(msg.models, preserving_proto_field_name=True).items()),
    }
    optional = {
        "instructions_per_resource": msg.instructions_per_resource,
        "max_steps": msg.max_steps,
        "backward_window": msg.backward_window,
        "dataset": msg.dataset,
        "rollout_concurrency": msg.concurrency.rollouts,
        "llm_concurrency": msg.concurrency.llm_calls,
        "max_llm_calls": msg.budget.max_llm_calls,
        "max_tokens": msg.budget.max_tokens,
        "dedup_threshold": msg.dedup_threshold,
    }
    data.update({k: v for k, v in optional.items() if v})
    if msg.runners.replicas:
        data["runners"] = {
            "replicas": msg.runners.replicas,
            "template": struct_to_dict(msg.runners.template, "spec.runners.template"),
        }
    for name, table, value in (
        ("backward_mode", BACKWARD_MODES, msg.backward_mode),
        ("filter_policy", FILTER_POLICIES, msg.filter_policy),
    ):
        if value:
            names = [k for k, v in table.items() if v == value]
            if not names:
                raise InvalidArgument(f"spec.{name}", f"unknown value {value}")
            data[name] = names[0]
    return spec_from_dict(data)


def spec_from_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a job spec is a YAML mapping")
    return data
