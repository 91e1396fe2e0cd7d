"""`lbi runner build-rootfs`: prepares the root file system shell, repo and desktop sessions run on (and, with
`--desktop`, the desktop environment's package layer over it)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from lbi.config import RunnerSettings
from lbi.errors import ServiceError

console = Console()


def build_rootfs(
    source: Path | None = typer.Option(
        None,
        "--from",
        help="An unpacked root folder of your own (a container image's "
        "file system) to prepare instead of building Debian from packages.",
    ),
    name: str = typer.Option(
        "",
        "--name",
        help="Name of the prepared image (needed with --from); sessions select it with "
        "config.image, or every session with LBI_RUNNER_IMAGE.",
    ),
    desktop: bool = typer.Option(
        False,
        "--desktop",
        help="Also build the desktop environment's layer (X server, accessibility, the default applications; "
        "about a minute, with the network) so desktop sessions start offline.",
    ),
    apps: str = typer.Option(
        "",
        "--apps",
        help="With --desktop: a layer holding the desktop and these applications too, built ahead of time "
        "(comma-separated: libreoffice, chromium, gimp, vlc, thunderbird, jupyter and dbt (Spider2-V's conda envs, "
        "as pip requirements), a profile such as osworld or spider2v, or Debian package names). A session whose "
        "config.packages and config.pip it holds uses it as it is.",
    ),
) -> None:
    """Build (once; later calls reuse it) the sessions' root file system: a minimal Debian with common tools,
    from Debian's packages, under LBI_RUNNER_ROOTFS_DIR (default <data dir>/rootfs). Needs root and debootstrap."""
    from env_runners.shell import rootfs

    settings = RunnerSettings()
    try:
        if source is not None:
            if not name:
                raise typer.BadParameter("--name is required with --from")
            image = rootfs.import_image(
                settings.rootfs_dir,
                name,
                source,
                settings.runner_sandbox_uid_base,
                settings.runner_sandbox_id_count,
                log=console.print,
            )
        else:
            image = rootfs.build_debian(
                settings.rootfs_dir,
                settings.runner_sandbox_uid_base,
                settings.runner_sandbox_id_count,
                log=console.print,
            )
    except ServiceError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    facts = {k: image.manifest.get(k) for k in ("uid_base", "id_count", "size_bytes", "build_seconds", "source")}
    console.print(f"image {image.name} at {image.root}: {json.dumps(facts)}")
    if desktop:
        from env_runners.desktop.environment import DesktopEnvironment, ahead_config

        try:
            config = ahead_config(apps.split(","))
            if config.packages or config.pip:
                console.print(
                    f"the desktop layer with {', '.join(config.packages + config.pip)} "
                    "(built once: minutes the first time) ..."
                )
            root = DesktopEnvironment(settings).root_for(config, wait_s=None)
        except ServiceError as exc:
            console.print(f"[red]error:[/red] the desktop layer: {exc}")
            raise typer.Exit(1) from None
        console.print(f"desktop layer at {root.lowers[0]}")
    elif apps:
        raise typer.BadParameter("--apps builds a desktop layer: add --desktop")
