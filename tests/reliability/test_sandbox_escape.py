"""Escapes from a session's own root file system, as the default user and as root inside (`as_root`): every one
fails inside, nothing planted on the host shows in an observation, and root inside is root of nothing else."""

import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from env_runners.shell.sandbox import sandbox_available

pytestmark = pytest.mark.skipif(
    not sandbox_available(), reason="needs root, unshare, nsenter and bubblewrap (make installs them)"
)
USERS = {"agent": {}, "root": {"as_root": True}}


@pytest.fixture
def host_marker():
    """A secret in files on the host, outside any session's root: in /root, /etc, /tmp and the project checkout."""
    secret, tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]  # the content, and the files' names
    paths = [
        Path(f"/root/lbi-marker-{tag}"),
        Path(f"/etc/lbi-marker-{tag}"),
        Path(f"/tmp/lbi-marker-{tag}"),
        Path(__file__).resolve().parents[2] / f"lbi-marker-{tag}",
    ]
    for path in paths:
        path.write_text(secret)
        path.chmod(0o644)
    yield secret, tag, paths
    for path in paths:
        path.unlink(missing_ok=True)


@pytest.fixture
def host_sockets(tmp_path):
    """A unix socket on a host path and an abstract one, both listening; yields their names and how many connected."""
    name = f"lbi-test-{uuid.uuid4().hex[:8]}"
    listeners = []
    for address in (str(tmp_path / "s.sock"), f"\0{name}"):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(address)
        server.listen(4)
        server.setblocking(False)
        listeners.append(server)
    os.chmod(tmp_path, 0o755)
    os.chmod(tmp_path / "s.sock", 0o777)

    def accepted() -> int:
        count = 0
        for server in listeners:
            try:
                server.accept()[0].close()
                count += 1
            except BlockingIOError:
                pass
        return count

    yield str(tmp_path / "s.sock"), name, accepted
    for server in listeners:
        server.close()


@pytest.mark.parametrize("user", list(USERS))
async def test_escapes_fail_inside(runner, user, host_marker):
    secret, tag, paths = host_marker
    session, _ = await runner.open_session("shell", {"timeout_s": 1.5, **USERS[user]})
    host_sleeper = subprocess.Popen(["sleep", "30"])
    attempts = {
        "write-proc-sys": ("echo '|/tmp/x' > /proc/sys/kernel/core_pattern || echo 3 > /proc/sys/vm/drop_caches", ""),
        "write-proc-sys-net": ("echo 1 > /proc/sys/net/ipv4/ip_forward", ""),
        "write-sys": ("echo x > /sys/kernel/uevent_helper; touch /sys/x", ""),
        "umount-tmp": (f"umount /tmp; umount -l /tmp; ls -A /tmp | grep -c lbi-marker; cat /tmp/lbi-marker-{tag}", ""),
        "mount": ("mount -t tmpfs none /mnt", ""),
        "mount-proc": ("mount -t proc proc /mnt", ""),
        "nested-namespace": ("unshare -Urm sh -c 'mount -t tmpfs none /mnt && echo MOUNTED'", ""),
        "mknod-block": ("mknod /tmp/disk b 8 0", ""),
        "ptrace-outside": (
            f"python3 -c 'import ctypes; print(\"attach\", ctypes.CDLL(None).ptrace(16, {host_sleeper.pid}, 0, 0))'"
            f" && kill -0 {host_sleeper.pid}",
            "",
        ),
        "read-host-files": (
            f"cat /root/lbi-marker-{tag} /etc/lbi-marker-{tag} {paths[-1]}; "
            "find / -xdev -name 'lbi-marker-*' 2>/dev/null | head",
            "",
        ),
        "tcp-out": ("curl -sS --max-time 2 http://1.1.1.1/ || curl -sS --max-time 2 https://pypi.org/", ""),
        "tcp-to-the-runner": (f"curl -sS --max-time 2 http://127.0.0.1:{runner.target.rsplit(':', 1)[1]}/", ""),
    }
    try:
        for name, (command, _) in attempts.items():
            result = await runner.step(session, command)
            assert secret not in result.text, (name, result.text)
            assert result.error or name in ("umount-tmp", "read-host-files"), (name, result.text)
            assert "MOUNTED" not in result.text and "attach 0" not in result.text, (name, result.text)
        listing = await runner.step(session, "ls -A /tmp | grep -c lbi-marker")
        assert listing.text.startswith("0"), listing.text
        assert host_sleeper.poll() is None  # nothing inside could touch it
        alive = await runner.step(session, "echo still-here")
        assert alive.text.startswith("still-here")
    finally:
        host_sleeper.kill()
        await runner.close_session(session)


@pytest.mark.parametrize("user", list(USERS))
async def test_host_unix_sockets_are_unreachable(runner, user, host_sockets):
    path, abstract, accepted = host_sockets
    session, _ = await runner.open_session("shell", {"timeout_s": 1.5, **USERS[user]})
    try:
        for address in (path, f"\\0{abstract}"):
            script = (
                "import socket; s = socket.socket(socket.AF_UNIX); "
                f"s.connect({address!r}.replace('\\\\0', '\\0')); print('CONNECTED')"
            )
            result = await runner.step(session, f'python3 -c "{script}"')
            assert result.error and "CONNECTED" not in result.text, result.text
        assert accepted() == 0
    finally:
        await runner.close_session(session)


async def test_root_inside_can_manage_users_and_owners(runner):
    session, _ = await runner.open_session("shell", {"as_root": True})
    try:
        result = await runner.step(
            session,
            "useradd -m bob && mkdir -p /testbed && touch /testbed/f && chown bob:bob /testbed/f "
            "&& stat -c '%U %G' /testbed/f && su bob -c 'id -un; touch ~/mine' && ls -l /home/bob",
        )
        assert not result.error, result.text
        lines = result.text.splitlines()
        assert lines[0] == "bob bob" and lines[1] == "bob" and "mine" in result.text
        capabilities = await runner.step(session, "grep CapEff /proc/self/status")
        assert not capabilities.error and int(capabilities.text.split()[1], 16) & (1 << 21) == 0  # no CAP_SYS_ADMIN
    finally:
        await runner.close_session(session)
