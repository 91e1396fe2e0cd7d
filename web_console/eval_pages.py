"""Evaluations: the runs `lbi eval` wrote (found under the console's evaluation folders, `results.json` per run) or
uploaded here, each with its per-mode table and chart and every task's verdict with its episode.

Runs are named by an id the console gives them when it lists the folders; a request never names a file, so no
request can make the console open anything but the runs it found.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web_console.web import MAX_FORM_BYTES, BadForm, checked_form, redirect, render, state

MAX_UPLOAD = MAX_FORM_BYTES
MAX_DEPTH = 4
RESULTS = "results.json"


@dataclass
class Run:
    id: str
    source: str  # the folder it was found in, or "uploaded"
    data: dict[str, Any] = field(default_factory=dict)
    when: float = 0.0

    @property
    def title(self) -> str:
        d = self.data
        return f"{d.get('env', '?')} · dataset {d.get('dataset', '?')} · model {d.get('model', '?')}"


def _check(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("modes"), list) or not isinstance(data.get("tasks"), list):
        raise BadForm("not an `lbi eval` results.json (it needs `modes` and `tasks` lists)")
    return data


def _found(dirs: tuple[Path, ...]) -> dict[str, Path]:
    """Run id -> results file, for every results.json under the folders (the `latest` links left out)."""
    runs: dict[str, Path] = {}
    for base in dirs:
        if not base.is_dir():
            continue
        for depth in range(1, MAX_DEPTH + 1):
            for path in base.glob("/".join(["*"] * depth) + f"/{RESULTS}"):
                if "latest" in path.relative_to(base).parts or not path.is_file():
                    continue
                runs[hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]] = path
    return runs


def _load(run_id: str, path: Path) -> Run | None:
    try:
        data = _check(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, BadForm):
        return None
    return Run(run_id, str(path.parent), data, path.stat().st_mtime)


def _runs(request: Request) -> list[Run]:
    found = [_load(i, p) for i, p in _found(state(request).eval_dirs).items()]
    return sorted([r for r in found if r] + list(state(request).uploads.values()), key=lambda r: r.when, reverse=True)


def _run(request: Request, run_id: str) -> Run:
    uploaded = state(request).uploads
    if run_id in uploaded:
        return uploaded[run_id]
    path = _found(state(request).eval_dirs).get(run_id)
    run = _load(run_id, path) if path else None
    if run is None:
        dirs = ", ".join(str(d) for d in state(request).eval_dirs) or "none"
        raise BadForm(f"no evaluation run {run_id!r} under the console's evaluation folders ({dirs}) or uploaded", 404)
    return run


def chart(modes: list[dict[str, Any]]) -> dict[str, Any]:
    """Bar heights of success rate and tokens per task, for the page's inline SVG."""
    top_tokens = max([m.get("tokens_per_task", 0) for m in modes] + [1])
    return {
        "bars": [
            {
                "mode": m.get("mode", "?"),
                "success": float(m.get("success_rate", 0.0)),
                "tokens": float(m.get("tokens_per_task", 0.0)),
                "tokens_share": float(m.get("tokens_per_task", 0.0)) / top_tokens,
            }
            for m in modes
        ]
    }


async def evaluations(request: Request) -> Response:
    dirs = state(request).eval_dirs
    return render(request, "evaluations.html", runs=_runs(request), dirs=[str(d) for d in dirs])


async def upload(request: Request) -> Response:
    form = await checked_form(request)
    file = form.get("results")
    if file is None or isinstance(file, str):
        raise BadForm("results: choose a results.json file")
    raw = await file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise BadForm(f"results: larger than {MAX_UPLOAD} bytes", 413)
    try:
        data = _check(json.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, ValueError):
        raise BadForm("results: not a JSON file") from None
    run_id = "u" + hashlib.sha256(raw).hexdigest()[:15]
    state(request).uploads[run_id] = Run(run_id, "uploaded", data, time.time())
    return redirect(request, f"/evaluations/{run_id}")


async def run_page(request: Request) -> Response:
    run = _run(request, request.path_params["run_id"])
    tasks = run.data.get("tasks", [])
    verdict = request.query_params.get("status", "")
    shown = [(i, t) for i, t in enumerate(tasks) if not verdict or t.get("status") == verdict]
    return render(request, "evaluation.html", run=run, chart=chart(run.data["modes"]), tasks=shown, verdict=verdict)


async def task_page(request: Request) -> Response:
    run = _run(request, request.path_params["run_id"])
    index = request.path_params["index"]
    tasks = run.data.get("tasks", [])
    if not 0 <= index < len(tasks):
        raise BadForm(f"run {run.id} has no task {index}", 404)
    return render(request, "eval_task.html", run=run, task=tasks[index], index=index)


routes = [
    Route("/evaluations", evaluations, methods=["GET"]),
    Route("/evaluations", upload, methods=["POST"]),
    Route("/evaluations/{run_id}", run_page, methods=["GET"]),
    Route("/evaluations/{run_id}/tasks/{index:int}", task_page, methods=["GET"]),
]
