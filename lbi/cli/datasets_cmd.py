"""`lbi datasets list|describe|delete|migrate|index` and `lbi export`: datasets in the configured store."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
from collections.abc import AsyncIterator
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from lbi.config import CommonSettings
from lbi.dataset import DatasetStore

console = Console()
app = typer.Typer(help="Datasets of kept examples.", no_args_is_help=True)


@contextlib.asynccontextmanager
async def _datasets() -> AsyncIterator[DatasetStore]:
    from lbi.embedding import Embedder
    from lbi.store import open_store

    settings = CommonSettings()
    store = open_store(settings)
    try:
        yield DatasetStore(store, Embedder.from_settings(settings))
    finally:
        await store.close()


def _run(coro) -> None:
    from lbi.store import CollectionNotFound

    try:
        asyncio.run(coro)
    except CollectionNotFound as exc:
        console.print(f"[red]NOT_FOUND[/red]: no dataset ({exc})")
        raise typer.Exit(1) from None


@app.command("migrate")
def migrate(dataset: str = typer.Argument(..., help="Dataset name.")) -> None:
    """Rebuilds a dataset's steps index in the current layout (one point per distinct state) from its examples."""

    async def main() -> None:
        async with _datasets() as datasets:
            examples, states = await datasets.migrate(dataset)
            console.print(f"{dataset}: {examples} examples, {states} distinct states indexed")

    _run(main())


@app.command("index")
def index(dataset: str = typer.Argument(..., help="Dataset name.")) -> None:
    """Builds the HNSW index of a dataset's examples and steps now and waits for it (embedded store; it also does so by
    itself once writes pause). Beside a running service that owns the store it cannot open it: that service indexes."""
    from lbi.dataset import EXAMPLES, STEPS, collection
    from lbi.store import StoreUnavailable
    from lbi.store.edge import EdgeStore
    from lbi.store.edge_index import IndexBuildFailed

    async def main() -> None:
        async with _datasets() as datasets:
            await datasets.describe(dataset)
            if not isinstance(datasets.store, EdgeStore):
                console.print("a Qdrant server builds its indexes itself: nothing to do")
                return
            for name in (collection(dataset, EXAMPLES), collection(dataset, STEPS)):
                started = time.monotonic()
                built = await datasets.store.index(name)
                outcome = "indexed" if built else "not indexed yet: writes kept coming (it is indexed once they pause)"
                console.print(f"{name}: {outcome} ({time.monotonic() - started:.1f}s)")

    try:
        _run(main())
    except StoreUnavailable as exc:
        console.print(
            f"[red]UNAVAILABLE[/red]: {exc} (when a service uses this data directory, it indexes the dataset itself "
            "once writes pause)"
        )
        raise typer.Exit(1) from None
    except IndexBuildFailed as exc:
        console.print(f"[red]FAILED[/red]: {exc}; the searches stay exact")
        raise typer.Exit(1) from None


@app.command("list")
def list_datasets() -> None:
    """Datasets with their sizes."""

    async def main() -> None:
        async with _datasets() as datasets:
            table = Table("name", "examples", "steps", "environments", "jobs", "created")
            for name in await datasets.list():
                info = await datasets.describe(name)
                created = (
                    datetime.datetime.fromtimestamp(info.created_at).isoformat(timespec="seconds")
                    if info.created_at
                    else ""
                )
                table.add_row(
                    name, str(info.examples), str(info.steps), ", ".join(info.envs), ", ".join(info.jobs), created
                )
            console.print(table)

    _run(main())


@app.command("describe")
def describe(dataset: str = typer.Argument(..., help="Dataset name.")) -> None:
    """Counts, embedding model and provenance of one dataset."""

    async def main() -> None:
        async with _datasets() as datasets:
            info = await datasets.describe(dataset)
            console.print_json(
                data={
                    **info.__dict__,
                    "offline_examples": info.examples - info.online_examples,
                    "online": _online_summary(dataset),
                }
            )

    _run(main())


def _online_summary(dataset: str) -> dict:
    """The dataset's online job as this data directory's synthesis journal records it (empty when it has none)."""
    from synth_service.config import SynthSettings
    from synth_service.journal import Journal, journal_location
    from synth_service.online.learner import OnlineStats

    where = journal_location(SynthSettings())
    if isinstance(where, Path) and not where.exists():
        return {}
    journal = Journal(where)
    try:
        stats = OnlineStats.from_journal(journal, dataset)
    finally:
        journal.close()
    return stats.summary() if stats.received else {}


@app.command("delete")
def delete(
    dataset: str = typer.Argument(..., help="Dataset name."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask."),
) -> None:
    """Delete a dataset's collections."""
    if not yes:
        typer.confirm(f"delete dataset {dataset}?", abort=True)

    async def main() -> None:
        async with _datasets() as datasets:
            await datasets.describe(dataset)
            await datasets.delete(dataset)
            console.print(f"deleted {dataset}")

    _run(main())


def export_command(
    dataset: str = typer.Option(..., "--dataset", help="Dataset name."),
    fmt: str = typer.Option("chat-jsonl", "--format", help="chat-jsonl | sharegpt | hf"),
    out: Path = typer.Option(..., "--out", help="Output file (JSONL formats) or folder (hf)."),
    origin: list[str] | None = typer.Option(None, "--origin", help="Only these origins (repeatable)."),
    kept_only: bool = typer.Option(True, "--kept-only/--all", help="Only kept examples."),
) -> None:
    """Export a dataset as fine-tuning conversations."""
    from lbi.export import FORMATS, export

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")

    async def main() -> None:
        async with _datasets() as datasets:
            await datasets.describe(dataset)
            from env_runners.registry import action_space

            stats = await export(datasets, dataset, fmt, out, origin or [], kept_only, action_space)
        table = Table("figure", "value", title=f"exported {dataset} as {fmt} to {out}")
        table.add_row("examples", str(stats.examples))
        table.add_row("turns", str(stats.turns))
        for name, count in sorted(stats.by_origin.items()):
            table.add_row(f"origin {name}", str(count))
        for name, count in sorted(stats.by_env.items()):
            table.add_row(f"env {name}", str(count))
        console.print(table)

    _run(main())
