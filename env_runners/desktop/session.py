"""One desktop session: a sandboxed shell session (the shell environment's sandbox) running an X desktop.

The session's bash (as `agent`, in its own root file system with the desktop layer, no network) runs the helper
(`inside.py`, copied into a folder of the session's /tmp that only root inside may change): `start` brings up
Xvfb, a D-Bus session bus, the AT-SPI bus, openbox and the applications; `serve` then answers on a Unix socket
in the session's /tmp, which the runner reaches from the host side of that folder. The agent can replace that
socket (its helper runs as the agent), so the runner checks who serves it before it sends anything (SO_PEERCRED: a
process of this session, never a host socket a planted link leads to) and takes nothing from it for a verdict: the
a11y, file and shell checks ask a helper or a command the runner starts out of the agent's reach (judge.py), never
this helper or the agent's shell. Screenshots come in the answer,
not as a file the runner would open. Every answer is read with a size cap and a timeout; a helper that hangs (an
application that stops answering AT-SPI) is killed and started again, and the step is an error observation.
pyautogui code runs as its own process of the session. Closing the shell session kills every process of the session.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shlex
import signal
import socket
import stat
import struct
import time
from pathlib import Path
from typing import Any

from env_runners.base import Session, StepResult
from env_runners.desktop import first_start, inside
from env_runners.desktop.actions import Code, Command, Finish, parse
from env_runners.desktop.judge import REPLY_CAP as JUDGE_REPLY_CAP
from env_runners.desktop.judge import trusted_call, trusted_run
from env_runners.desktop.task_start import link_home, place_files, run_then
from env_runners.shell.environment import ShellConfig, ShellSession
from env_runners.shell.sandbox import Root, namespace_processes
from lbi.errors import FailedPrecondition, InvalidArgument

HELPER_DIR = "/tmp/.lbi-desktop"
HELPER = f"{HELPER_DIR}/inside.py"
REPLY_CAP = 12 << 20  # a tree, or a screenshot (at most 3840x2160) as base64
SCREENSHOT_CAP = 8 << 20
EXPORTS = " ".join(f"{k}={shlex.quote(v)}" for k, v in inside.ENV.items())
PYAUTOGUI_NOISE = ("Xlib.xauth: warning", "NOTE: You must install tkinter")  # printed at every import
PYAUTOGUI_PRELUDE = "import pyautogui, time\npyautogui.FAILSAFE = False\npyautogui.PAUSE = 0.05\n"


class HelperTimeout(Exception):
    pass


def cap_lines(text: str, cap: int) -> str:
    """Head and tail of a long tree, whole lines, with a marker saying how many lines were cut."""
    if len(text) <= cap:
        return text
    lines = text.splitlines()
    head_budget, tail_budget = cap * 2 // 3, cap // 3
    head: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > head_budget:
            break
        head.append(line)
        used += len(line) + 1
    tail: list[str] = []
    used = 0
    for line in reversed(lines[len(head) :]):
        if used + len(line) + 1 > tail_budget:
            break
        tail.append(line)
        used += len(line) + 1
    cut = len(lines) - len(head) - len(tail)
    return "\n".join([*head, f"[... {cut} lines of the tree cut ...]", *reversed(tail)])


class DesktopSession(Session):
    def __init__(
        self, config: Any, shell_config: ShellConfig, root: Root | None, files: dict[str, bytes] | None = None
    ):
        if root is None:
            raise FailedPrecondition("desktop sessions need the sandbox (a root runner with bubblewrap)")
        self.config = config
        self.files = files or {}  # what traveled with the session, by sha256 (task_start.py), for the judge too
        later = shell_config.model_copy(update={"setup": ""})  # the home's link and files first
        self.shell = ShellSession(later, root, prelude=f"export {EXPORTS}")
        self.timeout_s = self.shell.timeout_s
        self.steps = 0
        try:
            link_home(self.shell, root)
            if config.files:
                place_files(self.shell, root, config.files, self.files)
            if shell_config.setup:
                self.shell._run_setup(shell_config.setup)
            tmp = self.shell.workspace.root / "tmp"
            self.socket_path = tmp / ".lbi-desktop.sock"
            folder = tmp / ".lbi-desktop"
            folder.mkdir(mode=0o755)
            helpers = [folder / "inside.py", folder / "first_start.py"]
            for helper, source in zip(helpers, (inside.__file__, first_start.__file__), strict=True):
                helper.write_text(Path(source).read_text())
                helper.chmod(0o644)
            for path in (folder, *helpers):
                os.chown(path, root.uid_base, root.uid_base)  # root inside owns it: the agent cannot change it
            self._start()
            if config.then:
                run_then(self.shell, config.then, config.start_timeout_s + 60)
        except BaseException:
            self.shell.close()
            raise

    # --- the helper ---------------------------------------------------------------------------------------------

    def _start(self) -> None:
        started = {
            "apps": self.config.apps,
            "width": self.config.width,
            "height": self.config.height,
            "start_timeout_s": self.config.start_timeout_s,
        }
        code, output = self.shell.run(
            f"python3 {HELPER} start {shlex.quote(json.dumps(started))}", self.config.start_timeout_s + 15
        )
        last = output.strip().splitlines()[-1] if output.strip() else ""
        try:
            reply = json.loads(last) if code == 0 else None
        except json.JSONDecodeError:
            reply = None
        if not isinstance(reply, dict):
            raise FailedPrecondition(f"the desktop did not start (exit {code}): {output.strip()[-600:]}")
        if reply.get("missing"):
            first = reply["missing"][0]
            raise InvalidArgument(
                f"config.apps[{first['index']}]", f"no program {first['app'].split()[0]!r} in the session"
            )
        self.late = reply.get("late", [])
        # how the applications were seen ready: "windows" (each showed one) or "timeout" (start_timeout_s ran out)
        self.ready = {"how": str(reply.get("ready", "")), "after_s": reply.get("ready_after_s")}
        self._serve()

    def _serve(self) -> None:
        size = f"{self.config.width} {self.config.height}"
        self.shell.run(f"(setsid python3 {HELPER} serve {size} >/tmp/.lbi-desktop.log 2>&1 &)", 10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self._request({"op": "ping"}, 2.0)
                return
            except (OSError, HelperTimeout):
                time.sleep(0.05)
        raise FailedPrecondition("the desktop helper did not answer")

    def _request(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            deadline = time.monotonic() + timeout_s
            try:
                if not stat.S_ISSOCK(os.lstat(self.socket_path).st_mode):  # a link planted there is not followed
                    raise OSError("the desktop helper's socket is not a socket")
                sock.connect(str(self.socket_path))
                self._check_peer(sock)  # and if one was planted since: nothing is sent to another's socket
                sock.sendall(json.dumps(request).encode() + b"\n")
                data = b""
                while not data.endswith(b"\n"):
                    sock.settimeout(max(0.01, deadline - time.monotonic()))
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    if len(data) > REPLY_CAP:
                        raise OSError("the desktop helper's reply is too long")
            except TimeoutError:
                raise HelperTimeout() from None
        try:
            reply = json.loads(data)
        except json.JSONDecodeError:
            raise OSError("the desktop helper's reply is not JSON") from None
        if not isinstance(reply, dict):
            raise OSError("the desktop helper's reply is not an object")
        return reply

    def _check_peer(self, sock: socket.socket) -> None:
        """OSError unless the socket is served by a process of this session (the path is in the agent's /tmp: a
        link planted there could lead the runner to a socket of the host)."""
        pid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[0]
        namespace = self.shell.namespace
        try:
            ours = namespace is not None and pid > 0 and os.stat(f"/proc/{pid}/ns/user").st_ino == namespace.inode
        except OSError:
            ours = False
        if not ours:
            raise OSError("the desktop helper's socket is not served by a process of the session")

    def judge_call(self, request: dict[str, Any], timeout_s: float, cap: int = JUDGE_REPLY_CAP) -> dict[str, Any]:
        """A request answered by a helper the agent cannot kill, trace or stand in for (judge.py), for a verdict."""
        assert self.shell.namespace is not None  # desktop sessions are always sandboxed
        return trusted_call(self.shell.namespace, HELPER, request, timeout_s, cap)

    def judge_run(self, command: str, timeout_s: float, cap: int) -> tuple[int, str]:
        """A check's bash command, run out of the agent's reach (judge.py): its exit code (-1: timed out), output."""
        assert self.shell.namespace is not None
        return trusted_run(self.shell.namespace, command, timeout_s, cap)

    def _restart_helper(self) -> None:
        self.shell.run("kill -9 $(cat /tmp/.lbi-desktop.pid 2>/dev/null) 2>/dev/null; true", 5)
        self._serve()

    def call(self, request: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        """A request to the helper; a helper that does not answer in time is restarted and OSError raised."""
        try:
            return self._request(request, timeout_s or max(2.0, self.timeout_s))
        except HelperTimeout:
            self._restart_helper()
            raise OSError(f"the desktop did not answer within {timeout_s or self.timeout_s:g}s") from None
        except OSError:
            self._restart_helper()
            return self._request(request, timeout_s or max(2.0, self.timeout_s))

    # --- Session ------------------------------------------------------------------------------------------------

    def observe(self) -> str:
        reply = self.call({"op": "observe", "width": self.config.width, "height": self.config.height})
        if "error" in reply:
            return f"(the accessibility tree could not be read: {reply['error'][:300]})"
        text = str(reply.get("text", ""))
        windows = reply.get("windows", 0)
        header = f"Desktop {self.config.width}x{self.config.height}, {windows} window(s) open"
        return header + "\n" + (cap_lines(text, self.config.observation_cap) if text else "(no windows)")

    def first_observation(self) -> str:
        late = f"\n(still starting: {', '.join(self.late)})" if self.late else ""
        return self.observe() + late

    def _screenshot(self, info: dict[str, Any]) -> None:
        if not self.config.screenshots:
            return
        reply = self.call({"op": "screenshot"})
        png = reply.get("png")
        if "error" in reply or not isinstance(png, str) or len(png) > SCREENSHOT_CAP * 4 // 3 + 4:
            info["screenshot_error"] = str(reply.get("error", "no image, or one too large"))[:200]
            return
        try:
            base64.b64decode(png, validate=True)
        except ValueError:
            info["screenshot_error"] = "the image is not base64"
            return
        info["screenshot_png"] = png

    def step(self, action: str) -> StepResult:
        self.steps += 1
        try:
            parsed = parse(action)
        except ValueError as exc:
            return StepResult(f"Error: {exc}\n{self._safe_observe()}", error=True)
        if isinstance(parsed, Finish):
            ended = "The episode is over." if parsed.ok else "The task was given up."
            return StepResult(ended, done=True, info={"answer": parsed.answer, "failed": not parsed.ok})
        try:
            if isinstance(parsed, Code):
                ok, message = self._run_code(parsed.source)
            else:
                assert isinstance(parsed, Command)
                request = parsed.request()
                if parsed.verb == "wait":  # within the step's time, which also reads the tree
                    request["seconds"] = min(request["seconds"], max(0.0, self.timeout_s - 1.5))
                reply = self.call({"op": "act", "command": request, "settle_s": self.config.settle_s})
                ok, message = bool(reply.get("ok")), str(reply.get("message") or reply.get("error") or "")
            observation = self.observe()
        except OSError as exc:
            return StepResult(f"Error: {exc}; the desktop helper was restarted.", error=True, info={"timeout": True})
        info: dict[str, Any] = {"result": message[:500]}
        self._screenshot(info)
        prefix = "" if ok else f"Error: {message[:1000]}\n"
        return StepResult(prefix + observation, error=not ok, info=info)

    def _safe_observe(self) -> str:
        try:
            return self.observe()
        except OSError as exc:
            return f"(no observation: {exc})"

    def _run_code(self, source: str) -> tuple[bool, str]:
        encoded = base64.b64encode((PYAUTOGUI_PRELUDE + source).encode()).decode()
        code, output = self.shell.run(
            # killed by `timeout` inside, so the shell (whose own timeout would restart the whole session) lives on
            f"printf %s {encoded} | base64 -d > /tmp/.lbi-act.py && timeout -s KILL {self.timeout_s:g} "
            "python3 /tmp/.lbi-act.py > /tmp/.lbi-act.out 2>&1; rc=$?; tail -c 2000 /tmp/.lbi-act.out; (exit $rc)",
            self.timeout_s + 5,
        )
        time.sleep(self.config.settle_s)
        if code in (-1, 124, 137):
            return False, f"the code ran past {self.timeout_s:g}s and was stopped"
        output = "\n".join(line for line in output.splitlines() if not line.startswith(PYAUTOGUI_NOISE)).strip()
        if code != 0:
            last = output.splitlines()[-1] if output else f"exit code {code}"
            return False, f"the code failed: {last[:500]}"
        return True, output[:500] or "ran"

    def run(self, command: str, timeout_s: float | None = None, cap: int | None = None) -> tuple[int, str]:
        """A shell command in the session (checks, discovery), with the desktop's variables set."""
        return self.shell.run(command, timeout_s, cap)

    def interrupt(self) -> None:
        """Stops the running action only (its pyautogui process, or the helper, which the next call starts again):
        the desktop and its applications live on."""
        if self.shell.namespace is None:
            return
        for pid in namespace_processes(self.shell.namespace.inode):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    words = cmdline.read().split(b"\0")
            except OSError:
                continue
            if b"/tmp/.lbi-act.py" in words or (HELPER.encode() in words and b"serve" in words):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        self.shell.close()
