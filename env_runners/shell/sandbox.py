"""Starts a persistent bash for one session, sandboxed when the machine allows it.

Sandbox (root, with `unshare` and bubblewrap): a private mount namespace with an overlayfs whose lower
layer is `/` and whose upper layer is the session's own folder, so every write lands in the session and
is discarded with it; bubblewrap then enters it with new pid, network (none), ipc and uts namespaces.
The session's folder is a tmpfs of `disk_mb` (its writable layer, /tmp and work files), so a command that
fills the disk gets "No space left on device" in its own session and nobody else's.
By default the shell runs as `agent`, a user id of its own per session (RLIMIT_NPROC counts per user, so
a fork bomb hits its own session's limit, not the machine's or another session's, and `kill -9 -1` as
that user clears it); `as_root` keeps root inside (for tasks like useradd) without that protection.
Fallback (not root, or no bubblewrap): bash in a per-session workspace folder, with the same limits and
no isolation from the rest of the file system; the environment says so in its notes.
"""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

AGENT_HOME = "/home/agent"
FIRST_SESSION_UID, SESSION_UIDS = 2_000_000, 1_000_000  # unused on any real system


def session_uid() -> int:
    """A fresh user id for one session (random in a range no real account uses, so runners never collide)."""
    return FIRST_SESSION_UID + secrets.randbelow(SESSION_UIDS)


def user_processes(uid: int) -> int:
    """Processes of a user, counted from /proc (every pid namespace is visible from the runner's)."""
    count = 0
    with os.scandir("/proc") as entries:
        for entry in entries:
            if entry.name.isdigit():
                try:
                    count += entry.stat().st_uid == uid
                except FileNotFoundError:
                    pass
    return count


def kill_user(uid: int) -> None:
    """SIGKILLs every process of the user, the standard cure for a fork bomb (`kill -9 -1` as that user)."""
    for _ in range(3):
        subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "kill", "-9", "-1"],
                       capture_output=True)
        if not user_processes(uid):
            return


def sandbox_available() -> bool:
    return os.geteuid() == 0 and all(shutil.which(tool) for tool in ("unshare", "bwrap", "mount", "setpriv"))


@dataclass(frozen=True)
class Limits:
    memory_mb: int
    cpu_s: int
    processes: int
    file_mb: int


def _apply(limits: Limits):
    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb << 20, limits.memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb << 20, limits.file_mb << 20))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return preexec


WORKSPACE_PREFIX = "lbi-shell-"  # then the runner's pid, so a later runner can tell stale workspaces


def reap_stale_workspaces() -> list[Path]:
    """Unmounts and removes session folders of runners that died without closing them (SIGKILL)."""
    reaped = []
    for folder in Path(tempfile.gettempdir()).glob(f"{WORKSPACE_PREFIX}*-*"):
        pid = folder.name.removeprefix(WORKSPACE_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
        reaped.append(folder)
    return reaped


class Workspace:
    """The session's folder: the overlay's upper and work layers and /tmp (sandbox) or the working directory (fallback).

    In sandbox mode the folder is a tmpfs of `disk_mb` MiB mounted by the runner (root), so it survives
    shell restarts within the session and its size is the session's disk quota."""

    def __init__(self, disk_mb: int = 0) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-"))
        self.mounted = False
        if disk_mb:
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={disk_mb}m,mode=0700", "lbi-session", str(self.root)],
                           check=True, capture_output=True)
            self.mounted = True
        for name in ("upper", "work", "merged", "home", "tmp"):
            (self.root / name).mkdir()
        (self.root / "tmp").chmod(0o1777)

    def remove(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.root)], capture_output=True)
            self.mounted = False
        shutil.rmtree(self.root, ignore_errors=True)


def _add_account(workspace: Workspace, uid: int) -> None:
    """`agent` (the session's user id) in the session's own copies of /etc/passwd and /etc/group."""
    etc = workspace.root / "upper" / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    etc.chmod(0o755)
    for name, line in (("passwd", f"agent:x:{uid}:{uid}:agent:{AGENT_HOME}:/bin/bash\n"), ("group", f"agent:x:{uid}:\n")):
        target = etc / name
        if not target.exists():
            target.write_text(Path("/etc", name).read_text() + line)
            target.chmod(0o644)


def home_on_host(workspace: Workspace, as_root: bool, sandboxed: bool) -> Path:
    """Where the shell's $HOME lives on the host side, to put files there before the shell starts."""
    if not sandboxed:
        return workspace.root / "home"
    return workspace.root / "upper" / ("root" if as_root else AGENT_HOME.lstrip("/"))


def _traversable(workspace: Workspace, paths: Sequence[Path]) -> None:
    """Lets the session's user reach the given host folders (a Python under /root, say): each ancestor it could not
    enter gets a copy in the session's upper layer with o+x, which overlayfs shows instead of the original."""
    for path in paths:
        for ancestor in reversed(Path(path).parents):
            mode = ancestor.stat().st_mode & 0o7777
            if ancestor == Path("/") or mode & 0o001:
                continue
            copy = workspace.root / "upper" / str(ancestor).lstrip("/")
            copy.mkdir(parents=True, exist_ok=True)
            copy.chmod(mode | 0o001)


def _ro_bind_args(paths: Sequence[Path]) -> list[str]:
    """bubblewrap arguments binding host folders read-only at the same path. Folders it must create for
    them inside the session's /tmp are made 0755 first (bubblewrap would make them 0700, closed to the
    session's user)."""
    args: list[str] = []
    for path in paths:
        for parent in reversed(Path(path).parents):
            if parent != Path("/tmp") and Path("/tmp") in parent.parents:
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", str(path), str(path)]
    return args


def start_shell(workspace: Workspace, limits: Limits, as_root: bool, sandboxed: bool,
                ro_binds: Sequence[Path] = (), uid: int = 0) -> subprocess.Popen:
    """A bash reading commands on stdin, stdout and stderr merged, in its own process group.

    `ro_binds` are host folders the sandbox must see read-only even where its own /tmp hides them
    (a Python installed under /tmp, say)."""
    if sandboxed:
        user = [] if as_root else ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
        home = "/root" if as_root else AGENT_HOME
        if not as_root:  # the agent's home exists only in the session's upper layer, owned by the session's user
            agent_home = workspace.root / "upper" / AGENT_HOME.lstrip("/")
            agent_home.mkdir(parents=True, exist_ok=True)
            os.chown(agent_home, uid, uid)
            _add_account(workspace, uid)
            _traversable(workspace, ro_binds)
        inner = " ".join([
            "bwrap", "--bind", str(workspace.root / "merged"), "/", "--dev", "/dev", "--proc", "/proc",
            "--bind", str(workspace.root / "tmp"), "/tmp", *_ro_bind_args(ro_binds),
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
            "--hostname", "sandbox", "--chdir", home, "--setenv", "HOME", home, *user, "bash", "--noprofile", "--norc",
        ])
        mount = (f"mount -t overlay overlay -o lowerdir=/,upperdir={workspace.root / 'upper'},"
                 f"workdir={workspace.root / 'work'} {workspace.root / 'merged'}")
        command = ["unshare", "-m", "--propagation", "private", "sh", "-c", f"{mount} && exec {inner}"]
        cwd, env = "/", {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "TERM": "dumb"}
    else:
        home = str(workspace.root / "home")
        command = ["bash", "--noprofile", "--norc"]
        cwd, env = home, {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LANG": "C.UTF-8", "TERM": "dumb"}
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, env=env,
        start_new_session=True, preexec_fn=_apply(limits),
    )
