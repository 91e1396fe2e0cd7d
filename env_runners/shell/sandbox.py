"""Starts a persistent bash for one session: on a root file system of its own, root inside, no power outside.

Sandbox (the runner is root and has unshare, nsenter, mount and bubblewrap):
- the session's file system is an overlay whose lower layers are a prepared image (rootfs.py: a Debian
  built from packages, never the host's `/`) and optional package layers (layers.py), and whose upper layer
  is the session's own tmpfs of `disk_mb` (its writes, its /tmp), discarded when it closes;
- it runs in a user namespace of its own (userns.py): uid 0 inside is `uid_base` outside, 65,536 ids are
  mapped so `useradd`, `chown` and `su` work, and no capability reaches the host's namespaces; further
  user namespaces cannot be created inside;
- bubblewrap enters it with new mount, pid, network (none), ipc and uts namespaces; /proc/sys is read-only,
  /sys is an empty read-only folder, /dev holds only the usual character devices;
- root inside keeps Docker's default capability set (chown, dac_override, fowner, fsetid, kill, setgid,
  setuid, setpcap, setfcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write) as its bounding set:
  no sys_admin (no mount, umount, pivot_root), no sys_ptrace, no sys_module; by default the shell runs
  as `agent` (uid 1000 inside) with no capabilities at all.
Fallback (not root, or no bubblewrap): bash in a per-session workspace folder with the same limits and no
isolation from the rest of the file system; the environment says so in its notes. With auth on, the fallback is
refused unless the operator allows it (LBI_RUNNER_ALLOW_UNISOLATED).
"""

from __future__ import annotations

import os
import resource
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from env_runners.shell.rootfs import AGENT_UID, Image

AGENT_HOME = "/home/agent"
WORKSPACE_PREFIX = "lbi-shell-"  # then the runner's pid, so a later runner can tell stale workspaces
CONTAINER_CAPS = (  # Docker's default set
    "chown",
    "dac_override",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "setfcap",
    "net_bind_service",
    "net_raw",
    "sys_chroot",
    "mknod",
    "audit_write",
)
SHM_BYTES = 64 << 20  # /dev/shm of a session (POSIX semaphores and shared memory, e.g. multiprocessing)
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def sandbox_available() -> bool:
    return os.geteuid() == 0 and all(shutil.which(tool) for tool in ("unshare", "nsenter", "setpriv", "bwrap", "mount"))


@dataclass(frozen=True)
class Limits:
    memory_mb: int
    cpu_s: int
    processes: int
    file_mb: int


def limit(limits: Limits):
    """A preexec function putting a process (and what it starts) under the limits."""

    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb << 20, limits.memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb << 20, limits.file_mb << 20))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return preexec


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
    shell restarts within the session and its size is the session's disk quota. `owner` is the host uid of
    root inside the session, which owns the upper layer's top and /tmp."""

    def __init__(self, disk_mb: int = 0, owner: int | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-"))
        self.mounted = False
        if disk_mb:
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={disk_mb}m,mode=0711", "lbi-session", str(self.root)],
                check=True,
                capture_output=True,
            )
            self.mounted = True
        self.root.chmod(0o711)
        for name in ("upper", "work", "merged", "home", "tmp"):
            (self.root / name).mkdir()
        (self.root / "tmp").chmod(0o1777)
        if owner is not None:
            for name in ("upper", "tmp"):
                os.chown(self.root / name, owner, owner)
            (self.root / "upper").chmod(0o755)

    def remove(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.root)], capture_output=True)
            self.mounted = False
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass(frozen=True)
class Root:
    """What a sandboxed session runs on: its lower layers (top first), the host uid of root inside and how many
    ids its user namespace maps."""

    lowers: tuple[Path, ...]
    uid_base: int
    id_count: int

    @classmethod
    def of(cls, image: Image, layer: Path | None = None) -> Root:
        """An image, with a package layer over it if there is one."""
        return cls(((layer,) if layer else ()) + (image.root,), image.uid_base, image.id_count)

    def home(self, as_root: bool) -> str:
        return "/root" if as_root else AGENT_HOME

    def inner_uid(self, as_root: bool) -> int:
        return 0 if as_root else AGENT_UID


def home_on_host(workspace: Workspace, root: Root | None, as_root: bool) -> Path:
    """Where the shell's $HOME lives on the host side, to put files there before the shell starts. In sandbox
    mode the home folder is made in the upper layer with the owner and mode it has in the image."""
    if root is None:
        return workspace.root / "home"
    relative = Path(root.home(as_root).lstrip("/"))
    for depth in range(1, len(relative.parts) + 1):
        part = Path(*relative.parts[:depth])
        target = workspace.root / "upper" / part
        if target.exists():
            continue
        source = next((lower / part for lower in root.lowers if (lower / part).is_dir()), None)
        target.mkdir()
        if source is not None:
            info = source.stat()
            os.chown(target, info.st_uid, info.st_gid)
            target.chmod(info.st_mode & 0o7777)
        else:
            owner = root.uid_base + (root.inner_uid(as_root) if depth == len(relative.parts) else 0)
            os.chown(target, owner, owner)
    return workspace.root / "upper" / relative


