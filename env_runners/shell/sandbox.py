"""Starts a persistent bash for one session, sandboxed when the machine allows it.

Sandbox (root, with `unshare` and bubblewrap): a private mount namespace with an overlayfs whose lower
layer is `/` and whose upper layer is the session's own folder, so every write lands in the session and
is discarded with it; bubblewrap then enters it with new pid, network (none), ipc and uts namespaces.
By default the shell runs as `nobody` with a process limit, so a fork bomb hits its limit instead of the
machine's; `as_root` keeps root inside (for tasks like useradd) without that protection.
Fallback (not root, or no bubblewrap): bash in a per-session workspace folder, with the same limits and
no isolation from the rest of the file system; the environment says so in its notes.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

AGENT_HOME = "/home/agent"
NOBODY = 65534


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


class Workspace:
    """The session's folder: the overlay's upper and work layers (sandbox) or the working directory (fallback)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lbi-shell-"))
        for name in ("upper", "work", "merged", "home"):
            (self.root / name).mkdir()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def home_on_host(workspace: Workspace, as_root: bool, sandboxed: bool) -> Path:
    """Where the shell's $HOME lives on the host side, to put files there before the shell starts."""
    if not sandboxed:
        return workspace.root / "home"
    return workspace.root / "upper" / ("root" if as_root else AGENT_HOME.lstrip("/"))


def start_shell(workspace: Workspace, limits: Limits, as_root: bool, sandboxed: bool,
                ro_binds: Sequence[Path] = ()) -> subprocess.Popen:
    """A bash reading commands on stdin, stdout and stderr merged, in its own process group.

    `ro_binds` are host folders the sandbox must see read-only even where its own /tmp hides them
    (a Python installed under /tmp, say)."""
    if sandboxed:
        user = [] if as_root else ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
        home = "/root" if as_root else AGENT_HOME
        if not as_root:  # the agent's home exists only in the session's upper layer, owned by nobody
            agent_home = workspace.root / "upper" / AGENT_HOME.lstrip("/")
            agent_home.mkdir(parents=True, exist_ok=True)
            os.chown(agent_home, NOBODY, NOBODY)
        inner = " ".join([
            "bwrap", "--bind", str(workspace.root / "merged"), "/", "--dev", "/dev", "--proc", "/proc",
            "--perms", "1777", "--tmpfs", "/tmp", *[a for p in ro_binds for a in ("--ro-bind", str(p), str(p))],
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
