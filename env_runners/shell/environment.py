"""The `shell` environment: a persistent bash per session (cd and variables persist), sandboxed.

An action is a bash command line (or several lines); the observation is its output (stdout and stderr,
cut with a marker past the cap), its exit code and the current directory. Commands run faithfully
(command_loop.py: empty stdin, bash's own syntax errors, signals survived). A command that runs past the
timeout is killed with every process of the session and the shell restarted in the same directory (files
kept, variables reset); the output printed before is kept. The session's `setup` runs first, as its own
phase with its own timeout. Nothing here crashes the runner.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar, cast

from pydantic import Field
from typing_extensions import TypeVar

from env_runners.base import Check, EnvConfig, Environment, Session, StepResult, Turn, Verdict
from env_runners.shell.checks import (
    JUDGE_OUTPUT_CAP,
    SNAPSHOT_CAP,
    ShellCheck,
    cannot_run,
    compare,
    parse_snapshot,
    since_setup,
    snapshot_command,
)
from env_runners.shell.command_loop import OutputReader, Reply, encode, loop_script
from env_runners.shell.discover import discover
from env_runners.shell.layers import ensure_layer
from env_runners.shell.rootfs import default_image_name, find_image, require_image
from env_runners.shell.sandbox import (
    PATH,
    Limits,
    Root,
    Workspace,
    home_on_host,
    namespace_processes,
    reap_stale_workspaces,
    sandbox_available,
    sandboxed_command,
    start_process,
)
from env_runners.shell.userns import UserNamespace, in_initial_user_namespace
from lbi.errors import FailedPrecondition, InvalidArgument
from lbi.ingest import resources_from_files
from lbi.paths import opened
from lbi.records import Resource

DOCS_DIR = Path(__file__).parent / "docs"
SETUP_FAILED = "__lbi_setup_failed__"
DEFAULT_TIMEOUT_S = 5.0  # a command's timeout when the config sets none (within the runner's step timeout)


class ShellConfig(EnvConfig):
    setup: str = Field(
        "",
        description=(
            "Bash script run in the session before the first observation (prepares the task's files); it fails "
            "when its last command fails."
        ),
    )
    setup_timeout_s: float = Field(60.0, gt=0, le=600, description="Longest the setup script may run.")
    timeout_s: float | None = Field(
        None,
        gt=0,
        le=600,
        description="Longest one command may run before it is killed (default 5s, within the runner's step timeout).",
    )
    output_cap: int = Field(4000, ge=100, le=1_000_000, description="Characters of output kept per command.")
    memory_mb: int = Field(1024, ge=64, le=65536, description="Address-space limit per process, MiB.")
    cpu_s: int = Field(30, ge=1, le=3600, description="CPU-time limit per process, seconds.")
    disk_mb: int = Field(
        1024,
        ge=16,
        le=65536,
        description=(
            "Disk quota of the session (its writable layer and /tmp), MiB; memory-backed (tmpfs) in sandbox mode."
        ),
    )
    processes: int = Field(256, ge=16, le=4096, description="Processes the session may run at once.")
    as_root: bool = Field(
        False,
        description=(
            "Run as root inside the session: root of its own user namespace, with a container's capabilities "
            "and no power outside."
        ),
    )
    image: str = Field(
        "",
        description=(
            "Root file system of the session: a name prepared with `lbi runner build-rootfs` (default: the "
            "runner's, a Debian built from packages)."
        ),
    )
    packages: list[str] = Field(
        default_factory=list, description="Extra Debian packages, installed once into a cached layer over the image."
    )
    pip: list[str] = Field(
        default_factory=list,
        description="Extra Python requirements (pip), installed once into a cached layer over the image.",
    )
    man_pages: list[str] = Field(
        default_factory=list, description="Manual pages offered as resources, besides the tools the session discovers."
    )


class ShellSession(Session):
    """`prelude` runs silently at every shell start (definitions that must survive a restart); `setup` once.
    `root` is what a sandboxed session runs on (None: the unisolated fallback)."""

    def __init__(
        self,
        config: ShellConfig,
        root: Root | None,
        prelude: str = "",
        seed: dict[str, Path] | None = None,
        start_in: str = "",
    ):
        self.config = config
        self.root = root
        self.prelude = prelude
        self.timeout_s: float = config.timeout_s or DEFAULT_TIMEOUT_S  # the environment sets it (with_timeout)
        self.opened_with = config  # the config as the caller gave it (a fresh copy of the session is opened with it)
        self.limits = Limits(config.memory_mb, config.cpu_s, processes=config.processes, file_mb=256)
        self.marker = f"__lbi_{uuid.uuid4().hex}__"
        self.workspace = Workspace(config.disk_mb if root else 0, owner=root.uid_base if root else None)
        self.namespace: UserNamespace | None = None
        try:
            if root is not None:
                self.namespace = UserNamespace(root.uid_base, root.id_count)
            home = home_on_host(self.workspace, root, config.as_root)
            self.home = root.home(config.as_root) if root else str(home)
            self.cwd = f"{self.home}/{start_in}" if start_in else self.home
            self.last_output: str | None = None  # the whole output of the agent's last command (what checks compare)
            for name, source in (seed or {}).items():
                with opened(f"config.{name}", source, directory=True) as checked:  # the folder that was checked
                    shutil.copytree(checked, home / name, symlinks=True)
                if root is not None:
                    owner = root.uid_base + root.inner_uid(config.as_root)
                    for path in (home / name, *(home / name).rglob("*")):
                        os.lchown(path, owner, owner)
            self.process = self._start()
            self.setup_files: dict[str, str] = {}  # path -> content digest of the files the setup wrote
            if config.setup:
                self._run_setup(config.setup)
                self.setup_files = self._written_files()
        except BaseException:
            self.close()
            raise

    def _written_files(self) -> dict[str, str]:
        """MD5 digests of the regular files the session has written so far, read on the host side (nothing runs in
        the session): its overlay's upper layer and /tmp, or its home folder in the fallback; by path as the shell
        check's snapshot names them (`~` for the home)."""
        if self.root is None:
            roots = {self.workspace.root / "home": self.home}
        else:
            roots = {self.workspace.root / "upper": "/", self.workspace.root / "tmp": "/tmp"}
        files = {}
        for top, inside in roots.items():
            for folder, _, names in os.walk(top):
                for name in names:
                    path = Path(folder, name)
                    if path.is_file() and not path.is_symlink():
                        where = str(Path(inside, path.relative_to(top)))
                        files[where.replace(self.home, "~", 1) if where.startswith(self.home) else where] = _md5(path)
        return files

    @property
    def sandboxed(self) -> bool:
        return self.root is not None

    def _start(self) -> subprocess.Popen:
        # the loop travels in the environment, not in argv: the process list is the same in every session
        program = ["bash", "--noprofile", "--norc", "-c", 'eval "$LBI_SHELL_LOOP"']
        shell_env = {"LBI_START_DIR": self.cwd, "LBI_PRELUDE": self.prelude, "LBI_SHELL_LOOP": loop_script(self.marker)}
        if self.root is not None:
            assert self.namespace is not None
            command = sandboxed_command(
                self.workspace, self.root, self.namespace.enter, self.config.as_root, program, env=shell_env
            )
            return start_process(command, self.limits, "/", {"PATH": PATH, "LANG": "C.UTF-8"})
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            **shell_env,
        }
        return start_process(program, self.limits, self.home, env)

    def _run_setup(self, setup: str) -> None:
        """The setup as its own phase: its own timeout; a failure names the failing command, its exit code and
        its stderr (last 1,000 characters), as INVALID_ARGUMENT on config.setup."""
        trap = (
            '__lbi_c=$?; [ "$BASH_COMMAND" = \'eval "$__lbi_setup"\' ] || '
            "{ __lbi_fcode=$__lbi_c; __lbi_fc=$BASH_COMMAND; }"
        )
        script = (
            f"__lbi_setup={shlex.quote(setup)}; __lbi_err=$(mktemp); set -E; trap {shlex.quote(trap)} ERR\n"
            '{ eval "$__lbi_setup"; } 2>"$__lbi_err"; __lbi_rc=$?; trap - ERR; set +E\n'
            f"if [ $__lbi_rc -ne 0 ]; then printf '\\n{SETUP_FAILED}\\n%s\\n%s\\n' \"${{__lbi_fcode:-$__lbi_rc}}\" "
            '"${__lbi_fc:-the script}"; tail -c 1000 "$__lbi_err"; fi\n'
            'rm -f "$__lbi_err"; unset __lbi_setup __lbi_err __lbi_fc __lbi_fcode __lbi_c; (exit $__lbi_rc)'
        )
        reply = self._send(script, self.config.setup_timeout_s)
        if reply.exit_code is None:  # the session is closed by the caller's clean-up
            raise InvalidArgument(
                "config.setup",
                f"ran past setup_timeout_s ({self.config.setup_timeout_s:g}s); "
                f"its last output: {reply.output.strip()[-500:] or '(none)'}",
            )
        if reply.exit_code != 0:
            _, _, failure = reply.output.partition(f"\n{SETUP_FAILED}\n")
            code, _, rest = failure.partition("\n")
            command, _, stderr = rest.partition("\n")
            if reply.exit_code == -1:
                code, command, stderr = "-1", "the script", "the shell exited"
            raise InvalidArgument(
                "config.setup",
                f"`{command.strip()[:200]}` exited with {code or reply.exit_code}: "
                f"{stderr.strip() or '(no error output)'}",
            )

    def first_observation(self) -> str:
        where = (
            "a sandbox (its own Debian root file system, copy-on-write, no network)"
            if self.sandboxed
            else "a workspace folder"
        )
        user = "root" if self.config.as_root or not self.sandboxed else "agent"
        listing = self.step("ls -la").observation
        return (
            f"bash in {where}, user {user}. Each action is a bash command; cd and variables persist.\n"
            f"$ ls -la\n{listing}"
        )

    def _session_pids(self) -> list[int]:
        assert self.namespace is not None
        return namespace_processes(self.namespace.inode)

    def _kill(self) -> None:
        """Kills the shell and every process of the session (what left the process group too: setsid, daemons, a
        bomb)."""
        process = getattr(self, "process", None)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()  # reaped first, so the scan below finds only what left the process group
        if self.namespace is not None:
            for _ in range(5):
                pids = self._session_pids()
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.01)
        for stream in (process.stdin, process.stdout):
            if stream:
                stream.close()

    def _restart(self) -> None:
        self._kill()
        self.process = self._start()

    def _over_process_limit(self, watch_s: float = 0.0) -> bool:
        """Half the process limit in use counts as a runaway (a fork bomb fills it within ~0.1 s). With
        `watch_s`, a session that left more than a few processes behind is watched that long."""
        if self.namespace is None:
            return False
        runaway = self.limits.processes // 2
        count = len(self._session_pids())
        deadline = time.monotonic() + (watch_s if count > 5 else 0.0)
        while count < runaway and time.monotonic() < deadline:
            time.sleep(0.02)
            count = len(self._session_pids())
        return count >= runaway

    def _send(self, command: str, timeout_s: float, cap: int | None = None) -> Reply:
        """Runs one command in the shell (starting a new shell first if the old one is gone) and reads its reply."""
        for _attempt in range(2):
            if self.process.poll() is not None:
                self._restart()
            assert self.process.stdin is not None and self.process.stdout is not None
            try:
                self.process.stdin.write(encode(command, timeout_s))
                self.process.stdin.flush()
                break
            except BrokenPipeError:  # the shell ended before it read the command: it never ran, so send it again
                self._restart()
        assert self.process.stdout is not None
        reader = OutputReader(self.process.stdout.fileno(), self.marker, cap or self.config.output_cap)
        return reader.read(time.monotonic() + timeout_s)

    def run(self, command: str, timeout_s: float | None = None, cap: int | None = None) -> tuple[int, str]:
        """A command run for the runner's own use (discovery, judging): its exit code (-1 when it timed out or the
        shell ended) and its output (up to `cap` characters, default the config's)."""
        reply = self._send(command, timeout_s or self.timeout_s, cap)
        if reply.exit_code is None or reply.exit_code == -1:
            self._restart()
            return -1, reply.output
        self.cwd = reply.cwd or self.cwd
        return reply.exit_code, reply.output

    def step(self, action: str) -> StepResult:
        if not action.strip():
            return StepResult("Error: empty command.", error=True)
        if self._over_process_limit():  # left running by an earlier command
            return self._limit_hit("", "The command was not run; send it again.")
        # read up to the judge's limit: the check compares this whole output, the agent sees output_cap of it
        reply = self._send(action, self.timeout_s, cap=JUDGE_OUTPUT_CAP)
        self.last_output = reply.output
        output, dropped = reply.output.rstrip("\n"), reply.dropped
        if len(output) > self.config.output_cap:
            output, dropped = output[: self.config.output_cap], dropped + len(output) - self.config.output_cap
        if dropped:
            output += f"\n[... output truncated: {dropped} more characters]"
        if reply.exit_code is None:
            self._restart()
            note = (
                f"Error: the command ran past {self.timeout_s:g}s and was killed; the shell was restarted in "
                f"{self.cwd} (files kept, variables reset)."
            )
            return StepResult(f"{output}\n{note}".strip(), error=True, info={"timeout": True})
        if self._over_process_limit(watch_s=0.5):
            return self._limit_hit(output)
        if reply.exit_code == -1:
            self._restart()
            return StepResult(
                f"{output}\n[the shell exited; a new shell was started in {self.cwd}]".strip(),
                error=True,
                info={"exited": True},
            )
        self.cwd = reply.cwd or self.cwd
        return StepResult(
            f"{output}\n[exit code {reply.exit_code}] {reply.cwd}".lstrip("\n"),
            error=reply.exit_code != 0,
            info={"exit_code": reply.exit_code, "cwd": reply.cwd},
        )

    def _limit_hit(self, output: str, then: str = "") -> StepResult:
        self._restart()
        note = (
            f"Error: the session reached its limit of {self.limits.processes} processes (a fork bomb?); all its "
            f"processes were killed and the shell was restarted (files kept). {then}"
        )
        return StepResult(f"{output}\n{note}".strip(), error=True, info={"process_limit": True})

    def interrupt(self) -> None:
        self._kill()

    def close(self) -> None:
        self._kill()
        if self.namespace is not None:
            self.namespace.close()
        self.workspace.remove()


