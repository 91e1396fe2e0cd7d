"""`lbi synth serve` and `lbi synth run`: synthesis jobs, in this process or on a synthesis server."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import grpc
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lbi.cli.local_runner import launch_runner
from lbi.cli.serve_cmd import wait_for_signal
from lbi.errors import ServiceError
from synth_service.stages.names import PIPELINE

console = Console(stderr=True)
app = typer.Typer(help="Synthesis jobs (Learn-by-interact, Algorithm 1).", no_args_is_help=True)


def print_stats(job: dict[str, Any]) -> None:
    """The paper's Table 1 for one job, plus LLM calls, tokens and wall time per stage."""
    s = job["stats"]
    table = Table(title=f"job {job['id']}: {job['state']}" + (f" ({job['error']})" if job.get("error") else ""))
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("resources", s["resources"]),
        ("instructions", s["instructions"]),
        ("raw trajectories", s["trajectories"]),
        ("failed rollouts", s["failed_rollouts"]),
    ]
    rows += [(f"candidates: {k}", v) for k, v in s["candidates"].items()]
    rows += [("label failures", s.get("label_failures", 0))]
    rows += [
        ("kept", s["kept"]),
        ("dropped", s["dropped"]),
        ("kept fraction", f"{s['kept_fraction']:.1%}"),
        ("ingested", s["ingested"]),
        ("LLM calls", s["llm_calls"]),
        ("tokens", s["tokens"]),
        ("cost (USD)", f"{s['cost_usd']:.4f}"),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    stages = Table("stage", "LLM calls", "tokens", "wall s", title="per stage")
    for name, f in s["stages"].items():
        stages.add_row(name, str(f["llm_calls"]), str(f["tokens"]), f"{f['wall_seconds']:.1f}")
    console.print(stages)
    if s.get("yields"):
        kinds = Table("resource kind", "resources", "tasks", "kept", title="yield per resource kind")
        for kind, y in s["yields"].items():
            kinds.add_row(kind, str(y["resources"]), str(y["instructions"]), str(y["kept"]))
        console.print(kinds)
    if s.get("llm_failures"):
        failures = Table("stage", "role", "kind", "count", "first reason", title="LLM calls that failed")
        for f in s["llm_failures"]:
            failures.add_row(f["stage"], f["role"], f["kind"], str(f["count"]), escape(f["first_reason"][:160]))
        console.print(failures)


def _job_json(job: dict[str, Any]) -> dict[str, Any]:
    stats = job["stats"].to_dict()
    return {
        "job_id": job["id"],
        "state": job["state"],
        "error": job["error"],
        "dataset": job["spec"]["dataset"],
        "stats": stats,
    }


async def run_with_progress(engine: Any, job_id: str, show: bool) -> dict[str, Any]:
    """Runs (or resumes) a job in the engine with a progress bar per stage; returns the finished job."""
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
    ) as progress:
        bars = {name: progress.add_task(name, total=None) for name in PIPELINE}

        async def follow() -> None:
            async for event in engine.watch(job_id):
                stage = event.get("stage")
                if stage in bars and "total" in event:
                    progress.update(bars[stage], completed=event["done"], total=event["total"])

        watcher = asyncio.create_task(follow())
        await asyncio.sleep(0)
        job = await engine.run(job_id)
        watcher.cancel()
    return job


async def _run_local(spec_data: dict[str, Any], show_progress: bool) -> dict[str, Any]:
    from lbi.store import open_store
    from synth_service.config import SynthSettings
    from synth_service.engine import Engine
    from synth_service.spec import spec_from_dict

    settings = SynthSettings()
    spec = spec_from_dict(spec_data)
    store = open_store(settings)
    engine = Engine(settings, store, launch_runner=launch_runner)
    try:
        await engine.probe(spec)  # a refused environment config fails here, before the job exists
        job = await run_with_progress(engine, engine.create(spec), show_progress)
        return {**_job_json(job), "llm_calls_this_run": engine.gateway.meter.total().calls}
    finally:
        await engine.close()
        await store.close()


