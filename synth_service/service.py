"""The SynthesisService gRPC servicer over the engine.

With tokens configured (lbi/auth.py), a caller sees the jobs of the datasets its token may read, and creates,
cancels or resumes jobs only of datasets it may write (PERMISSION_DENIED otherwise). What a job may choose (runners,
pod template, models, its id) is admission.py's."""

from __future__ import annotations

import asyncio
from typing import cast

from lbi.auth import Grant, TokenTable
from lbi.errors import InvalidArgument, NotFound, PermissionDenied
from lbi.records import to_struct, to_timestamp
from lbi.v1 import synthesis_pb2 as pb
from lbi.v1 import synthesis_pb2_grpc
from synth_service.admission import check_spec, is_batch_job
from synth_service.engine import Engine
from synth_service.job_records import JobRecords, RecordQuery, parse_page
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
        created_at=to_timestamp(job["created_at"]),
        updated_at=to_timestamp(job["updated_at"]),
    )


RECORD_KINDS = {
    pb.RECORD_KIND_RESOURCE: "resource",
    pb.RECORD_KIND_TASK: "task",
    pb.RECORD_KIND_TRAJECTORY: "trajectory",
    pb.RECORD_KIND_CANDIDATE: "candidate",
}
RECORD_KIND_PB = {name: number for number, name in RECORD_KINDS.items()}


class SynthesisService(synthesis_pb2_grpc.SynthesisServiceServicer):
    def __init__(self, engine: Engine, tokens: TokenTable | None = None):
        self.engine = engine
        self.tokens = tokens or TokenTable("")
        self.records = JobRecords(engine.journal)

    def _grant(self, context) -> Grant:
        return self.tokens.require(context.invocation_metadata())

    def _job(self, context, job_id: str, write: bool = False) -> dict:
        """The job's journal row (no statistics), if the caller's token may read (or, `write`, write) its dataset."""
        if not job_id:
            raise InvalidArgument("job_id", "must name a job")
        if not is_batch_job(job_id):
            raise NotFound(f"no job {job_id}")
        job = self.engine.row(job_id)
        self._check(context, job["spec"].get("dataset", "default"), write)
        return job

    def _check(self, context, dataset: str, write: bool) -> None:
        grant = self._grant(context)
        if write and not grant.may_write(dataset):
            raise PermissionDenied(f"this token may not write dataset {dataset!r} (create, cancel or resume its jobs)")
        if not grant.allows(dataset):
            raise PermissionDenied(f"this token may not read dataset {dataset!r}")

    async def CreateJob(self, request, context):
        spec = spec_from_proto(request.spec)
        self._check(context, spec.dataset, write=True)
        if request.job_id and self.engine.journal.job(request.job_id) is not None:
            self._job(context, request.job_id, write=True)  # resuming: the stored job's dataset counts
        self.engine.check_job_id(spec, request.job_id)
        check_spec(spec, self.engine.settings)  # runners, pod template, models: the operator's only
        await self.engine.probe(spec)
        job_id = self.engine.create(spec, request.job_id)
        self.engine.start(job_id)
        return job_to_proto(self.engine.get(job_id))

    async def GetJob(self, request, context):
        self._job(context, request.job_id)
        return job_to_proto(self.engine.get(request.job_id))

    async def ListJobs(self, request, context):
        grant = self._grant(context)
        size, start = parse_page(request.page_size, request.page_token) if request.page_size else (0, 0)
        if not request.page_size and request.page_token:
            raise InvalidArgument("page_size", "must be set with page_token")
        rows = [
            j
            for j in self.engine.journal.jobs()
            if is_batch_job(j["id"]) and grant.allows(j["spec"].get("dataset", "default"))
        ]
        if request.newest_first:
            rows.reverse()
        chosen = rows[start : start + size] if size else rows
        jobs = [job_to_proto(self.engine.get(j["id"], yields=False)) for j in chosen]
        more = bool(size) and start + size < len(rows)
        return pb.ListJobsResponse(jobs=jobs, next_page_token=str(start + size) if more else "")

    async def CancelJob(self, request, context):
        self._job(context, request.job_id, write=True)
        return job_to_proto(await self.engine.cancel(request.job_id))

    async def ListJobRecords(self, request, context):
        self._job(context, request.job_id)
        if request.kind not in RECORD_KINDS:
            raise InvalidArgument("kind", "must be RECORD_KIND_RESOURCE, _TASK, _TRAJECTORY or _CANDIDATE")
        size, after = parse_page(request.page_size, request.page_token)
        kind = RECORD_KINDS[request.kind]
        query = RecordQuery(
            job_id=request.job_id,
            kind=kind,
            page_size=size,
            after=after,
            kept=request.kept if request.HasField("kept") else None,
            reason_contains=request.reason_contains,
            origin=request.origin,
            resource_id=request.resource_id,
            keys=tuple(request.keys),
        )
        found, next_after = await asyncio.to_thread(self.records.page, query)
        return pb.ListJobRecordsResponse(
            records=[
                pb.JobRecord(
                    key=r.key,
                    kind=RECORD_KIND_PB[r.kind],
                    ok=r.ok,
                    reason=r.reason,
                    payload=to_struct(r.payload),
                    resource_id=r.resource_id,
                    task_key=r.task_key,
                )
                for r in found
            ],
            next_page_token=str(next_after) if next_after is not None else "",
            total=await asyncio.to_thread(self.records.total, request.job_id, kind),
        )

    async def WatchJob(self, request, context):
        self._job(context, request.job_id)
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
                time=to_timestamp(event.get("time", 0.0)),
                details=to_struct({k: v for k, v in event.items() if k in ("snapshot",)}),
            )
