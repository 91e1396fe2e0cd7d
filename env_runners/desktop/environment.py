"""The `desktop` environment: real desktop applications in a sandboxed X session, observed through accessibility.

A session is the shell environment's sandbox (its own Debian root file system, user namespace, no network) over
a cached package layer holding the desktop (Xvfb, D-Bus, AT-SPI, openbox, xdotool, pyautogui) and the default
applications; `config.packages` adds more (e.g. `libreoffice-calc`). The observation is the accessibility tree
of the open windows (session.py, inside.py); actions are commands or pyautogui code (actions.py); checks are
OSWorld-style evaluators (checks.py); discovery crawls the running applications (discover.py).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from env_runners.answers import AnswerCheck, answer_of, answer_verdict
from env_runners.base import Check, EnvConfig, Environment, Turn, Verdict
from env_runners.desktop.apps import (
    address_space_mb,
    apps_for,
    packages_of,
    requirements_of,
    with_companions,
)
from env_runners.desktop.checks import (
    FILE_CAP,
    A11yCheck,
    FileCheck,
    OSWorldCheck,
    ShellOutputCheck,
    cells_verdict,
    parse_csv,
    parse_sheets,
    rows_verdict,
    sheets_command,
    text_verdict,
)
from env_runners.desktop.getters import verdict as osworld_verdict
from env_runners.desktop.session import DesktopSession
from env_runners.desktop.task_start import TravelingFile
from env_runners.shell.environment import ShellConfig, ShellEnvironment
from env_runners.shell.layers import ensure_layer_within, validate
from env_runners.shell.rootfs import require_image
from env_runners.shell.sandbox import Root
from lbi.errors import FailedPrecondition, InvalidArgument
from lbi.ingest import resources_from_files
from lbi.records import Resource

DOCS_DIR = Path(__file__).parent / "docs"
# The desktop layer: the X server, buses and window manager, the input tools, and the default applications.
DESKTOP_PACKAGES = [
    "xvfb",
    "openbox",
    "at-spi2-core",
    "python3-pyatspi",
    "dbus-x11",
    "xdotool",
    "x11-utils",
    "python3-xlib",
    "python3-pil",
    "python3-tk",  # pyautogui's import of mouseinfo exits without tkinter
    "mousepad",
    "gnumeric",
    "thunar",
    "lxterminal",
]
DESKTOP_PIP = ["pyautogui==0.9.54"]
DEFAULT_APPS = ["mousepad", "gnumeric", "thunar", "lxterminal"]
# How long opening a session waits for a layer being built before it says so (the client's deadline is ~60 s).
LAYER_WAIT_S = 20.0
SPREADSHEET_SUFFIXES = (".ods", ".xlsx", ".xls", ".gnumeric", ".xlsm", ".fods")


class DesktopConfig(EnvConfig):
    apps: list[str] = Field(
        default_factory=lambda: list(DEFAULT_APPS),
        description=(
            "Applications started in the session, each a command line (e.g. 'gnumeric /home/agent/sales.csv'); "
            "default: a text editor, a spreadsheet, a file manager and a terminal."
        ),
    )
    setup: str = Field("", description="Bash run before the applications start (prepares the task's files).")
    files: list[TravelingFile] = Field(
        default_factory=list, description="Files sent with the session (by sha256), put in place before the setup."
    )
    then: str = Field("", description="Bash run once the applications show (a hotkey, a window to activate).")
    packages: list[str] = Field(
        default_factory=list, description="Extra Debian packages (e.g. libreoffice-calc), in a cached layer."
    )
    pip: list[str] = Field(default_factory=list, description="Extra Python requirements, in a cached layer.")
    width: int = Field(1280, ge=320, le=3840, description="Screen width in pixels.")
    height: int = Field(800, ge=240, le=2160, description="Screen height in pixels.")
    screenshots: bool = Field(False, description="Attach a PNG screenshot to each step's info (screenshot_png).")
    observation_cap: int = Field(7000, ge=500, le=200_000, description="Characters of the tree kept (head and tail).")
    settle_s: float = Field(0.4, ge=0, le=5, description="Pause after an action before the tree is read.")
    start_timeout_s: float = Field(30.0, gt=0, le=300, description="Longest the applications may take to show.")
    memory_mb: int = Field(4096, ge=256, le=65536, description="Address-space limit per process, MiB.")
    cpu_s: int = Field(900, ge=10, le=7200, description="CPU-time limit per process, seconds.")
    disk_mb: int = Field(1024, ge=64, le=65536, description="Disk quota of the session, MiB (memory-backed).")
    processes: int = Field(512, ge=64, le=4096, description="Processes the session may run at once.")
    timeout_s: float | None = Field(None, gt=0, le=600, description="Longest one action may take (default 5s).")


def layer_asked(config: DesktopConfig) -> tuple[list[str], list[str]]:
    """The Debian packages and pip requirements of the layer a session of `config` runs on: the one built for exactly
    them, else the smallest built before holding them all (layers.built_layer)."""
    return with_companions(sorted({*DESKTOP_PACKAGES, *config.packages})), DESKTOP_PIP + config.pip


def ahead_config(apps: list[str]) -> DesktopConfig:
    """The config whose layer `lbi runner build-rootfs --desktop --apps ...` builds ahead of time."""
    return DesktopConfig(packages=packages_of(apps), pip=requirements_of(apps))


class DesktopEnvironment(Environment[DesktopConfig, DesktopSession]):
    name = "desktop"
    description = (
        "A Linux desktop (openbox on X) with real applications: a text editor (Mousepad), a spreadsheet "
        "(Gnumeric), a file manager (Thunar) and a terminal (LXTerminal), observed through the accessibility "
        "tree. Files live in /home/agent."
    )
    action_space = (
        "One action per step, as a command or as pyautogui code. Commands: click [id], double_click [id], "
        'right_click [id], click X Y, type [id] "text", type "text" (into the focused element; "\\n" is Enter), '
        "hotkey ctrl+s, press Enter (or press Down 3), scroll up|down [id] [N], drag X1 Y1 X2 Y2, wait S, "
        "done [answer], fail. [id] is an element's number in the observation; [Name] (its name, unless it is a "
        "number) works too. "
        "Or OSWorld's form: a ```python block calling pyautogui (click, write, hotkey, press, ...), run in the "
        "session. The observation lists the open windows (the active one first) and their elements: role, "
        '"name", text, states and position; actionable elements carry an [id].'
    )
    config_model = DesktopConfig
    checks: ClassVar[dict[str, type[Check]]] = {
        "file": FileCheck,
        "a11y": A11yCheck,
        "shell": ShellOutputCheck,
        "answer_match": AnswerCheck,
        "osworld": OSWorldCheck,
    }

    def __init__(self, settings):
        super().__init__(settings)
        self.shells = ShellEnvironment(settings)  # the sandbox, its image and its layers

    def notes(self) -> list[str]:
        if not self.shells.sandboxed or self.shells.refusal:
            return ["refused: desktop sessions need the shell environment's sandbox, which this runner lacks"]
        return [
            "desktop: Xvfb, D-Bus, AT-SPI and openbox inside each session's sandbox (never the host's X or D-Bus); "
            f"layer of {len(DESKTOP_PACKAGES)} packages over the shell image, built on first use or with "
            "`lbi runner build-rootfs --desktop`; a session with the four default applications needs about "
            "350 MiB of memory"
        ]

    def root_for(self, config: DesktopConfig, wait_s: float | None = LAYER_WAIT_S) -> Root:
        """The session's root: the image under the layer of the desktop and the config's packages (built ahead of
        time, or now: a build longer than `wait_s` goes on in the background and the session is refused, UNAVAILABLE,
        saying so)."""
        if self.shells.refusal:
            raise FailedPrecondition(self.shells.refusal)
        if not self.shells.sandboxed:
            raise FailedPrecondition("desktop sessions need the sandbox (a root runner with bubblewrap)")
        validate(config.packages, config.pip)  # the config's own lists, so an error names their index
        image = require_image(self.settings.rootfs_dir, self.shells.image_name)
        apps = apps_for(config.packages, config.pip)
        layer = ensure_layer_within(
            self.settings.layers_dir,
            image,
            *layer_asked(config),
            wait_s,
            "lbi runner build-rootfs --desktop" + (f" --apps {','.join(apps)}" if apps else ""),
            prebuilt=(self.settings.rootfs_dir / "layers",),  # built into a runner image by build-rootfs --desktop
        )
        return Root.of(image, layer)

    def _shell_config(self, config: DesktopConfig) -> ShellConfig:
        limit = self.settings.runner_step_timeout_s
        if config.timeout_s is not None and config.timeout_s >= limit:
            raise InvalidArgument("config.timeout_s", f"must be below the runner's step timeout ({limit:g}s)")
        shell = ShellConfig(
            setup=config.setup,
            timeout_s=config.timeout_s or min(5.0, 0.8 * limit),
            output_cap=200_000,
            memory_mb=config.memory_mb,
            cpu_s=config.cpu_s,
            disk_mb=config.disk_mb,
            processes=config.processes,
        )
        reserving = address_space_mb(config.apps, config.packages)
        # past ShellConfig's bound on purpose: an application that reserves more than it uses cannot start under it
        return shell.model_copy(update={"memory_mb": reserving}) if reserving > config.memory_mb else shell

    def open(self, config: DesktopConfig) -> DesktopSession:
        return DesktopSession(config, self._shell_config(config), self.root_for(config))

    def open_with_files(self, config: DesktopConfig, files: dict[str, bytes]) -> DesktopSession:
        return DesktopSession(config, self._shell_config(config), self.root_for(config), files)

    def resources(self, config: DesktopConfig) -> Iterable[Resource]:
        from env_runners.desktop.discover import discover

        resources = resources_from_files(self.name, sorted(DOCS_DIR.glob("*.md")))
        session = self.open(config)
        try:
            return resources + discover(session, self.name)
        finally:
            session.close()

    def judge(self, session: DesktopSession, check: Check, turns: list[Turn], answer: str) -> Verdict:
        if isinstance(check, AnswerCheck):
            return answer_verdict(check, answer_of(turns, answer))
        if isinstance(check, OSWorldCheck):
            return osworld_verdict(session, check.evaluator, check.postconfig, turns)
        if isinstance(check, A11yCheck):
            query = check.model_dump(exclude={"kind", "present"})
            try:
                reply = session.judge_call({"op": "find", **query}, 30.0)
            except OSError as exc:
                return Verdict(False, f"the accessibility tree could not be read: {exc}", True)
            if "error" in reply:
                return Verdict(False, f"the accessibility tree could not be read: {reply['error'][:200]}", True)
            found = reply.get("found") or []
            described = f"an element like {query_text(check)}"
            if check.present:
                return Verdict(bool(found), f"{described} {'exists' if found else 'does not exist'}")
            return Verdict(not found, f"{described} {'still exists' if found else 'is gone'}")
        if isinstance(check, ShellOutputCheck):
            code, output = session.judge_run(f"cd ~ && {{ {check.command}\n}}", 30.0, FILE_CAP)
            if check.exit_code is not None and code != check.exit_code:
                return Verdict(False, f"the command exited with {code}, expected {check.exit_code}")
            if check.equals is None and not check.contains and check.regex is None and not check.excludes:
                return Verdict(True, f"the command exited with {code}")
            return text_verdict(
                "the command's output", output, check.equals, check.contains, check.regex, check.excludes
            )
        assert isinstance(check, FileCheck)
        return self._file_verdict(session, check)

    def _file_verdict(self, session: DesktopSession, check: FileCheck) -> Verdict:
        path = shlex.quote(check.path)
        exists = session.judge_run(f"cd ~ && test -f {path}", 10.0, 1000)[0] == 0
        if not check.exists:
            return Verdict(not exists, f"{check.path} {'exists' if exists else 'does not exist'}")
        if not exists:
            return Verdict(False, f"{check.path} does not exist")
        if check.cells or (check.rows is not None and check.path.lower().endswith(SPREADSHEET_SUFFIXES)):
            code, output = session.judge_run(sheets_command(check.path), 60.0, FILE_CAP)
            if code != 0:
                return Verdict(False, f"{check.path} could not be read as a spreadsheet: {output.strip()[-200:]}")
            sheets, order = parse_sheets(output)
            if check.cells:
                verdict = cells_verdict(sheets, order, check.cells)
                if not verdict.ok or check.rows is None:
                    return verdict
            return rows_verdict(sheets[order[0]] if order else [], check.rows or [])
        code, text = session.judge_run(f"cd ~ && cat -- {path}", 30.0, FILE_CAP)
        if code != 0:
            return Verdict(False, f"{check.path} could not be read: {text.strip()[-200:]}")
        if check.rows is not None:
            return rows_verdict(parse_csv(text), check.rows)
        return text_verdict(check.path, text, check.equals, check.contains, check.regex)


def query_text(check: A11yCheck) -> str:
    parts = [f"{k}={v!r}" for k, v in (("role", check.role), ("name", check.name), ("text", check.text)) if v]
    if check.states:
        parts.append(f"states={check.states}")
    if check.app:
        parts.append(f"app={check.app!r}")
    return "(" + ", ".join(parts) + ")"