async def _run_remote(target: str, spec_data: dict[str, Any]) -> dict[str, Any]:
    from google.protobuf import json_format

    from lbi.clients.channel import open_channel
    from lbi.v1 import synthesis_pb2 as pb
    from lbi.v1 import synthesis_pb2_grpc
    from synth_service.spec import spec_from_dict

    spec = spec_from_dict(spec_data)
    async with open_channel(target) as channel:
        stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)
        job = await stub.CreateJob(pb.CreateJobRequest(spec=spec.to_proto()))
        async for event in stub.WatchJob(pb.WatchJobRequest(job_id=job.id)):
            console.print(
                f"{pb.JobState.Name(event.state)} {pb.Stage.Name(event.stage)} {event.done}/{event.total} "
                f"kept {event.kept} calls {event.llm_calls} {event.message}"
            )
        job = await stub.GetJob(pb.GetJobRequest(job_id=job.id))
    s = job.stats
    stats = {
        "resources": s.resources,
        "instructions": s.instructions,
        "trajectories": s.trajectories,
        "candidates": {
            "forward": s.candidates_forward,
            "backward-task": s.candidates_backward_task,
            "backward-summary": s.candidates_backward_summary,
        },
        "failed_rollouts": s.failed_rollouts,
        "label_failures": s.label_failures,
        "kept": s.kept,
        "dropped": s.dropped,
        "llm_calls": s.llm_calls,
        "tokens": s.tokens,
        "cost_usd": s.cost_usd,
        "stages": {
            pb.Stage.Name(x.stage).removeprefix("STAGE_").lower(): json_format.MessageToDict(x) for x in s.stages
        },
        "yields": {
            y.kind: {"resources": y.resources, "instructions": y.instructions, "kept": y.kept} for y in s.yields
        },
        "llm_failures": [
            {"stage": f.stage, "role": f.role, "kind": f.kind, "count": f.count, "first_reason": f.first_reason}
            for f in s.llm_failures
        ],
    }
    return {
        "job_id": job.id,
        "state": pb.JobState.Name(job.state).removeprefix("JOB_STATE_"),
        "error": job.error,
        "dataset": spec.dataset,
        "stats": stats,
    }


@app.command("run")
def run(
    env: str | None = typer.Option(None, "--env", help="Environment name (e.g. sql)."),
    spec_file: Path | None = typer.Option(None, "--spec", help="YAML job spec; flags override its fields."),
    config: str = typer.Option(
        "", "--config", help="The environment's session config as JSON (sql: database path, ...)."
    ),
    resources: list[Path] | None = typer.Option(
        None, "--resources", help="Docs files/folders replacing the environment's own."
    ),
    dataset: str | None = typer.Option(None, "--dataset", help="Dataset to write (default 'default')."),
    per_resource: int | None = typer.Option(
        None, "--instructions-per-resource", help="Tasks per resource (default 3)."
    ),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Most actions per rollout (default 10)."),
    backward: str | None = typer.Option(None, "--backward", help="paper | window | batched (default paper)."),
    window: int | None = typer.Option(None, "--window", help="Span length limit for --backward window."),
    policy: str | None = typer.Option(None, "--filter", help="strict | relaxed (default strict)."),
    budget_calls: int | None = typer.Option(None, "--budget-calls", help="Stop cleanly after this many LLM calls."),
    runner: list[str] | None = typer.Option(
        None, "--runner", help="env-runner endpoint (repeatable); default: a local runner."
    ),
    runner_pods: int | None = typer.Option(
        None, "--runner-pods", help="On Kubernetes: runner pods made for this job (the server's template)."
    ),
    server: str = typer.Option(
        "", "--server", help="Run on this synthesis server (host:port) instead of in this process."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Run (or resume: the same spec is the same job) a synthesis job and print its statistics."""
    from synth_service.spec import spec_from_yaml

    data: dict[str, Any] = spec_from_yaml(spec_file) if spec_file else {}
    flags = {
        "env": env,
        "dataset": dataset,
        "instructions_per_resource": per_resource,
        "max_steps": max_steps,
        "backward_mode": backward,
        "backward_window": window,
        "filter_policy": policy,
        "max_llm_calls": budget_calls,
        "resource_paths": [str(p) for p in resources] if resources else None,
        "runner_endpoints": runner or None,
        "env_config": json.loads(config) if config else None,
    }
    data.update({k: v for k, v in flags.items() if v is not None})
    if runner_pods is not None:
        data["runners"] = {**data.get("runners", {}), "replicas": runner_pods}
    logging.basicConfig(level="WARNING")
    try:
        result = asyncio.run(_run_remote(server, data) if server else _run_local(data, not as_json))
    except ServiceError as exc:
        console.print(f"[red]{exc.code.name}[/red]: {exc}")
        raise typer.Exit(2) from None
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]{exc.code().name}[/red]: {exc.details()}")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(result))
    elif not server:
        print_stats(
            {"id": result["job_id"], "state": result["state"], "error": result["error"], "stats": result["stats"]}
        )
    else:
        console.print_json(json.dumps(result))
    if result["state"] not in ("SUCCEEDED", "BUDGET_EXHAUSTED"):
        raise typer.Exit(1)


@app.command("serve")
def serve(port: int | None = typer.Option(None, "--port", help="Port (default LBI_SYNTH_PORT, 50053).")) -> None:
    """Serve synthesis jobs over gRPC (jobs without runner endpoints get a local runner)."""
    from synth_service.config import SynthSettings
    from synth_service.server import start_synthesis

    settings = SynthSettings()
    if port is not None:
        settings = settings.model_copy(update={"synth_port": port})
    logging.basicConfig(level=settings.log_level)

    async def main() -> None:
        server, engine = await start_synthesis(settings, launch_runner=launch_runner)
        console.print(f"synthesis service on {settings.synth_host}:{server.port}")
        await wait_for_signal()
        await engine.close()
        await server.stop(5)

    asyncio.run(main())