def overlay_mount(lowers: Sequence[Path], upper: Path, work: Path, merged: Path) -> list[str]:
    for path in (*lowers, upper, work):
        if any(c in str(path) for c in ",:"):
            raise ValueError(f"an overlay layer path may not hold ',' or ':': {path}")
    options = f"lowerdir={':'.join(map(str, lowers))},upperdir={upper},workdir={work}"
    return ["mount", "-t", "overlay", "overlay", "-o", options, str(merged)]


def bwrap_args(merged: Path, tmp: Path, home: str, network: bool, env: dict[str, str]) -> list[str]:
    """bubblewrap's arguments: the merged overlay as /, fresh /dev and /proc, and the namespaces to create."""
    args = [
        "bwrap",
        "--bind",
        str(merged),
        "/",
        "--dev",
        "/dev",
        "--perms",
        "01777",
        "--size",
        str(SHM_BYTES),
        "--tmpfs",
        "/dev/shm",
        "--proc",
        "/proc",
        "--tmpfs",
        "/sys",
        "--remount-ro",
        "/sys",
        "--bind",
        str(tmp),
        "/tmp",
        "--unshare-pid",
        "--as-pid-1",  # no bubblewrap reaper as PID 1 (its command line names the runner's paths): the init is ours
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--hostname",
        "sandbox",
        "--chdir",
        home,
    ]
    if not network:
        args.append("--unshare-net")
    else:
        args += ["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args


def init_for(root: Root) -> list[str]:
    """PID 1 of a session: tini (it reaps orphans and passes signals on), the same neutral process in every session;
    an image without it runs the program as PID 1 itself."""
    has_tini = any((Path(lower) / "usr" / "bin" / "tini").exists() for lower in root.lowers)
    return ["/usr/bin/tini", "-g", "--"] if has_tini else []


def capability_args(as_root: bool) -> tuple[list[str], list[str]]:
    """(before bubblewrap, after it): the bounding set cut to CONTAINER_CAPS (bubblewrap itself keeps what it needs
    to set up through the inheritable set), then the shell's own capabilities, or `agent` with none."""
    bounding = ",".join(f"+{cap}" for cap in CONTAINER_CAPS)
    before = ["setpriv", "--inh-caps=+all", "--", "setpriv", f"--bounding-set=-all,{bounding}", "--"]
    if as_root:
        after = ["--cap-drop", "ALL", *(arg for cap in CONTAINER_CAPS for arg in ("--cap-add", f"CAP_{cap.upper()}"))]
    else:
        after = [
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
            "setpriv",
            f"--reuid={AGENT_UID}",
            f"--regid={AGENT_UID}",
            "--init-groups",
            "--",
        ]
    return before, after


def sandboxed_command(
    workspace: Workspace,
    root: Root,
    userns_enter,
    as_root: bool,
    program: list[str],
    network: bool = False,
    env: dict[str, str] | None = None,
) -> list[str]:
    """The host command that mounts the session's overlay in a private mount namespace and runs `program` in the
    sandbox. `userns_enter` wraps a command so it runs as root of the session's user namespace."""
    home = root.home(as_root)
    user_env = {
        "PATH": PATH,
        "HOME": home,
        "USER": "root" if as_root else "agent",
        "LOGNAME": "root" if as_root else "agent",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        **(env or {}),
    }
    before, after = capability_args(as_root)
    inner = userns_enter(
        [
            *before,
            *bwrap_args(workspace.root / "merged", workspace.root / "tmp", home, network, user_env),
            *after,
            *init_for(root),
            *program,
        ]
    )
    mount = overlay_mount(root.lowers, workspace.root / "upper", workspace.root / "work", workspace.root / "merged")
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", f"{shlex.join(mount)} && exec {shlex.join(inner)}"]


def start_process(command: list[str], limits: Limits, cwd: str, env: dict[str, str]) -> subprocess.Popen:
    """A process reading on stdin, stdout and stderr merged, in its own process group, under the limits."""
    return subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=env,
        start_new_session=True,
        preexec_fn=limit(limits),
    )


def namespace_processes(userns_inode: int) -> list[int]:
    """Pids (host view) of the live processes in a user namespace: every process of one session (zombies, already
    dead and waiting to be reaped, are left out)."""
    pids = []
    with os.scandir("/proc") as entries:
        for entry in entries:
            if entry.name.isdigit():
                try:
                    if os.stat(f"/proc/{entry.name}/ns/user").st_ino != userns_inode:
                        continue
                    with open(f"/proc/{entry.name}/stat", "rb") as stat_file:
                        if stat_file.read().rsplit(b")", 1)[1].split()[0] != b"Z":
                            pids.append(int(entry.name))
                except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
                    pass
    return pids