# The config model of a shell-like environment (the repo environment's extends ShellConfig); ShellConfig by default.
ShellConfigT = TypeVar("ShellConfigT", bound=ShellConfig, default=ShellConfig)


class ShellEnvironment(Environment[ShellConfigT, ShellSession]):
    name = "shell"
    description = (
        "A bash shell on a Debian machine, in a private copy-on-write view of its file system with no network. "
        "Common GNU tools (coreutils, findutils, grep, sed, tar, ...) are installed."
    )
    action_space = (
        "Each action is a bash command line (several lines are allowed), sent as plain text without code fences. "
        "The shell persists between actions, so cd and variables carry over. The observation is the command's "
        "output (stdout and stderr), then '[exit code N] /current/dir'. Long output is cut with a marker; a "
        "command running past the timeout is killed and the shell restarted."
    )
    config_model = ShellConfig
    checks: ClassVar[dict[str, type[Check]]] = {"shell": ShellCheck}

    def __init__(self, settings):
        super().__init__(settings)
        self.sandboxed = sandbox_available()
        self.refusal = ""
        if settings.runner_require_userns and in_initial_user_namespace():
            self.refusal = (
                "LBI_RUNNER_REQUIRE_USERNS is set but this runner is root of the host's user namespace (the "
                "pod's hostUsers: false was not honoured; it needs Kubernetes >= 1.30 with user namespaces): "
                "shell and repo sessions are refused"
            )
        elif not self.sandboxed and settings.auth_tokens.strip() and not settings.runner_allow_unisolated:
            self.refusal = (
                "this runner cannot sandbox sessions (it is not root, or unshare/nsenter/setpriv/bubblewrap is "
                "missing) and auth is on: an unisolated session could read the runner's files, secrets and tokens. "
                "Run the runner as root with bubblewrap, or set LBI_RUNNER_ALLOW_UNISOLATED=true to accept that risk; "
                "shell and repo sessions are refused"
            )
        if self.sandboxed:
            reap_stale_workspaces()

    @property
    def image_name(self) -> str:
        return self.settings.runner_image or default_image_name(
            self.settings.runner_sandbox_uid_base, self.settings.runner_sandbox_id_count
        )

    def notes(self) -> list[str]:
        if self.refusal:
            return [f"refused: {self.refusal}"]
        if not self.sandboxed:
            return [
                "fallback: per-session workspace folder with resource limits, NO file-system or network isolation "
                "(the runner is not root, or unshare/nsenter/setpriv/bubblewrap is missing)"
            ]
        image = find_image(self.settings.rootfs_dir, self.image_name)
        built = (
            f"image {image.name} ({image.manifest.get('size_bytes', 0) >> 20} MiB)"
            if image
            else f"image {self.image_name} NOT BUILT: run `lbi runner build-rootfs`; sessions are refused until then"
        )
        return [
            f"sandbox: its own root file system per session ({built}) as a copy-on-write overlay, a user namespace "
            "(root inside is an unprivileged host uid), bubblewrap (mount, pid, net, ipc, uts namespaces); user "
            "agent without capabilities unless as_root"
        ]

    def refuse_if_refused(self) -> None:
        """FAILED_PRECONDITION, saying why, when this runner refuses sessions of this environment."""
        if self.refusal:
            raise FailedPrecondition(self.refusal)

    def root_for(self, config: ShellConfig) -> Root | None:
        """What a session with this config runs on: the image and its package layer (built on first use)."""
        self.refuse_if_refused()
        if not self.sandboxed:
            if config.packages or config.pip or config.image:
                raise InvalidArgument(
                    "config.packages" if config.packages else "config.pip" if config.pip else "config.image",
                    "needs the sandbox (a root runner with bubblewrap); this runner has none",
                )
            return None
        image = require_image(self.settings.rootfs_dir, config.image or self.image_name)
        layer = ensure_layer(self.settings.layers_dir, image, config.packages, config.pip)
        return Root.of(image, layer)

    def resources(self, config: ShellConfigT) -> Iterable[Resource]:
        """The guide and the manual pages asked for, then what a session shows after its setup: the workspace, the
        tools present and worked examples that ran (discover.py)."""
        resources = resources_from_files(self.name, sorted(DOCS_DIR.glob("*.md")))
        for page in config.man_pages:
            text = _man_page(page)
            if text:
                resources.append(Resource(env=self.name, title=f"man {page}", text=text, uri=f"man:{page}(1)"))
        return resources + self.discover(config)

    def discover(self, config: ShellConfigT) -> list[Resource]:
        """What a session shows after its setup: the start folder, and the folders the setup made elsewhere in the
        root file system (the overlay's upper layer says exactly which: InterCode's setups make `/testbed`)."""
        session = self.open(config.model_copy(update={"output_cap": 200_000}))
        try:
            return discover(
                lambda command: session.run(command, 20.0),
                self.name,
                f"{self.name}:workspace",
                made=made_by_setup(session),
            )
        finally:
            session.close()

    default_timeout_s = DEFAULT_TIMEOUT_S

    def with_timeout(self, config: ShellConfigT) -> ShellConfigT:
        """The config with its command timeout set, below the runner's step timeout (the shell's kill comes first)."""
        limit = self.settings.runner_step_timeout_s
        if config.timeout_s is not None and config.timeout_s >= limit:
            raise InvalidArgument("config.timeout_s", f"must be below the runner's step timeout ({limit:g}s)")
        return config.model_copy(update={"timeout_s": config.timeout_s or min(self.default_timeout_s, 0.8 * limit)})

    def open(self, config: ShellConfigT) -> ShellSession:
        session = ShellSession(self.with_timeout(config), self.root_for(config))
        session.opened_with = config
        return session

    def judge(self, session: ShellSession, check: Check, turns: list[Turn], answer: str) -> Verdict:
        """The gold command in a fresh session of the same config, then outputs and files compared (checks.py); a gold
        command that cannot run (not found, not executable, killed) is a check error, one that answers with a
        non-zero exit code is not."""
        assert isinstance(check, ShellCheck)
        gold = self.open(cast(ShellConfigT, session.opened_with))
        try:
            code, gold_output = gold.run(check.gold, max(gold.timeout_s, 60.0), cap=JUDGE_OUTPUT_CAP)
            broken = cannot_run(code)
            if broken:
                return Verdict(
                    False,
                    f"the gold command exited with {code} ({broken}): {gold_output.strip()[-300:] or '(no output)'}",
                    check_error=True,
                )
            files = check.compare != "output"
            agent_files = files_after_setup(session, check.paths) if files else {}
            gold_files = files_after_setup(gold, check.paths) if files else {}
        finally:
            gold.close()
        agent_output = getattr(session, "last_output", None) if turns else None
        return compare(check, agent_output, agent_files, gold_output, gold_files)


