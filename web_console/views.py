"""Messages of the services as the templates read them: plain dicts with the enum prefixes taken off."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from lbi.v1 import common_pb2, retrieval_pb2, synthesis_pb2


def as_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def state_name(value: int) -> str:
    return synthesis_pb2.JobState.Name(value).removeprefix("JOB_STATE_")


def stage_name(value: int) -> str:
    return synthesis_pb2.Stage.Name(value).removeprefix("STAGE_").lower()


def origin_name(value: int) -> str:
    return common_pb2.Origin.Name(value).removeprefix("ORIGIN_").lower().replace("_", "-")


def mode_name(value: int) -> str:
    return retrieval_pb2.RetrievalMode.Name(value).removeprefix("RETRIEVAL_MODE_").lower()


def job_view(job: synthesis_pb2.Job) -> dict[str, Any]:
    s = job.stats
    stages = {stage_name(x.stage): as_dict(x) for x in s.stages}
    return {
        "id": job.id,
        "state": state_name(job.state),
        "stage": stage_name(job.stage) if job.stage else "",
        "dataset": job.spec.dataset or "default",
        "env": job.spec.env,
        "error": job.error,
        "created": job.created_at.ToSeconds(),
        "updated": job.updated_at.ToSeconds(),
        "running": job.state in (synthesis_pb2.JOB_STATE_PENDING, synthesis_pb2.JOB_STATE_RUNNING),
        "ended": job.state not in (synthesis_pb2.JOB_STATE_PENDING, synthesis_pb2.JOB_STATE_RUNNING),
        "stats": as_dict(s),
        "stages": stages,
        "spec": as_dict(job.spec),
    }


def example_view(example: common_pb2.Example) -> dict[str, Any]:
    data = as_dict(example)
    data["origin"] = origin_name(example.origin)
    return data
