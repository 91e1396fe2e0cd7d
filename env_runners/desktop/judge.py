"""The desktop helper run for a verdict, out of the agent's reach.

The helper that serves the agent's steps (session.py) runs as the agent, so the agent's own code can kill it and
answer on its socket in its place. A verdict is never read from it: for each check the runner starts a fresh helper
itself, entering the session from the host (`nsenter` with the user namespace the runner holds and the mount, pid,
network, ipc and uts namespaces of a process of the session's sandbox) as root of the session's user namespace, with
no capabilities but setuid and setgid and no new privileges. The helper takes the agent's uid as its *effective* uid
only, which the session's D-Bus and AT-SPI buses let in, while its real and saved uids stay root's: the agent's
processes can neither signal nor trace it. The request goes in on its stdin and the answer comes back on its stdout,
pipes the runner holds, so there is no socket or file the agent could replace; the script is the copy in a folder
of the session's /tmp that only root inside may change. The file and shell checks run their commands the same way
(`trusted_run`), as root inside with only the capabilities to read and write the session's files, never through the
agent's own shell. What a check reads is still the session's content: the applications and their accessibility bus
run as the agent, so an element an agent's own program shows is an element of the desktop.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import time
from typing import Any

from env_runners.desktop import inside
from env_runners.shell.rootfs import AGENT_UID
from env_runners.shell.sandbox import AGENT_HOME, PATH, namespace_processes
from env_runners.shell.userns import UserNamespace

NAMESPACES = {"mnt": "mount", "pid": "pid", "net": "net", "ipc": "ipc", "uts": "uts"}  # /proc name: nsenter option
ENVIRONMENT = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", **inside.ENV}
REPLY_CAP = 1 << 20  # a find's answer: at most five elements


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


def _start(namespace: UserNamespace, capabilities: str, program: list[str], env: dict[str, str]) -> subprocess.Popen:
    """`program` as root of the session, in its sandbox's namespaces, with only these capabilities (setpriv's
    bounding-set syntax, e.g. `+setuid,+setgid`), no new privileges, reading stdin and writing stdout to the runner."""
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
        *("setpriv", "--no-new-privs", "--inh-caps=-all", f"--bounding-set=-all,{capabilities}", "--"),
        *program,
    ]
    try:
        return subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=tuple(fds.values()),
            env=env,
            start_new_session=True,
        )
    finally:
        for fd in fds.values():
            os.close(fd)


def _finish(process: subprocess.Popen, given: bytes, timeout_s: float, cap: int) -> tuple[int, bytes]:
    """Sends `given`, then reads the output (its first `cap` bytes kept, the rest read and dropped) until the process
    ends; exit code -1 when it ran past `timeout_s` (it is killed with whatever it started)."""
    assert process.stdin is not None and process.stdout is not None
    deadline = time.monotonic() + timeout_s
    with contextlib.suppress(BrokenPipeError):
        process.stdin.write(given)
    process.stdin.close()
    kept = bytearray()
    out = process.stdout.fileno()
    while True:
        remaining = deadline - time.monotonic()
        ready = select.select([out], [], [], max(0.0, remaining))[0] if remaining > 0 else []
        if not ready:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            process.stdout.close()
            return -1, bytes(kept)
        chunk = os.read(out, 65536)
        if not chunk:
            break
        kept += chunk[: max(0, cap - len(kept))]
    process.stdout.close()
    return process.wait(max(0.1, deadline - time.monotonic())), bytes(kept)


def trusted_call(
    namespace: UserNamespace, helper: str, request: dict[str, Any], timeout_s: float, cap: int = REPLY_CAP
) -> dict[str, Any]:
    """The helper's answer to `request` (its first `cap` bytes), from a helper the runner started in the session as
    described above; OSError when it cannot be started or does not answer in time."""
    program = ["python3", "-I", helper, "judge", str(AGENT_UID)]
    process = _start(namespace, "+setuid,+setgid", program, ENVIRONMENT)
    code, output = _finish(process, json.dumps(request).encode() + b"\n", timeout_s, cap)
    if code == -1:
        raise OSError(f"the judge's desktop helper did not answer within {timeout_s:g}s")
    return _answer(output, code)


def trusted_run(namespace: UserNamespace, command: str, timeout_s: float, cap: int) -> tuple[int, str]:
    """A check's bash command (a file read, a task's shell check) run by the runner in the session as root inside
    with no capabilities but reading and writing any of the session's files, in the agent's home: not through the
    agent's shell, which the agent's processes can reach (write to its input, trace it). Its exit code (-1 past
    `timeout_s`) and output, stdout and stderr, up to `cap` characters."""
    env = {**ENVIRONMENT, "HOME": AGENT_HOME, "USER": "agent", "LOGNAME": "agent"}
    program = ["bash", "--noprofile", "--norc", "-c", command]
    process = _start(namespace, "+dac_override,+dac_read_search", program, env)
    code, output = _finish(process, b"", timeout_s, cap * 4)  # UTF-8: at most 4 bytes a character
    return code, output.decode("utf-8", errors="replace")[:cap]


def _answer(output: bytes, code: int) -> dict[str, Any]:
    lines = [line for line in output.splitlines() if line.startswith(inside.JUDGE_MARK.encode())]
    if not lines:
        raise OSError(f"the judge's desktop helper gave no answer (exit code {code})")
    try:
        reply = json.loads(lines[-1][len(inside.JUDGE_MARK) :])
    except json.JSONDecodeError:
        raise OSError("the judge's desktop helper's answer is not JSON") from None
    if not isinstance(reply, dict):
        raise OSError("the judge's desktop helper's answer is not an object")
    return reply