def files_after_setup(session: ShellSession, paths: list[str]) -> dict[str, str]:
    """The files under `paths` in a session, with those still as its setup wrote them marked as such (since_setup)."""
    listing = session.run(snapshot_command(paths), 60.0, SNAPSHOT_CAP)[1]
    return since_setup(parse_snapshot(listing, session.home), session.setup_files)


# top-level folders of a root file system that are the system's own: a setup that writes there (a package, a user
# account) made no workspace
SYSTEM_FOLDERS = {
    *("bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "run", "sbin", "sys", "usr", "var"),
    *("tmp", "root", "home", "media", "mnt", "lost+found"),
}
MAX_MADE = 6


def made_by_setup(session: ShellSession) -> list[str]:
    """Top-level folders the session's setup created or changed outside the system's own (none unsandboxed)."""
    if session.root is None:
        return []
    upper = session.workspace.root / "upper"
    try:
        names = sorted(entry.name for entry in os.scandir(upper) if entry.is_dir(follow_symlinks=False))
    except OSError:
        return []
    return [f"/{name}" for name in names if name not in SYSTEM_FOLDERS][:MAX_MADE]


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    try:
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return "(unreadable)"
    return digest.hexdigest()


def _man_page(page: str, max_chars: int = 12000) -> str:
    if not page.replace("-", "").replace("_", "").isalnum():
        return ""
    return render_man([page])[:max_chars]


def render_man(arguments: list[str]) -> str:
    """A manual page as plain 80-column text (`man -P cat ARGUMENTS`: a page's name, or `-l FILE`); '' on failure."""
    try:
        return subprocess.run(
            ["man", "-P", "cat", *arguments],
            capture_output=True,
            text=True,
            timeout=20,
            env={**os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": "0"},
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
