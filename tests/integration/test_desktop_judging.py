"""The desktop's verdicts cannot be forged from inside the session: an agent's pyautogui code that kills the desktop
helper and serves its own socket in its place, plants a symbolic link from the helper's socket to a socket of the
host, or freezes every process it can signal (the shell the runner reads files through among them) neither fools a
check nor reaches the host. A real runner on 127.0.0.1, a real desktop session."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from pathlib import Path

import pytest

from env_runners.shell.sandbox import sandbox_available

pytestmark = pytest.mark.skipif(not sandbox_available(), reason="needs the shell sandbox (make installs it)")
EDITOR = {"apps": ["mousepad /home/agent/notes.txt"], "setup": "printf 'first line\\n' > ~/notes.txt"}
MISSING = {"kind": "a11y", "name": "Launch The Rockets Now", "present": True}
REAL = {"kind": "a11y", "role": "text", "text": "first line", "app": "mousepad"}
FORGED = {
    "ok": True,
    "found": [{"app": "mousepad", "role": "push button", "name": "Launch The Rockets Now", "text": "", "states": []}],
    "text": "forged tree",
    "windows": 1,
}
# the agent's code: end every process of the helper it can signal (by its program name), then put `then` in place
KILL_HELPER = """import os, subprocess, sys, time
for pid in [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]:
    try:
        if b'inside.py' in open(f'/proc/{pid}/cmdline', 'rb').read():
            os.kill(int(pid), 9)
    except OSError:
        pass
time.sleep(0.3)
"""
FAKE_HELPER = f"""
import json, os, socket
path = '/tmp/.lbi-desktop.sock'
if os.path.lexists(path):
    os.unlink(path)
server = socket.socket(socket.AF_UNIX)
server.bind(path)
server.listen(8)
while True:
    connection, _ = server.accept()
    connection.makefile('rb').readline()
    connection.sendall(json.dumps({FORGED!r}).encode() + b'\\n')
    connection.close()
"""


def _serve_fake(path: Path, received: list[bytes]) -> socket.socket:
    """A socket of the host answering like a desktop helper (a found element), recording what it was sent."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(8)

    def loop() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    received.append(connection.recv(65536))
                    connection.sendall(json.dumps(FORGED).encode() + b"\n")
                except OSError:
                    pass

    threading.Thread(target=loop, daemon=True).start()
    return server


async def test_a_helper_killed_and_replaced_by_the_agent_does_not_fool_the_check(desktop_runner):
    session, _ = await desktop_runner.open_session("desktop", EDITOR)
    try:
        code = KILL_HELPER + (
            "subprocess.Popen([sys.executable, '-c', "
            f"{FAKE_HELPER!r}], start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL)\ntime.sleep(1)"
        )
        await desktop_runner.step(session, code)
        missing = await desktop_runner.judge(session, MISSING)
        assert not missing.ok, missing.reason
        real = await desktop_runner.judge(session, REAL)  # still read from the real desktop
        assert real.ok and not real.check_error, real.reason
    finally:
        await desktop_runner.close_session(session)


async def test_a_link_from_the_helpers_socket_to_the_host_reaches_nothing(desktop_runner, tmp_path):
    received: list[bytes] = []
    host_socket = tmp_path / "host.sock"
    server = _serve_fake(host_socket, received)
    session, _ = await desktop_runner.open_session("desktop", {**EDITOR, "screenshots": True})
    try:
        plant = (
            "path = '/tmp/.lbi-desktop.sock'\nif os.path.lexists(path):\n    os.unlink(path)\n"
            f"os.symlink({str(host_socket)!r}, path)\n"
        )
        after = await desktop_runner.step(session, KILL_HELPER + plant)
        assert "forged tree" not in after.text
        missing = await desktop_runner.judge(session, MISSING)
        assert not missing.ok, missing.reason
        shot = await desktop_runner.step(session, "wait 0.2")  # the helper serves again, screenshots included
        assert "screenshot_png" in shot.info, shot.info
        assert received == []  # the runner never wrote to the host's socket
    finally:
        await desktop_runner.close_session(session)
        server.close()


# stops every process of the agent's but itself, again and again, from a moment after the step that starts it
FREEZER = """
import os, signal, time
time.sleep(1.5)
while True:
    for pid in [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]:
        try:
            os.kill(int(pid), signal.SIGSTOP)
        except OSError:
            pass
    time.sleep(0.05)
"""


async def test_a_session_frozen_by_the_agent_does_not_make_a_file_disappear(desktop_runner):
    session, _ = await desktop_runner.open_session("desktop", EDITOR)
    try:
        start = (
            "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', "
            f"{FREEZER!r}], start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL)"
        )
        await desktop_runner.step(session, start)
        assert (await desktop_runner.step(session, "done")).done
        await asyncio.sleep(3)  # everything of the agent's is stopped by now (no figure is asserted on)
        deleted = await desktop_runner.judge(session, {"kind": "file", "path": "notes.txt", "exists": False})
        assert not deleted.ok and "exists" in deleted.reason, deleted.reason
        kept = await desktop_runner.judge(session, {"kind": "file", "path": "notes.txt", "equals": "first line"})
        assert kept.ok, kept.reason
        listed = await desktop_runner.judge(session, {"kind": "shell", "command": "ls ~", "contains": ["notes.txt"]})
        assert listed.ok, listed.reason
    finally:
        await desktop_runner.close_session(session)
