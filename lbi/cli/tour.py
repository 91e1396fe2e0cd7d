"""`lbi tour`: a short scripted tour of the `sql` environment through a real env-runner.

It starts a runner on 127.0.0.1, shows the environment and its documentation, lets the LLM (the
offline backend unless LBI_LLM_MODEL names a real model) write tasks from three tutorial sections and
perform them step by step in isolated sessions, and prints what happened.
"""

from __future__ import annotations

import asyncio
import time

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from lbi.agent import Task, run_episode
from lbi.cli.local_runner import runner_client
from lbi.config import CommonSettings
from lbi.llm.gateway import LLMGateway
from lbi.llm.roles import Role
from lbi.records import Instruction, Step

console = Console()
TOUR_SECTIONS = ("Filtering rows with WHERE", "Top customers by revenue", "Reviews and ratings")


def _show_step(number: int, step: Step, observation: str) -> None:
    console.print(f"[bold cyan]action {number}[/bold cyan] [dim]({step.thought})[/dim]")
    console.print(step.action, markup=False, highlight=False)
    shown = observation if len(observation) < 900 else observation[:900] + "\n…"
    console.print(Panel(shown, style="red" if step.error else "green", expand=False))


async def _tour(max_steps: int) -> None:
    settings = CommonSettings()
    gateway = LLMGateway(settings)
    started = time.monotonic()
    async with runner_client(None) as runner:
        env = next(e for e in await runner.list_environments() if e.name == "sql")
        console.print(
            Panel(f"{env.description}\n\n[bold]Action space[/bold]: {env.action_space}", title="environment: sql")
        )
        resources = await runner.resources("sql")
        console.print(f"The runner streams [bold]{len(resources)}[/bold] documentation sections as resources.")
        chosen = [r for r in resources if r.title in TOUR_SECTIONS]
        table = Table("task", "actions", "outcome", "errors")
        for resource in chosen:
            tasks = (
                await gateway.call(
                    Role.SELF_INSTRUCT,
                    {
                        "env": "sql",
                        "env_description": env.description,
                        "resource_title": resource.title,
                        "resource_text": resource.text,
                        "n": 1,
                    },
                )
            ).output.tasks
            instruction = Instruction(resource.id, tasks[0])
            console.rule(
                f"[bold]{instruction.text}[/bold]  [dim](from '{resource.title}', model {settings.llm_model})[/dim]"
            )
            trajectory = await run_episode(
                gateway,
                runner,
                "sql",
                env.action_space,
                Task(instruction.id, instruction.text, resource.text),
                max_steps=max_steps,
                on_step=_show_step,
            )
            errors = sum(s.error for s in trajectory.steps)
            table.add_row(instruction.text, str(len(trajectory.steps)), trajectory.outcome.value, str(errors))
    usage = gateway.meter.total()
    console.print(table)
    console.print(f"LLM calls: {usage.calls}, tokens: {usage.tokens}, wall time: {time.monotonic() - started:.1f}s")


def tour(max_steps: int = typer.Option(8, "--max-steps", help="Most actions per task.")) -> None:
    """A scripted tour of the sql environment: tasks from its docs, performed by the agent through the runner."""
    asyncio.run(_tour(max_steps))
