"""Evaluations: the runs `lbi eval` wrote (found under the console's evaluation folders, `results.json` per run) or
uploaded here, each with its per-mode table and chart and every task's verdict with its episode.

Runs are named by an id the console gives them when it lists the folders; a request never names a file, so no
request can make the console open anything but the runs it found. A run found on disk is shown only to a token that
reads its dataset (the `dataset` its results.json names; a run naming none only to a token that reads every dataset);
an uploaded run only to the session that uploaded it (uploads.py).
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

from lbi.auth import Grant
from web_console.uploads import MAX_UPLOAD_BYTES, Upload, UploadRefused, limits
from web_console.web import BadForm, checked_form, redirect, render, session_of, state

MAX_DEPTH = 4
FORM_OVERHEAD = 64 << 10  # the upload form's other fields and multipart framing
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


def readable(grant: Grant, data: dict[str, Any]) -> bool:
    """Whether a token may read a run: it reads the run's dataset, or every dataset when the run names none."""
    dataset = data.get("dataset")
    if isinstance(dataset, str) and dataset:
        return grant.allows(dataset)
    return grant.datasets is None


def _uploaded(upload: Upload, full: bool) -> Run:
    data = json.loads(upload.raw) if full else upload.summary
    return Run(upload.id, "uploaded", data, upload.when)


def _runs(request: Request) -> list[Run]:
    session = session_of(request)
    found = [_load(i, p) for i, p in _found(state(request).eval_dirs).items()]
    shown = [r for r in found if r and readable(session.grant, r.data)]
    state(request).uploads.prune()
    shown += [_uploaded(u, full=False) for u in state(request).uploads.of(session.id)]
    return sorted(shown, key=lambda r: r.when, reverse=True)


def _run(request: Request, run_id: str) -> Run:
    session = session_of(request)
    upload = state(request).uploads.get(session.id, run_id)
    if upload is not None:
        return _uploaded(upload, full=True)
    path = _found(state(request).eval_dirs).get(run_id)
    run = _load(run_id, path) if path else None
    if run is None or not readable(session.grant, run.data):  # another tenant's run is not there for this one
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
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_UPLOAD_BYTES + FORM_OVERHEAD:  # refused before it is read
        raise BadForm(f"results: the upload must state its length and be at most {limits()}", 413)
    form = await checked_form(request)
    file = form.get("results")
    if file is None or isinstance(file, str):
        raise BadForm("results: choose a results.json file")
    raw = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise BadForm(f"results: larger than {MAX_UPLOAD_BYTES >> 20} MiB ({limits()})", 413)
    try:
        data = _check(json.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, ValueError):
        raise BadForm("results: not a JSON file") from None
    try:
        session = session_of(request)
        upload = state(request).uploads.add(session.id, session.grant.tenant, raw, data, time.time())
    except UploadRefused as exc:
        raise BadForm(f"results: {exc}", 413) from None
    return redirect(request, f"/evaluations/{upload.id}")


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
