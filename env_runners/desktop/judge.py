"""The desktop helper run for a verdict, out of the agent's reach.

The helper that serves the agent's steps (session.py) runs as the agent, so the agent's own code can kill it and
answer on its socket in its place. A verdict is never read from it: for each check the runner starts a fresh helper
itself, entering the session from the host (`nsenter` with the user namespace the runner holds and the mount, pid,
network, ipc and uts namespaces of a process of the session's sandbox) as root of the session's user namespace, with
no capabilities but setuid and setgid and no new privileges. The helper takes the agent's uid as its *effective* uid
only, which the session's D-Bus and AT-SPI buses let in, while its real and saved uids stay root's: the agent's
processes can neither signal nor trace it. The request goes in on its stdin and the answer comes back on its stdout,
pipes the runner holds, so there is no socket or file the agent could replace; the script is the copy in a folder
of the session's /tmp that only root inside may change.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from typing import Any

from env_runners.desktop import inside
from env_runners.shell.rootfs import AGENT_UID
from env_runners.shell.sandbox import PATH, namespace_processes
from env_runners.shell.userns import UserNamespace

NAMESPACES = {"mnt": "mount", "pid": "pid", "net": "net", "ipc": "ipc", "uts": "uts"}  # /proc name: nsenter option
ENVIRONMENT = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", **inside.ENV}
REPLY_CAP = 1 << 20


def sandbox_namespaces(namespace: UserNamespace) -> dict[str, int]:
    """Descriptors of the namespaces of a process inside the session's sandbox (each one that is not the runner's
    own: never a host process that took a finished process's pid)."""
    own = {kind: os.stat(f"/proc/self/ns/{kind}").st_ino for kind in NAMESPACES}
    for pid in namespace_processes(namespace.inode):
        fds: dict[str, int] = {}
        try:
            for kind in NAMESPACES:
                fds[kind] = os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC)
            ours = os.stat(f"/proc/{pid}/ns/user").st_ino == namespace.inode  # still the session's, once opened
        except OSError:
            ours = False
        if ours and all(os.fstat(fd).st_ino != own[kind] for kind, fd in fds.items()):
            return fds
        for fd in fds.values():
            os.close(fd)
    raise OSError("the session's sandbox has no process left to judge in")


def trusted_call(namespace: UserNamespace, helper: str, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """The helper's answer to `request`, from a helper the runner started in the session as described above;
    OSError when it cannot be started or does not answer in time."""
    fds = sandbox_namespaces(namespace)
    command = [
        "nsenter",
        f"--user={namespace.path}",
        *(f"--{NAMESPACES[kind]}=/proc/self/fd/{fd}" for kind, fd in fds.items()),
        "--setuid",
        "0",
        "--setgid",
        "0",
        "--",
        *("setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all,+setuid,+setgid", "--"),
        *("python3", "-I", helper, "judge", str(AGENT_UID)),
    ]
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            pass_fds=tuple(fds.values()),
            env=ENVIRONMENT,
            start_new_session=True,
        )
    finally:
        for fd in fds.values():
            os.close(fd)
    try:
        output, _ = process.communicate(json.dumps(request).encode() + b"\n", timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise OSError(f"the judge's desktop helper did not answer within {timeout_s:g}s") from None
    return _answer(output, process.returncode)


def _answer(output: bytes, code: int) -> dict[str, Any]:
    lines = [line for line in output.splitlines() if line.startswith(inside.JUDGE_MARK.encode())]
    if not lines or len(lines[-1]) > REPLY_CAP:
        raise OSError(f"the judge's desktop helper gave no answer (exit code {code})")
    try:
        reply = json.loads(lines[-1][len(inside.JUDGE_MARK) :])
    except json.JSONDecodeError:
        raise OSError("the judge's desktop helper's answer is not JSON") from None
    if not isinstance(reply, dict):
        raise OSError("the judge's desktop helper's answer is not an object")
    return reply
