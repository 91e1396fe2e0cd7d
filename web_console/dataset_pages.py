"""Datasets: the list, a dataset's counts by origin and environment, its examples page by page, search with the
retrieval service's own modes, an example with its source trajectory, deleting an example, and export (the JSONL
formats `lbi export` writes, streamed page by page)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from lbi.export import export_record, exportable, jsonl_line
from lbi.records import Example
from lbi.v1 import common_pb2
from lbi.v1 import env_runner_pb2 as runner_pb
from lbi.v1 import retrieval_pb2 as rpb
from lbi.v1 import synthesis_pb2 as spb
from web_console.clients import ServiceFailure, Services
from web_console.views import as_dict, example_view, mode_name
from web_console.web import BadForm, checked_form, redirect, render, services, session_of

ORIGINS = {
    "forward": common_pb2.ORIGIN_FORWARD,
    "backward-task": common_pb2.ORIGIN_BACKWARD_TASK,
    "backward-summary": common_pb2.ORIGIN_BACKWARD_SUMMARY,
    "online": common_pb2.ORIGIN_ONLINE,
}
SEARCH_MODES = {
    "instruction": rpb.RETRIEVAL_MODE_INSTRUCTION,
    "observation": rpb.RETRIEVAL_MODE_OBSERVATION,
    "query": rpb.RETRIEVAL_MODE_QUERY,
}
EXPORT_FORMATS = ("chat-jsonl", "sharegpt")


async def datasets_page(request: Request) -> Response:
    listed = await services(request).retrieval.call("ListDatasets", rpb.ListDatasetsRequest())
    return render(request, "datasets.html", datasets=[as_dict(d) for d in listed.datasets])


def _filters(params: Any) -> rpb.RetrievalFilters:
    flt = rpb.RetrievalFilters()
    if params.get("origin") in ORIGINS:
        flt.origins.append(ORIGINS[params["origin"]])
    if params.get("env"):
        flt.envs.append(params["env"])
    return flt


async def _counts(api: Services, name: str, envs: list[str]) -> dict[str, dict[str, int]]:
    async def total(flt: rpb.RetrievalFilters) -> int:
        page = await api.retrieval.call("ListExamples", rpb.ListExamplesRequest(dataset=name, page_size=1, filters=flt))
        return page.total

    filters = [rpb.RetrievalFilters(origins=[v]) for v in ORIGINS.values()]
    filters += [rpb.RetrievalFilters(envs=[e]) for e in envs]
    totals = await asyncio.gather(*(total(f) for f in filters))
    return {
        "origin": dict(zip(ORIGINS, totals, strict=False)),
        "env": dict(zip(envs, totals[len(ORIGINS) :], strict=True)),
    }


async def _search(api: Services, name: str, text: str, mode: str, flt: rpb.RetrievalFilters) -> list[dict[str, Any]]:
    request = rpb.RetrieveRequest(dataset=name, modes=[SEARCH_MODES[mode]], filters=flt, metadata_only=True)
    if mode == "instruction":
        request.instruction = text
    elif mode == "observation":
        request.observation = text
    else:
        request.queries.append(text)
    request.k_instruction = request.k_observation = request.k_query = 20
    found = await api.retrieval.call("Retrieve", request)
    return [
        {
            "example": example_view(r.example),
            "score": r.score,
            "mode": mode_name(r.mode),
            "matched_step": r.matched_step,
        }
        for r in found.examples
    ]


async def _nothing() -> None:
    return None


async def dataset_page(request: Request) -> Response:
    name = request.path_params["name"]
    params = request.query_params
    api = services(request)
    text, mode = params.get("q", "").strip(), params.get("mode", "instruction")
    if mode not in SEARCH_MODES:
        raise BadForm(f"mode: one of {', '.join(SEARCH_MODES)}")
    flt = _filters(params)
    info, page = await asyncio.gather(
        api.retrieval.call("DescribeDataset", rpb.DescribeDatasetRequest(dataset=name)),
        api.retrieval.call(
            "ListExamples",
            rpb.ListExamplesRequest(dataset=name, page_size=50, page_token=params.get("after", ""), filters=flt),
        ),
    )
    results, counts = await asyncio.gather(
        _search(api, name, text, mode, flt) if text else _nothing(), _counts(api, name, list(info.envs))
    )
    return render(
        request,
        "dataset.html",
        info=as_dict(info),
        counts=counts,
        examples=[{**example_view(e.example), "step_count": e.step_count, "job_id": e.job_id} for e in page.examples],
        next_after=page.next_page_token,
        total=page.total,
        params=dict(params),
        results=results,
        modes=list(SEARCH_MODES),
        origins=list(ORIGINS),
        formats=EXPORT_FORMATS,
        may_write=session_of(request).may_write(name),
    )


async def _example(api: Services, name: str, example_id: str) -> rpb.ListedExample:
    got = await api.retrieval.call("GetExamples", rpb.GetExamplesRequest(dataset=name, ids=[example_id]))
    if not got.examples:
        raise BadForm(f"dataset {name!r} has no example {example_id!r}", 404)
    return got.examples[0]


async def _source(api: Services, job_id: str, example_id: str) -> dict[str, Any] | None:
    """Where a synthesized example came from in its job: the candidate, its task and trajectory."""
    if not job_id or job_id.startswith("online/"):
        return None
    try:
        found = await api.synthesis.call(
            "ListJobRecords",
            spb.ListJobRecordsRequest(job_id=job_id, kind=spb.RECORD_KIND_CANDIDATE, keys=[example_id]),
        )
    except ServiceFailure:
        return None  # the job is gone or this token may not read it: the example still shows
    if not found.records:
        return None
    record = found.records[0]
    return {"job_id": job_id, "task_key": record.task_key, "resource_id": record.resource_id}


async def example_page(request: Request) -> Response:
    name, example_id = request.path_params["name"], request.path_params["example_id"]
    api = services(request)
    listed = await _example(api, name, example_id)
    example = example_view(listed.example)
    return render(
        request,
        "example.html",
        dataset=name,
        example=example,
        job_id=listed.job_id,
        source=await _source(api, listed.job_id, example_id),
        may_write=session_of(request).may_write(name),
    )


async def confirm_delete(request: Request) -> Response:
    name, example_id = request.path_params["name"], request.path_params["example_id"]
    listed = await _example(services(request), name, example_id)
    return render(
        request,
        "confirm.html",
        what=f"example “{listed.example.instruction}”",
        action=request.url.path,
        back=f"/datasets/{name}/examples/{example_id}",
    )


async def delete_example(request: Request) -> Response:
    await checked_form(request)
    name, example_id = request.path_params["name"], request.path_params["example_id"]
    await services(request).retrieval.call("DeleteExamples", rpb.DeleteExamplesRequest(dataset=name, ids=[example_id]))
    return redirect(request, f"/datasets/{name}?deleted={example_id}")


async def export(request: Request) -> Response:
    name = request.path_params["name"]
    fmt = request.query_params.get("format", "chat-jsonl")
    if fmt not in EXPORT_FORMATS:
        raise BadForm(f"format: one of {', '.join(EXPORT_FORMATS)}")
    kept_only = request.query_params.get("all") != "1"
    api = services(request)
    await api.retrieval.call("DescribeDataset", rpb.DescribeDatasetRequest(dataset=name))  # NOT_FOUND before streaming
    spaces: dict[str, str] = {}
    if api.runner is not None:
        try:
            envs = await api.runner.call("ListEnvironments", runner_pb.ListEnvironmentsRequest(), timeout=10)
            spaces = {e.name: e.action_space for e in envs.environments}
        except ServiceFailure:
            pass

    async def lines() -> AsyncIterator[bytes]:
        token = ""
        while True:
            page = await api.retrieval.call(
                "ListExamples", rpb.ListExamplesRequest(dataset=name, page_size=500, page_token=token, full=True)
            )
            for listed in page.examples:
                example = Example.from_proto(listed.example)
                if exportable(example, kept_only):
                    yield (
                        json.dumps(jsonl_line(export_record(example, spaces), fmt), ensure_ascii=False) + "\n"
                    ).encode()
            token = page.next_page_token
            if not token:
                return

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"content-disposition": f'attachment; filename="{name}.{fmt}.jsonl"'},
    )


routes = [
    Route("/datasets", datasets_page, methods=["GET"]),
    Route("/datasets/{name}", dataset_page, methods=["GET"]),
    Route("/datasets/{name}/export", export, methods=["GET"]),
    Route("/datasets/{name}/examples/{example_id}", example_page, methods=["GET"]),
    Route("/datasets/{name}/examples/{example_id}/delete", confirm_delete, methods=["GET"]),
    Route("/datasets/{name}/examples/{example_id}/delete", delete_example, methods=["POST"]),
]
