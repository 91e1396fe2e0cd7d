"""The SynthesisService gRPC servicer over the engine."""

from __future__ import annotations

from typing import cast

from google.protobuf import timestamp_pb2

from lbi.records import to_struct
from lbi.v1 import synthesis_pb2 as pb
from lbi.v1 import synthesis_pb2_grpc
from synth_service.engine import Engine
from synth_service.spec import JobSpec, spec_from_dict, spec_from_proto
from synth_service.stats import JobStats

STAGE_PB = {
    "resources": pb.STAGE_RESOURCES,
    "self_instruct": pb.STAGE_SELF_INSTRUCT,
    "rollout": pb.STAGE_ROLLOUT,
    "backward": pb.STAGE_BACKWARD,
    "filter": pb.STAGE_FILTER,
    "ingest": pb.STAGE_INGEST,
}


def _time(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def stats_to_proto(stats: JobStats) -> pb.JobStats:
    return pb.JobStats(
        resources=stats.resources,
        instructions=stats.instructions,
        trajectories=stats.trajectories,
        candidates_forward=stats.candidates["forward"],
        candidates_backward_task=stats.candidates["backward-task"],
        candidates_backward_summary=stats.candidates["backward-summary"],
        kept=stats.kept,
        dropped=stats.dropped,
        llm_calls=stats.llm_calls,
        tokens=stats.tokens,
        cost_usd=stats.cost_usd,
        failed_rollouts=stats.failed_rollouts,
        label_failures=stats.label_failures,
        llm_failures=[
            pb.LLMFailures(stage=f.stage, role=f.role, kind=f.kind, count=f.count, first_reason=f.first_reason)
            for f in stats.llm_failures
        ],
        stages=[
            pb.StageStats(
                stage=STAGE_PB[name],
                llm_calls=f.llm_calls,
                tokens=f.tokens,
                cost_usd=f.cost_usd,
                wall_seconds=f.wall_seconds,
            )
            for name, f in stats.stages.items()
        ],
        yields=[
            pb.KindYield(kind=kind, resources=y.resources, instructions=y.instructions, kept=y.kept)
            for kind, y in stats.yields.items()
        ],
    )


def job_state(name: str) -> pb.JobState:
    """The proto enum of a journal's job state ("RUNNING" -> JOB_STATE_RUNNING)."""
    return cast(pb.JobState, pb.JobState.Value(f"JOB_STATE_{name}"))  # the stubs type Value() as int


def job_to_proto(job: dict) -> pb.Job:
    spec: JobSpec = spec_from_dict(job["spec"])
    return pb.Job(
        id=job["id"],
        spec=spec.to_proto(),
        state=job_state(job["state"]),
        stage=STAGE_PB.get(job["stage"], pb.STAGE_UNSPECIFIED),
        stats=stats_to_proto(job["stats"]),
        error=job["error"],
        created_at=_time(job["created_at"]),
        updated_at=_time(job["updated_at"]),
    )


class SynthesisService(synthesis_pb2_grpc.SynthesisServiceServicer):
    def __init__(self, engine: Engine):
        self.engine = engine

    async def CreateJob(self, request, context):
        spec = spec_from_proto(request.spec)
        await self.engine.probe(spec)
        job_id = self.engine.create(spec, request.job_id)
        self.engine.start(job_id)
        return job_to_proto(self.engine.get(job_id))

    async def GetJob(self, request, context):
        return job_to_proto(self.engine.get(request.job_id))

    async def ListJobs(self, request, context):
        return pb.ListJobsResponse(jobs=[job_to_proto(j) for j in self.engine.jobs()])

    async def CancelJob(self, request, context):
        return job_to_proto(await self.engine.cancel(request.job_id))

    async def WatchJob(self, request, context):
        async for event in self.engine.watch(request.job_id):
            stats = self.engine.get(request.job_id)["stats"]
            yield pb.JobEvent(
                job_id=event["job_id"],
                state=job_state(event.get("state", "RUNNING")),
                stage=STAGE_PB.get(event.get("stage", ""), pb.STAGE_UNSPECIFIED),
                done=event.get("done", 0),
                total=event.get("total", 0),
                kept=stats.kept,
                dropped=stats.dropped,
                llm_calls=stats.llm_calls,
                tokens=stats.tokens,
                cost_usd=stats.cost_usd,
                message=event.get("message", ""),
                time=_time(event.get("time", 0.0)),
                details=to_struct({k: v for k, v in event.items() if k in ("snapshot",)}),
            )
