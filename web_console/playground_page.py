"""The playground: an observation, a task and a history typed or pasted, answered by every retrieval mode side by side
(scores, the matched step, the prompt block as the agent would get it, the budget applied, each call's latency)."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lbi.v1 import common_pb2
from lbi.v1 import retrieval_pb2 as rpb
from web_console.clients import ServiceFailure, Services
from web_console.views import example_view, mode_name
from web_console.web import BadForm, checked_form, field, render, services

MODES = {
    "observation": rpb.RETRIEVAL_MODE_OBSERVATION,
    "query": rpb.RETRIEVAL_MODE_QUERY,
    "instruction": rpb.RETRIEVAL_MODE_INSTRUCTION,
    "agentic": rpb.RETRIEVAL_MODE_AGENTIC,
}
DEFAULTS = {"k": "3", "budget_chars": "4000", "max_tokens": "", "tokenizer": "", "window": "0"}


def parse_history(text: str) -> list[common_pb2.Step]:
    """A JSON list of {observation, action} objects, or one action per line."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadForm(f"history: not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise BadForm('history: a JSON list of {"observation": ..., "action": ...} objects')
        return [
            common_pb2.Step(observation=str(i.get("observation", "")), action=str(i.get("action", ""))) for i in items
        ]
    return [common_pb2.Step(action=line) for line in text.splitlines() if line.strip()]


def _number(values: dict[str, str], name: str) -> int:
    raw = values.get(name, "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise BadForm(f"{name}: must be a whole number")
    return int(raw)


async def _datasets(api: Services) -> list[str]:
    listed = await api.retrieval.call("ListDatasets", rpb.ListDatasetsRequest())
    return [d.name for d in listed.datasets]


async def _one(api: Services, base: rpb.RetrieveRequest, mode: str) -> dict[str, Any]:
    request = rpb.RetrieveRequest()
    request.CopyFrom(base)
    request.modes.append(MODES[mode])
    started = time.perf_counter()
    try:
        answer = await api.retrieval.call("Retrieve", request, timeout=60)
    except ServiceFailure as exc:
        return {
            "mode": mode,
            "error": f"{exc.code.name}: {exc.message}",
            "latency_ms": (time.perf_counter() - started) * 1000,
        }
    return {
        "mode": mode,
        "latency_ms": (time.perf_counter() - started) * 1000,
        "timings": dict(answer.timings_ms),
        "queries": list(answer.queries),
        "degraded": answer.degraded,
        "prompt_block": answer.prompt_block,
        "examples": [
            {
                "example": example_view(r.example),
                "score": r.score,
                "mode": mode_name(r.mode),
                "matched_step": r.matched_step,
                "window_start": r.window_start,
                "query": r.query,
            }
            for r in answer.examples
        ],
    }


async def playground(request: Request) -> Response:
    api = services(request)
    datasets = await _datasets(api)
    values: dict[str, str] = {**DEFAULTS, "dataset": datasets[0] if datasets else ""}
    answers: list[dict[str, Any]] = []
    problem = ""
    if request.method == "POST":
        form = await checked_form(request)
        values.update(
            {
                k: field(form, k)
                for k in ("dataset", "instruction", "observation", "history", "queries", *DEFAULTS)
                if k in form
            }
        )
        try:
            k = _number(values, "k") or 3
            base = rpb.RetrieveRequest(
                dataset=values["dataset"],
                instruction=values.get("instruction", ""),
                observation=values.get("observation", ""),
                history=parse_history(values.get("history", "")),
                queries=[q.strip() for q in values.get("queries", "").splitlines() if q.strip()],
                k_observation=k,
                k_query=k,
                k_instruction=k,
                prompt_budget_chars=_number(values, "budget_chars"),
                max_tokens=_number(values, "max_tokens"),
                tokenizer=values.get("tokenizer", "").strip(),
                window=_number(values, "window"),
            )
        except BadForm as exc:
            problem = str(exc)
        else:
            base.generate_queries = not base.queries
            answers = [await _one(api, base, mode) for mode in MODES]
    return render(
        request,
        "playground.html",
        status=400 if problem else 200,
        datasets=datasets,
        values=values,
        answers=answers,
        problem=problem,
    )


routes = [Route("/playground", playground, methods=["GET", "POST"])]
