"""Jobs: the list with live progress, the form that creates one, a job's statistics (the paper's Table 1) and what
it wrote (resources, tasks, trajectories step by step, candidates with verdicts), cancel and resume."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lbi.errors import ServiceError
from lbi.records import to_struct
from lbi.v1 import env_runner_pb2 as runner_pb
from lbi.v1 import synthesis_pb2 as pb
from synth_service.spec import spec_from_dict
from synth_service.stages.names import PIPELINE
from web_console.clients import ServiceFailure, Services
from web_console.views import as_dict, job_view, stage_name, state_name
from web_console.web import BadForm, checked_form, field, redirect, render, services, session_of

KINDS = {
    "resources": (pb.RECORD_KIND_RESOURCE, "resource"),
    "tasks": (pb.RECORD_KIND_TASK, "task"),
    "trajectories": (pb.RECORD_KIND_TRAJECTORY, "trajectory"),
    "candidates": (pb.RECORD_KIND_CANDIDATE, "candidate"),
}
FORM_FIELDS = ("env", "dataset", "config", "resources", "filter", "per_resource", "max_steps", "backward", "policy")


async def _environments(api: Services) -> list[dict[str, Any]]:
    if api.runner is None:
        return []
    try:
        listed = await api.runner.call("ListEnvironments", runner_pb.ListEnvironmentsRequest(), timeout=10)
    except ServiceFailure:
        return []
    return [
        {"name": e.name, "description": e.description, "config": as_dict(e.config_schema)} for e in listed.environments
    ]


async def jobs_page(request: Request, form: dict[str, str] | None = None, problem: str = "") -> Response:
    api = services(request)
    after = request.query_params.get("after", "")
    listed = await api.synthesis.call("ListJobs", pb.ListJobsRequest(page_size=50, page_token=after, newest_first=True))
    jobs = [job_view(j) for j in listed.jobs]
    return render(
        request,
        "jobs.html",
        status=400 if problem else 200,
        jobs=jobs,
        after=after,
        next_after=listed.next_page_token,
        environments=await _environments(api),
        form=form or {"config": "{}", "dataset": "default", "per_resource": "3", "max_steps": "10"},
        problem=problem,
    )


def _spec(values: dict[str, str]) -> dict[str, Any]:
    try:
        config = json.loads(values.get("config") or "{}")
    except json.JSONDecodeError as exc:
        raise BadForm(f"config: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(config, dict):
        raise BadForm("config: must be a JSON object")
    data: dict[str, Any] = {
        "env": values.get("env", "").strip(),
        "dataset": values.get("dataset", "").strip() or "default",
        "env_config": config,
        "resource_paths": [line.strip() for line in values.get("resources", "").splitlines() if line.strip()],
        "resource_filter": [x.strip() for x in values.get("filter", "").split(",") if x.strip()],
    }
    for name, key in (
        ("per_resource", "instructions_per_resource"),
        ("max_steps", "max_steps"),
        ("budget", "max_llm_calls"),
    ):
        raw = values.get(name, "").strip()
        if raw:
            if not raw.isdigit():
                raise BadForm(f"{name}: must be a whole number")
            data[key] = int(raw)
    for name, key in (("backward", "backward_mode"), ("policy", "filter_policy")):
        if values.get(name):
            data[key] = values[name]
    return data


async def create_job(request: Request) -> Response:
    form = await checked_form(request)
    values = {name: field(form, name) for name in (*FORM_FIELDS, "budget")}
    api = services(request)
    try:
        spec = spec_from_dict(_spec(values))
        if not session_of(request).may_write(spec.dataset):
            raise BadForm(f"this token may not write dataset {spec.dataset!r}", 403)
        if api.runner is not None:  # the runner validates the config before the job is submitted
            opened = await api.runner.call(
                "OpenSession",
                runner_pb.OpenSessionRequest(env=spec.env, config=to_struct(spec.env_config)),
                timeout=120,
            )
            await api.runner.call("CloseSession", runner_pb.CloseSessionRequest(session_id=opened.session_id))
        job = await api.synthesis.call("CreateJob", pb.CreateJobRequest(spec=spec.to_proto()), timeout=300)
    except (BadForm, ServiceError) as exc:
        return await jobs_page(request, values, str(exc))
    except ServiceFailure as exc:
        if exc.code.name == "PERMISSION_DENIED":
            raise
        return await jobs_page(request, values, f"the {exc.service} service refused it: {exc.message}")
    return redirect(request, f"/jobs/{job.id}")


async def _job(api: Services, job_id: str) -> pb.Job:
    return await api.synthesis.call("GetJob", pb.GetJobRequest(job_id=job_id))


async def job_page(request: Request) -> Response:
    job_id = request.path_params["job_id"]
    api = services(request)
    job = job_view(await _job(api, job_id))
    tab = request.query_params.get("tab", "candidates")
    if tab not in KINDS:
        tab = "candidates"
    params = request.query_params
    kept = {"kept": True, "dropped": False}.get(params.get("verdict", ""))
    query = pb.ListJobRecordsRequest(
        job_id=job_id,
        kind=KINDS[tab][0],
        page_size=50,
        page_token=params.get("after", ""),
        reason_contains=params.get("reason", ""),
        origin=params.get("origin", "") if tab == "candidates" else "",
        resource_id=params.get("resource", ""),
    )
    if kept is not None and tab == "candidates":
        query.kept = kept
    page = await api.synthesis.call("ListJobRecords", query)
    resources = await api.synthesis.call(
        "ListJobRecords", pb.ListJobRecordsRequest(job_id=job_id, kind=pb.RECORD_KIND_RESOURCE, page_size=500)
    )
    titles = {r.key: r.payload["title"] for r in resources.records if "title" in r.payload}
    return render(
        request,
        "job.html",
        job=job,
        stages=PIPELINE,
        tab=tab,
        records=[_record(r) for r in page.records],
        next_after=page.next_page_token,
        total=page.total,
        titles=titles,
        params=dict(params),
    )


def _record(record: pb.JobRecord) -> dict[str, Any]:
    data = as_dict(record)
    data["payload"] = json.loads(json.dumps(data.get("payload", {})))
    return data


async def record_page(request: Request) -> Response:
    job_id, tab, key = (request.path_params[k] for k in ("job_id", "tab", "key"))
    if tab not in KINDS:
        raise BadForm(f"no record kind {tab!r}", 404)
    api = services(request)
    job = job_view(await _job(api, job_id))
    found = await api.synthesis.call(
        "ListJobRecords", pb.ListJobRecordsRequest(job_id=job_id, kind=KINDS[tab][0], keys=[key])
    )
    if not found.records:
        raise BadForm(f"job {job_id} has no {KINDS[tab][1]} {key!r}", 404)
    record = _record(found.records[0])
    context: dict[str, Any] = {}
    resource_id = record.get("resource_id", "")
    if resource_id:
        got = await api.synthesis.call(
            "ListJobRecords", pb.ListJobRecordsRequest(job_id=job_id, kind=pb.RECORD_KIND_RESOURCE, keys=[resource_id])
        )
        context["resource"] = _record(got.records[0]) if got.records else None
    task_key = record.get("task_key", "") or (key if tab == "tasks" else "")
    if task_key and tab != "tasks":
        got = await api.synthesis.call(
            "ListJobRecords", pb.ListJobRecordsRequest(job_id=job_id, kind=pb.RECORD_KIND_TASK, keys=[task_key])
        )
        context["task"] = _record(got.records[0]) if got.records else None
    if tab == "candidates" and task_key:
        got = await api.synthesis.call(
            "ListJobRecords", pb.ListJobRecordsRequest(job_id=job_id, kind=pb.RECORD_KIND_TRAJECTORY, keys=[task_key])
        )
        context["trajectory"] = _record(got.records[0]) if got.records else None
    return render(
        request, "record.html", job=job, tab=tab, kind=KINDS[tab][1], record=record, span=_span(request), **context
    )


def _span(request: Request) -> tuple[int, int] | None:
    """`?span=i-j`: the steps an example covers, marked on its source trajectory."""
    start, _, end = request.query_params.get("span", "").partition("-")
    if start.isdigit() and end.isdigit() and int(start) < int(end):
        return int(start), int(end)
    return None


def _figures(state: int, stage: int, counts: pb.JobEvent | pb.JobStats, message: str) -> dict[str, Any]:
    """The figures a job's page shows live, from a progress event or the finished job's statistics."""
    return {
        "state": state_name(state),
        "stage": stage_name(stage) if stage else "",
        "kept": counts.kept,
        "dropped": counts.dropped,
        "llm_calls": counts.llm_calls,
        "tokens": counts.tokens,
        "cost_usd": f"{counts.cost_usd:.4f}",
        "message": message,
    }


async def job_events(request: Request) -> Response:
    """The job's progress as server-sent events: `progress` per WatchJob event, then `end` with the final figures."""
    job_id = request.path_params["job_id"]
    api = services(request)
    await _job(api, job_id)  # NOT_FOUND / PERMISSION_DENIED before the stream starts

    async def events():
        try:
            async for event in api.synthesis.stream("WatchJob", pb.WatchJobRequest(job_id=job_id)):
                figures = _figures(event.state, event.stage, event, event.message)
                yield {"event": "progress", "data": json.dumps({**figures, "done": event.done, "total": event.total})}
            job = await _job(api, job_id)
            yield {"event": "end", "data": json.dumps(_figures(job.state, job.stage, job.stats, job.error))}
        except ServiceFailure as exc:
            yield {"event": "failure", "data": json.dumps({"message": str(exc)})}
        except asyncio.CancelledError:
            raise

    return EventSourceResponse(events(), ping=15)


async def cancel_job(request: Request) -> Response:
    await checked_form(request)
    job_id = request.path_params["job_id"]
    await services(request).synthesis.call("CancelJob", pb.CancelJobRequest(job_id=job_id), timeout=60)
    return redirect(request, f"/jobs/{job_id}")


async def resume_job(request: Request) -> Response:
    await checked_form(request)
    job_id = request.path_params["job_id"]
    api = services(request)
    job = await _job(api, job_id)
    await api.synthesis.call("CreateJob", pb.CreateJobRequest(spec=job.spec, job_id=job_id), timeout=300)
    return redirect(request, f"/jobs/{job_id}")


routes = [
    Route("/jobs", jobs_page, methods=["GET"]),
    Route("/jobs", create_job, methods=["POST"]),
    Route("/jobs/{job_id}", job_page, methods=["GET"]),
    Route("/jobs/{job_id}/events", job_events, methods=["GET"]),
    Route("/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    Route("/jobs/{job_id}/resume", resume_job, methods=["POST"]),
    Route("/jobs/{job_id}/{tab}/{key}", record_page, methods=["GET"]),
]
