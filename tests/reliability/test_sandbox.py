"""Escape attempts from the shell and repo sandboxes: each is contained, answered as an error observation,
and the runner stays healthy (it answers health checks and the next command of the same session)."""

import asyncio
import shutil
import uuid
from pathlib import Path

import pytest

from env_runners.shell.sandbox import sandbox_available
from tests.fixtures.health import SERVING, health_status

pytestmark = [
    pytest.mark.skipif(not sandbox_available(), reason="needs root, unshare and bubblewrap (make installs bubblewrap)"),
    pytest.mark.serial,  # counts the machine's session mounts
]
ENVS = ["shell", "repo"]

ATTEMPTS = {
    # name: (command, text the error observation must contain)
    "write-system-file": ("echo owned >> /etc/passwd", "Permission denied"),
    "write-system-dir": ("touch /usr/bin/evil", "Permission denied"),
    "tcp-out": ("echo hi > /dev/tcp/1.1.1.1/80", "Network is unreachable"),
    "udp-out": ("echo hi > /dev/udp/8.8.8.8/53", "Network is unreachable"),
    "tcp-to-the-runner-host": ("echo hi > /dev/tcp/127.0.0.1/{runner_port}", "Connection refused"),
    "fork-bomb": ("bomb() {{ bomb | bomb & }}; bomb", "limit of 256 processes"),
    "fill-the-disk": (
        "for i in 1 2 3 4; do head -c 20M /dev/zero > /tmp/fill$i || exit 1; done",
        "No space left on device",
    ),
    "huge-file": (
        "head -c 300M /dev/zero > big.bin",
        "File size limit exceeded",
    ),  # with a disk quota above the file limit
    "run-forever": ("while true; do :; done", "killed"),
    "memory-hog": ("python3 -c 'x = bytearray(1500 << 20)'", "MemoryError"),  # over the 1 GiB address-space limit
    "kill-the-runner": ("kill -9 -1; kill -9 1", ""),
}


@pytest.fixture
async def runner(runner, runner_settings):
    """The shared runner, with the repo environment's sample code base in its data folder."""
    sample = Path(__file__).resolve().parents[2] / ".lbi" / "envs" / "repo" / "toolz-1.2.0.tar.gz"
    target = runner_settings.data_dir / "envs" / "repo"
    if sample.exists() and not (target / sample.name).exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(sample, target)
    return runner


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("attempt", list(ATTEMPTS))
async def test_escape_attempt_is_contained(runner, env, attempt):
    command, expected = ATTEMPTS[attempt]
    command = command.format(runner_port=runner.target.rsplit(":", 1)[1])
    disk_mb = 320 if attempt == "huge-file" else 32
    session, _ = await runner.open_session(env, {"timeout_s": 1.5, "disk_mb": disk_mb})
    try:
        result = await runner.step(session, command)
        for _ in range(20):  # a bomb that went to the background is found by the next step (a busy machine: later)
            if attempt != "fork-bomb" or result.error:
                break
            await asyncio.sleep(0.2)
            result = await runner.step(session, "echo probing")
        after = await runner.step(session, "echo still-here")
        if attempt != "kill-the-runner":
            assert result.error, result.text
        assert expected.lower() in result.text.lower(), result.text
        assert "Traceback" not in result.text or attempt == "memory-hog"  # that one is the agent's own program's
        assert "still-here" in after.text and not after.error
        assert await health_status(runner.target) == SERVING
    finally:
        await runner.close_session(session)


async def test_a_session_cannot_read_another_sessions_files(runner):
    secret = uuid.uuid4().hex
    (a, _), (b, _) = await asyncio.gather(runner.open_session("shell"), runner.open_session("repo"))
    try:
        assert not (await runner.step(a, f"echo {secret} > ~/secret.txt && echo {secret} > /tmp/secret.txt")).error
        for attempt in (
            "cat ~/secret.txt /tmp/secret.txt",
            f"grep -rs {secret} / --exclude-dir=proc --exclude-dir=sys | head -1",
            "cat /proc/*/root/home/agent/secret.txt",
        ):
            result = await runner.step(b, attempt)
            assert secret not in result.text, (attempt, result.text)
        assert not list(Path("/tmp").glob("secret.txt")) and not Path("/home/agent/secret.txt").exists()
    finally:
        await runner.close_session(a)
        await runner.close_session(b)


async def test_closing_sessions_releases_their_disk(runner):
    import subprocess

    before = subprocess.run(["mount"], capture_output=True, text=True).stdout.count("lbi-session")
    sessions = [s for s, _ in await asyncio.gather(*(runner.open_session("shell", {"disk_mb": 16}) for _ in range(3)))]
    opened = subprocess.run(["mount"], capture_output=True, text=True).stdout.count("lbi-session")
    for session in sessions:
        await runner.close_session(session)
    after = subprocess.run(["mount"], capture_output=True, text=True).stdout.count("lbi-session")
    assert opened == before + 3 and after == before


def test_a_dead_runners_session_disks_are_reaped_by_the_next(runner_settings):
    """A runner SIGKILLed with sessions open leaves their tmpfs mounted; the next runner unmounts them. No process of
    the dead runner's session lives on (neither the shell nor anything holding its user namespace)."""
    import subprocess
    import sys
    import time

    from env_runners.shell.environment import ShellEnvironment
    from env_runners.shell.sandbox import namespace_processes

    code = (
        "from env_runners.shell.environment import ShellConfig, ShellEnvironment\n"
        f"from lbi.config import RunnerSettings\nenv = "
        f"ShellEnvironment(RunnerSettings(runner_rootfs_dir={str(runner_settings.rootfs_dir)!r}))\n"
        "s = env.open(ShellConfig(disk_mb=16))\ns.step('sleep 300 & echo started')\n"
        "print(s.workspace.root, s.namespace.inode, flush=True)\nimport time; time.sleep(60)"
    )
    dead = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert dead.stdout is not None
    printed, inode = dead.stdout.readline().split()
    folder = Path(printed)
    assert len(namespace_processes(int(inode))) >= 2  # the shell and its background sleep
    dead.kill()
    dead.wait()
    deadline = time.monotonic() + 5
    while namespace_processes(int(inode)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert namespace_processes(int(inode)) == []
    assert folder.is_dir() and str(folder) in Path("/proc/mounts").read_text()
    ShellEnvironment(runner_settings)
    assert not folder.exists() and str(folder) not in Path("/proc/mounts").read_text()
