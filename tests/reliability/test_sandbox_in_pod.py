"""The sandbox inside a Kubernetes pod with `hostUsers: false`, simulated: the runner is root of a user namespace of
65,536 ids (host ids 3,000,000 on) with only the capabilities the chart grants (a container's default set plus
SYS_ADMIN) and a mount namespace of its own. Sessions nest their own user namespace in the pod's range
(base 20000, 45,536 ids) and keep every property they have on a plain host."""

import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pytest

from env_runners.shell import rootfs
from env_runners.shell.sandbox import CONTAINER_CAPS, sandbox_available
from lbi.config import RunnerSettings

POD_HOST_BASE, POD_IDS = 3_000_000, 65536
SESSION_BASE, SESSION_IDS = 20000, 45536  # inside the pod: base + count = 65,536
PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")  # a Python the pod's root can reach
REPO = Path(__file__).resolve().parents[2]

INSIDE = r"""
import json, sys
from lbi.config import RunnerSettings
from env_runners.shell.environment import ShellEnvironment
env = ShellEnvironment(RunnerSettings(data_dir=sys.argv[1], runner_rootfs_dir=sys.argv[1], runner_image="pod",
                                      runner_sandbox_uid_base=20000, runner_sandbox_id_count=45536,
                                      runner_require_userns=True))
out = {"runner_uid_map": open("/proc/self/uid_map").read().split(), "notes": env.notes()}
for user, config in (("agent", {}), ("root", {"as_root": True})):
    session = env.open(env.parse_config({"timeout_s": 3, **config}))
    out[user] = {name: session.step(command).observation for name, command in json.loads(sys.argv[2]).items()}
    session.close()
print(json.dumps(out))
"""
COMMANDS = {
    "whoami": "id -un; cat /proc/self/uid_map",
    "proc-sys": "echo '|/tmp/x' > /proc/sys/kernel/core_pattern",
    "mount": "mount -t tmpfs none /mnt",
    "nested": "unshare -Urm true",
    "users": "useradd -m bob && su bob -c 'id -un'",
    "write-etc": "touch /etc/from-session && echo wrote",
    "processes": "ls /proc | grep -c '^[0-9]'",
    "marker": "cat {marker} 2>&1; ls /tmp",
    "network": "curl -sS --max-time 2 http://1.1.1.1/",
}


def _reachable_by_others(path: Path) -> bool:
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in (path, *path.parents))


@pytest.fixture(scope="module")
def pod_rootfs():
    """The built image moved into the pod's session range (as the runner image is built for pods), in a folder the
    pod's root can reach. Its manifest states the range in the pod's own ids, as the kubelet's id-mapping shows it."""
    if not sandbox_available():
        pytest.skip("needs root, unshare, nsenter and bubblewrap")
    if (
        not PYTHON.exists()
        or not _reachable_by_others(Path(sysconfig.get_paths()["purelib"]))
        or not _reachable_by_others(REPO)
    ):
        pytest.skip(f"no Python the simulated pod can run ({PYTHON}, with this checkout's packages readable by others)")
    settings = RunnerSettings()
    built = rootfs.find_image(
        settings.rootfs_dir,
        rootfs.default_image_name(settings.runner_sandbox_uid_base, settings.runner_sandbox_id_count),
    )
    if built is None:
        pytest.skip("the session root file system is not built (make builds it)")
    folder = Path(tempfile.mkdtemp(prefix="lbi-pod-"))
    folder.chmod(0o777)
    image = rootfs.import_image(
        folder, "pod", built.root, POD_HOST_BASE + SESSION_BASE, SESSION_IDS, log=lambda _: None
    )
    manifest = {**image.manifest, "uid_base": SESSION_BASE}
    (image.folder / "manifest.json").write_text(json.dumps(manifest))
    for path in (folder / "images", image.folder):
        path.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _run_in_pod(script: str, *args: str) -> subprocess.CompletedProcess:
    holder = subprocess.Popen(["unshare", "--user", "--", "sleep", "infinity"], start_new_session=True)
    try:
        own = os.stat("/proc/self/ns/user").st_ino
        while os.stat(f"/proc/{holder.pid}/ns/user").st_ino == own:
            time.sleep(0.001)
        for kind in ("uid_map", "gid_map"):
            Path(f"/proc/{holder.pid}/{kind}").write_text(f"0 {POD_HOST_BASE} {POD_IDS}\n")
        caps = ",".join(f"+{cap}" for cap in (*CONTAINER_CAPS, "sys_admin"))
        command = [
            "nsenter",
            f"--user=/proc/{holder.pid}/ns/user",
            "-S",
            "0",
            "-G",
            "0",
            "--",
            "setpriv",
            f"--bounding-set=-all,{caps}",
            "--inh-caps=-all",
            "--",
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            str(PYTHON),
            "-c",
            script,
            *args,
        ]
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONPATH": f"{REPO}:{sysconfig.get_paths()['purelib']}",
        }
        return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/tmp", env=env)
    finally:
        holder.kill()
        holder.wait()


def test_sessions_inside_a_pod_with_its_own_user_namespace(pod_rootfs):
    marker = Path(tempfile.mkdtemp()) / "pod-marker"
    marker.write_text("pod-secret-7d1e")
    marker.chmod(0o644)
    marker.parent.chmod(0o755)
    commands = {k: v.format(marker=marker) for k, v in COMMANDS.items()}
    try:
        result = _run_in_pod(INSIDE, str(pod_rootfs), json.dumps(commands))
    finally:
        shutil.rmtree(marker.parent)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.splitlines()[-1])
    assert out["runner_uid_map"] == ["0", str(POD_HOST_BASE), str(POD_IDS)] and out["notes"][0].startswith("sandbox:")
    for user in ("agent", "root"):
        seen = out[user]
        assert seen["whoami"].split()[:4] == [user, "0", str(SESSION_BASE), str(SESSION_IDS)], seen["whoami"]
        for name in ("proc-sys", "mount", "nested", "network"):
            assert "[exit code 0]" not in seen[name], (user, name, seen[name])
        assert "pod-secret-7d1e" not in json.dumps(seen) and int(seen["processes"].split()[0]) < 10
    assert "wrote" not in out["agent"]["write-etc"] and "wrote" in out["root"]["write-etc"]
    assert out["root"]["users"].startswith("bob") and "[exit code 0]" not in out["agent"]["users"]


def test_a_runner_that_requires_a_user_namespace_refuses_sessions_on_the_host(runner_settings):
    """The chart's userns mode sets LBI_RUNNER_REQUIRE_USERNS: where a cluster ignored hostUsers: false, the runner is
    root of the host and refuses shell and repo sessions (FAILED_PRECONDITION) instead of running them."""
    from env_runners.shell.environment import ShellEnvironment
    from lbi.errors import FailedPrecondition

    env = ShellEnvironment(runner_settings.model_copy(update={"runner_require_userns": True}))
    assert env.notes()[0].startswith("refused:")
    with pytest.raises(FailedPrecondition, match="hostUsers: false was not honoured"):
        env.open(env.parse_config({}))
