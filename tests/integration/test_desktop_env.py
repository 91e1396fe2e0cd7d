"""The desktop environment through a real runner: a sandboxed X session with a real editor, read through its
accessibility tree and driven by commands and pyautogui code; bad input refused by field; the sandbox's escape
probes fail from the desktop's own Python too (host files, host sockets, /proc/sys, mknod, network)."""

import base64
import json
import os
import socket
import uuid
from pathlib import Path

import grpc
import pytest

from env_runners.shell.sandbox import sandbox_available

pytestmark = pytest.mark.skipif(not sandbox_available(), reason="needs the shell sandbox (make installs it)")
EDITOR = {"apps": ["mousepad /home/agent/notes.txt"], "setup": "printf 'first line\\n' > ~/notes.txt"}


def _code(source: str) -> str:
    return f"```python\n{source}\n```"


# In the serial pass: its first observation must show the window the window manager focused, and with two workers
# busy the focus came later than the start's 10 s wait once in two full runs (cause not found yet: recorded in the
# issue notes); alone it passes every time.
@pytest.mark.serial
async def test_a_session_reads_the_tree_and_acts(desktop_runner):
    described = {e.name: e for e in await desktop_runner.list_environments()}
    assert set(described["desktop"].check_schema) == {"file", "a11y", "shell", "answer_match", "osworld"}
    assert "pyautogui" in described["desktop"].action_space and "[id]" in described["desktop"].action_space
    session, first = await desktop_runner.open_session("desktop", {**EDITOR, "screenshots": True})
    try:
        assert 'frame "notes.txt - Mousepad"' in first.text or "notes.txt" in first.text.splitlines()[1]
        assert 'text="first line' in first.text and "(active)" in first.text
        await desktop_runner.step(session, "hotkey ctrl+End")
        typed = await desktop_runner.step(session, 'type "second line\\n"')
        assert not typed.error and "second line" in typed.text
        png = base64.b64decode(typed.info["screenshot_png"])
        assert png.startswith(b"\x89PNG") and len(png) > 2000
        menu = await desktop_runner.step(session, "click [File]")
        assert not menu.error and 'menu item "Save As' in menu.text
        await desktop_runner.step(session, "press Escape")
        saved = await desktop_runner.step(session, _code("pyautogui.hotkey('ctrl', 's')\ntime.sleep(0.5)"))
        assert not saved.error, saved.text
        for action, says in [
            ("click [999]", "no element [999]"),
            ("click [No Such Button]", "no element named"),
            ("launch the rockets", "unknown action"),
            (_code("import pyautogui\nraise RuntimeError('boom')"), "RuntimeError: boom"),
        ]:
            result = await desktop_runner.step(session, action)
            assert result.error and says in result.text and "Desktop 1280x800" in result.text, (action, result.text)
        slow = await desktop_runner.step(session, _code("time.sleep(60)"))
        assert slow.error and "ran past" in slow.text and "notes.txt" in slow.text  # the desktop lives on
        ok = await desktop_runner.judge(
            session, {"kind": "file", "path": "notes.txt", "equals": "first line\nsecond line"}
        )
        assert ok.ok, ok.reason
        shown = await desktop_runner.judge(
            session, {"kind": "a11y", "role": "text", "text": "second line", "app": "mousepad"}
        )
        assert shown.ok, shown.reason
        gone = await desktop_runner.judge(session, {"kind": "a11y", "role": "alert", "present": False})
        assert gone.ok, gone.reason
        done = await desktop_runner.step(session, "done [two lines]")
        assert done.done and done.info["answer"] == "two lines"
    finally:
        await desktop_runner.close_session(session)


async def test_bad_config_and_checks_are_refused_by_field(desktop_runner):
    for config, field in [
        ({"apps": ["mousepad", "no-such-program --flag"]}, "config.apps[1]"),
        ({"width": 10}, "config.width"),
        ({"packages": ["bad name; reboot"]}, "config.packages[0]"),
        ({"unknown": 1}, "config.unknown"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await desktop_runner.open_session("desktop", config)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in (caught.value.details() or "")
    session, _ = await desktop_runner.open_session("desktop", {"apps": []})
    try:
        for check, field in [
            ({"kind": "file", "path": "a.ods", "cells": {"nowhere": 1}}, "check"),
            ({"kind": "a11y"}, "check"),
            ({"kind": "shell", "command": "ls"}, "check"),
            ({"kind": "url_match", "url": "/"}, "check.kind"),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await desktop_runner.judge(session, check)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in (caught.value.details() or "")
    finally:
        await desktop_runner.close_session(session)


@pytest.fixture
def host_probes(tmp_path):
    """A secret in a host file, a listening unix socket on a host path and an abstract one."""
    secret = uuid.uuid4().hex
    marker = Path(f"/tmp/lbi-desktop-marker-{secret[:8]}")
    marker.write_text(secret)
    name = f"lbi-desktop-{secret[:8]}"
    listeners = []
    for address in (str(tmp_path / "s.sock"), f"\0{name}"):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(address)
        server.listen(4)
        server.setblocking(False)
        listeners.append(server)
    os.chmod(tmp_path, 0o755)
    yield secret, marker, str(tmp_path / "s.sock"), name, listeners
    marker.unlink(missing_ok=True)
    for server in listeners:
        server.close()


async def test_escapes_fail_from_the_desktops_own_python(desktop_runner, host_probes):
    secret, marker, path, abstract, listeners = host_probes
    probes = {
        "host-file": f"print(open({str(marker)!r}).read())",
        "project-file": f"print(open({str(Path(__file__).resolve())!r}).read()[:20])",
        "host-socket": f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({path!r}); print('CONNECTED')",
        "abstract-socket": (
            f"import socket; s = socket.socket(socket.AF_UNIX); s.connect('\\0' + {abstract!r}); print('CONNECTED')"
        ),
        "host-x-and-dbus": (
            "import socket, os; s = socket.socket(socket.AF_UNIX); "
            "s.connect('\\0/tmp/.X11-unix/X0'); print('CONNECTED')"
        ),
        "system-bus": "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/dbus/system_bus_socket')",
        "proc-sys": "open('/proc/sys/kernel/hostname', 'w').write('owned')",
        "mknod": "import os, stat; os.mknod('/tmp/disk', stat.S_IFBLK | 0o600, os.makedev(8, 0))",
        "network": "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2); print('CONNECTED')",
    }
    session, _ = await desktop_runner.open_session("desktop", {"apps": ["mousepad"]})
    try:
        for name, source in probes.items():
            result = await desktop_runner.step(session, _code(source))
            text = result.text + json.dumps(result.info)
            assert result.error and secret not in text and "CONNECTED" not in text, (name, text)
        for server in listeners:
            with pytest.raises(BlockingIOError):
                server.accept()
        alive = await desktop_runner.step(session, 'type "still here"')
        assert not alive.error and "still here" in alive.text
    finally:
        await desktop_runner.close_session(session)


async def test_an_action_past_the_step_timeout_stops_alone(runner):
    """On a runner whose steps get 2 s, code that never ends is stopped; the desktop and its editor live on."""
    session, _ = await runner.open_session("desktop", {"apps": ["mousepad"]})
    try:
        stuck = await runner.step(session, _code("time.sleep(600)"))
        assert stuck.error and ("ran past" in stuck.text or "step timeout" in stuck.text), stuck.text
        alive = await runner.step(session, 'type "after"')
        assert not alive.error and 'text="after"' in alive.text and "Mousepad" in alive.text, alive.text
    finally:
        await runner.close_session(session)
