"""The `shell` environment: a persistent bash per session (cd and variables persist), sandboxed.

An action is a bash command line (or several lines); the observation is its output (stdout and stderr,
cut with a marker past the cap), its exit code and the current directory. A command that runs past the
timeout is killed with its whole process group and the shell restarted (files kept, variables and
directory reset); the observation says so. Nothing here crashes the runner.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from pydantic import Field

from env_runners.base import EnvConfig, Environment, Session, StepResult
from env_runners.shell.sandbox import (
    Limits, Workspace, home_on_host, kill_user, reap_stale_workspaces, sandbox_available, session_uid, start_shell,
    user_processes,
)
from lbi.docs import resources_from_files
from lbi.errors import InvalidArgument
from lbi.records import Resource

DOCS_DIR = Path(__file__).parent / "docs"
DEFAULT_PAGES = ["ls", "cp", "mv", "rm", "mkdir", "find", "grep", "sed", "sort", "uniq", "wc", "head", "tail", "cut",
                 "tar", "chmod", "du", "xargs", "tr"]


class ShellConfig(EnvConfig):
    setup: str = Field("", description="Bash script run in the session before the first observation (prepares the task's files).")
    timeout_s: float | None = Field(None, gt=0, le=600, description="Longest one command may run before it is killed (default 5s, within the runner's step timeout).")
    output_cap: int = Field(4000, ge=100, le=1_000_000, description="Characters of output kept per command.")
    memory_mb: int = Field(1024, ge=64, le=65536, description="Address-space limit per process, MiB.")
    cpu_s: int = Field(30, ge=1, le=3600, description="CPU-time limit per process, seconds.")
    disk_mb: int = Field(1024, ge=16, le=65536, description="Disk quota of the session (its writable layer and /tmp), MiB; memory-backed (tmpfs) in sandbox mode.")
    as_root: bool = Field(False, description="Run as root inside the sandbox (no process limit without cgroups).")
    man_pages: list[str] = Field(default_factory=lambda: list(DEFAULT_PAGES), description="Manual pages offered as resources.")


def _give_to(folder: Path, uid: int) -> None:
    for path in (folder, *folder.rglob("*")):
        os.lchown(path, uid, uid)


class ShellSession(Session):
    """`prelude` runs silently at every shell start (definitions that must survive a restart); `setup` once."""

    def __init__(self, config: ShellConfig, sandboxed: bool, prelude: str = "", seed: dict[str, Path] | None = None,
                 ro_binds: tuple[Path, ...] = ()):
        self.config = config
        self.sandboxed = sandboxed
        self.prelude = prelude
        self.ro_binds = ro_binds
        self.workspace = Workspace(config.disk_mb if sandboxed else 0)
        self.uid = session_uid() if sandboxed and not config.as_root else 0  # 0: no user of its own
        home = home_on_host(self.workspace, config.as_root, sandboxed)
        self.limits = Limits(config.memory_mb, config.cpu_s, processes=256, file_mb=256)
        self.marker = f"__lbi_{uuid.uuid4().hex}__"
        try:
            for name, source in (seed or {}).items():  # copied in from the host side: the sandbox does not see /tmp
                shutil.copytree(source, home / name, symlinks=True)
                if self.uid:
                    _give_to(home / name, self.uid)
            self.process = self._start()
        except BaseException:
            self.workspace.remove()
            raise
        if config.setup:
            result = self.step(config.setup)
            if result.error:
                self.close()
                raise InvalidArgument("config.setup", result.observation.splitlines()[-1] if result.observation else "failed")

    def _start(self) -> subprocess.Popen:
        process = start_shell(self.workspace, self.limits, self.config.as_root, self.sandboxed, self.ro_binds, self.uid)
        if self.prelude:
            assert process.stdin is not None
            process.stdin.write(f"{{\n{self.prelude}\n}} >/dev/null 2>&1\n".encode())
            process.stdin.flush()
        return process

    def first_observation(self) -> str:
        where = "a sandbox (private copy-on-write file system, no network)" if self.sandboxed else "a workspace folder"
        user = "root" if self.config.as_root or not self.sandboxed else "agent"
        listing = self.step("ls -la").observation
        return f"bash in {where}, user {user}. Each action is a bash command; cd and variables persist.\n$ ls -la\n{listing}"

    def _kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.uid:  # also what left the process group (setsid, daemons, a fork bomb)
            kill_user(self.uid)
        self.process.wait()

    def _over_process_limit(self, watch_s: float = 0.0) -> bool:
        """Half the process limit in use counts as a runaway (a fork bomb fills it within ~0.1 s). With
        `watch_s`, a session that left more than a couple of processes behind is watched that long."""
        if not self.uid:
            return False
        runaway = self.limits.processes // 2
        count = user_processes(self.uid)
        deadline = time.monotonic() + (watch_s if count > 2 else 0.0)
        while count < runaway and time.monotonic() < deadline:
            time.sleep(0.02)
            count = user_processes(self.uid)
        return count >= runaway

    def _read(self, deadline: float) -> tuple[str, int | None, str, bool, int]:
        """(output, exit code, cwd, timed out, dropped characters) of the command just sent."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        kept, dropped, buffer = [], 0, b""
        cap = self.config.output_cap
        end = f"\n{self.marker} ".encode()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "".join(kept), None, "", True, dropped
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:  # the shell exited
                return "".join(kept) + buffer.decode(errors="replace"), -1, "", False, dropped
            buffer += chunk
            index = buffer.find(end)
            if index >= 0:
                tail = buffer[index + len(end):]
                if b"\n" not in tail:
                    continue
                body = buffer[:index].decode(errors="replace")
                code, _, cwd = tail.split(b"\n", 1)[0].decode(errors="replace").partition(" ")
                room = max(0, cap - sum(map(len, kept)))
                kept.append(body[:room])
                dropped += max(0, len(body) - room)
                return "".join(kept), int(code), cwd, False, dropped
            if len(buffer) > 2 * len(end) + 65536:  # keep the tail, which may hold a split marker
                flush, buffer = buffer[: -len(end)], buffer[-len(end):]
                text = flush.decode(errors="replace")
                room = max(0, cap - sum(map(len, kept)))
                kept.append(text[:room])
                dropped += max(0, len(text) - room)

    def step(self, action: str) -> StepResult:
        if not action.strip():
            return StepResult("Error: empty command.", error=True)
        if self._over_process_limit():  # left running by an earlier command
            return self._limit_hit("", "The command was not run; send it again.")
        if self.process.poll() is not None:
            self.process = self._start()
        assert self.process.stdin is not None
        script = f"{action}\n__lbi_rc=$?; printf '\\n%s %s %s\\n' '{self.marker}' \"$__lbi_rc\" \"$PWD\"\n"
        try:
            self.process.stdin.write(script.encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            self.process = self._start()
            return StepResult("Error: the shell had exited; a new shell was started. Send the command again.", error=True)
        output, code, cwd, timed_out, dropped = self._read(time.monotonic() + self.config.timeout_s)
        output = output.rstrip("\n")
        if dropped:
            output += f"\n[... output truncated: {dropped} more characters]"
        if timed_out:
            self._kill()
            self.process = self._start()
            note = (f"Error: the command ran past {self.config.timeout_s:g}s and was killed; the shell was restarted "
                    "(files kept, variables and directory reset).")
            return StepResult(f"{output}\n{note}".strip(), error=True, info={"timeout": True})
        if self._over_process_limit(watch_s=0.5):
            return self._limit_hit(output)
        if code == -1:
            self.process.wait()
            self.process = self._start()
            return StepResult(f"{output}\n[the shell exited; a new shell was started]".strip(), error=True, info={"exited": True})
        return StepResult(f"{output}\n[exit code {code}] {cwd}".lstrip("\n"), error=code != 0, info={"exit_code": code, "cwd": cwd})

    def _limit_hit(self, output: str, then: str = "") -> StepResult:
        self._kill()
        self.process = self._start()
        note = (f"Error: the session reached its limit of {self.limits.processes} processes (a fork bomb?); all its "
                f"processes were killed and the shell was restarted (files kept). {then}")
        return StepResult(f"{output}\n{note}".strip(), error=True, info={"process_limit": True})

    def interrupt(self) -> None:
        self._kill()

    def close(self) -> None:
        self._kill()
        self.workspace.remove()


class ShellEnvironment(Environment):
    name = "shell"
    description = ("A bash shell on a Debian machine, in a private copy-on-write view of its file system with no network. "
                   "Common GNU tools (coreutils, findutils, grep, sed, tar, ...) are installed.")
    action_space = ("Each action is a bash command line (several lines are allowed), sent as plain text without code fences. "
                    "The shell persists between actions, so cd and variables carry over. The observation is the command's "
                    "output (stdout and stderr), then '[exit code N] /current/dir'. Long output is cut with a marker; a "
                    "command running past the timeout is killed and the shell restarted.")
    config_model = ShellConfig

    def __init__(self, settings):
        super().__init__(settings)
        self.sandboxed = sandbox_available()
        if self.sandboxed:
            reap_stale_workspaces()

    def notes(self) -> list[str]:
        if self.sandboxed:
            return ["sandbox: overlayfs copy of / per session + bubblewrap (pid, net, ipc, uts namespaces); user nobody "
                    "with a process limit unless as_root"]
        return ["fallback: per-session workspace folder with resource limits, NO file-system or network isolation "
                "(the runner is not root or bubblewrap is missing)"]

    def resources(self, config: ShellConfig) -> Iterable[Resource]:
        resources = resources_from_files(self.name, sorted(DOCS_DIR.glob("*.md")))
        for page in config.man_pages:
            text = _man_page(page)
            if text:
                resources.append(Resource(env=self.name, title=f"man {page}", text=text, uri=f"man:{page}(1)"))
        return resources

    default_timeout_s = 5.0

    def with_timeout(self, config: ShellConfig) -> ShellConfig:
        """The config with its command timeout set, below the runner's step timeout (the shell's kill comes first)."""
        limit = self.settings.runner_step_timeout_s
        if config.timeout_s is not None and config.timeout_s >= limit:
            raise InvalidArgument("config.timeout_s", f"must be below the runner's step timeout ({limit:g}s)")
        return config.model_copy(update={"timeout_s": config.timeout_s or min(self.default_timeout_s, 0.8 * limit)})

    def open(self, config: ShellConfig) -> Session:
        return ShellSession(self.with_timeout(config), self.sandboxed)


def _man_page(page: str, max_chars: int = 12000) -> str:
    if not page.replace("-", "").replace("_", "").isalnum():
        return ""
    try:
        raw = subprocess.run(["man", "-P", "cat", page], capture_output=True, text=True, timeout=20,
                             env={**os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": "0"}).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return raw[:max_chars]
