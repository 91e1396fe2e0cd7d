"""Layers over a session image for what a task or repository needs: extra Debian packages and Python requirements.

A layer is built once, in the same sandbox sessions use (root of its own user namespace, overlay over the
image) but with the host's network, so apt-get and pip reach the package registries during that build
only; sessions then run offline on it. Layers are cached under `LBI_RUNNER_LAYERS_DIR/<hash of image and
what was asked>` (default `<rootfs dir>/layers`; the overlay's upper folder plus a manifest), built under a
file lock so concurrent sessions asking the same thing build it once. A layer built before whose packages include
all those asked (one an operator built ahead of time for several applications) is used as it is. A build that takes
longer than a request may wait goes on in the background (`ensure_layer_within`): the request is told, by name, that
it is being built and how to build it ahead of time.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
from pathlib import Path

from env_runners.shell.rootfs import Image
from env_runners.shell.sandbox import PATH, Limits, Root, Workspace, limit, sandboxed_command
from env_runners.shell.staging import publish, staging_for, tree_size
from env_runners.shell.userns import UserNamespace
from lbi.errors import InvalidArgument, Unavailable

DEBIAN_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+~:-]+)?$")
PIP_REQUIREMENT = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?\s*([<>=!~]=?[^;\s]+(\s*,\s*[<>=!~]=?[^;\s,]+)*)?$"
)
BUILD_LIMITS = Limits(memory_mb=8192, cpu_s=1800, processes=4096, file_mb=4096)
BUILD_TIMEOUT_S = 1200
HOST_CA_BUNDLE = Path(os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt")


def validate(packages: list[str], requirements: list[str]) -> None:
    """Names only: a package list never smuggles options or shell text into the build."""
    for i, name in enumerate(packages):
        if not DEBIAN_NAME.match(name):
            raise InvalidArgument(f"config.packages[{i}]", f"not a Debian package name: {name!r}")
    for i, requirement in enumerate(requirements):
        if not PIP_REQUIREMENT.match(requirement.strip()):
            raise InvalidArgument(f"config.pip[{i}]", f"not a requirement (name[extras] and versions): {requirement!r}")


def _key(image: Image, packages: list[str], requirements: list[str]) -> str:
    asked = json.dumps(
        {
            "image": image.name,
            "built": image.manifest.get("built_at"),
            "apt": sorted(set(packages)),
            "pip": sorted({r.strip() for r in requirements}),
        }
    )
    return hashlib.sha256(asked.encode()).hexdigest()[:16]


PHASE = (
    "__lbi_layer_phase__"  # a line the build prints before each phase: `PHASE config.packages` or `PHASE config.pip`
)


def _script(packages: list[str], requirements: list[str]) -> str:
    steps = ["set -e"]
    if packages:
        steps += [
            f"echo {PHASE} config.packages",
            "export DEBIAN_FRONTEND=noninteractive",
            "apt-get update -qq",
            f"apt-get install -y -qq --no-install-recommends {shlex.join(packages)}",
            "rm -rf /var/lib/apt/lists/*",
        ]
    if requirements:
        steps += [
            f"echo {PHASE} config.pip",
            "python3 -m pip install -q --no-cache-dir --break-system-packages --root-user-action=ignore "
            f"--disable-pip-version-check {shlex.join(r.strip() for r in requirements)}",
        ]
    return "\n".join(steps)


def _failure(result: subprocess.CompletedProcess) -> InvalidArgument:
    """The failed phase's config field, with the end of what the build printed (phase lines left out)."""
    lines = (result.stdout + result.stderr).splitlines()
    phases = [line.split()[1] for line in lines if line.startswith(PHASE)]
    text = "\n".join(line for line in lines if not line.startswith(PHASE)).strip()
    return InvalidArgument(
        phases[-1] if phases else "config.packages", f"installing failed (exit {result.returncode}): {text[-800:]}"
    )


def _pip_env() -> dict[str, str]:
    """The host's pip settings that reach a registry over the network (local file indexes are not visible inside)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_DEFAULT_TIMEOUT") and "file:" not in v
    }
    if HOST_CA_BUNDLE.is_file():  # Debian's pip reads the bundle through requests
        env["PIP_CERT"] = env["REQUESTS_CA_BUNDLE"] = "/etc/lbi-ca.crt"
    return env


def ensure_layer(
    layers_dir: Path,
    image: Image,
    packages: list[str],
    requirements: list[str],
    log=print,
    prebuilt: tuple[Path, ...] = (),
) -> Path | None:
    """The upper folder of the layer holding these packages over the image (built on first use), or None. A layer
    already built in one of the `prebuilt` folders (a runner image's own, read-only) is used as it is."""
    if not packages and not requirements:
        return None
    validate(packages, requirements)
    found = built_layer(layers_dir, image, packages, requirements, prebuilt)
    if found is not None:
        return found
    folder = Path(layers_dir) / _key(image, packages, requirements)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "manifest.json").is_file():
            _build(folder, image, packages, requirements, log)
    return folder / "upper"


def built_layer(
    layers_dir: Path, image: Image, packages: list[str], requirements: list[str], prebuilt: tuple[Path, ...] = ()
) -> Path | None:
    """The upper folder of a finished layer holding these packages: the one built for exactly them, else the smallest
    built over the same image whose packages and requirements include them (e.g. one `lbi runner build-rootfs
    --desktop --apps ...` built), else None."""
    key = _key(image, packages, requirements)
    folders = [Path(f) for f in prebuilt] + [Path(layers_dir)]
    for folder in folders:
        if (folder / key / "manifest.json").is_file():
            return folder / key / "upper"
    apt, pip = set(packages), {r.strip() for r in requirements}
    covering = []
    for folder in folders:
        for manifest in folder.glob("*/manifest.json"):
            try:
                built = json.loads(manifest.read_text())
                has_apt, has_pip = list(built["apt"]), list(built["pip"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            # the folder's name is the hash of its image (name and build time) and lists: a layer of this very image
            if manifest.parent.name == _key(image, has_apt, has_pip) and apt <= set(has_apt) and pip <= set(has_pip):
                covering.append((int(built.get("size_bytes") or 0), manifest.parent / "upper"))
    return min(covering)[1] if covering else None


class _Builds:
    """Layer builds running in the background, by key: one thread each, its outcome kept until asked for."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[str, tuple[threading.Thread, float, list]] = {}

    def start(self, key: str, build) -> tuple[threading.Thread, float, list]:
        with self.lock:
            if key not in self.running:
                outcome: list = []

                def run() -> None:
                    try:
                        outcome.append(build())
                    except BaseException as exc:  # kept for the request that asks next
                        outcome.append(exc)

                thread = threading.Thread(target=run, name=f"layer-{key}", daemon=True)
                self.running[key] = (thread, time.monotonic(), outcome)
                thread.start()
            return self.running[key]

    def finish(self, key: str) -> None:
        with self.lock:
            self.running.pop(key, None)


BUILDS = _Builds()


def ensure_layer_within(
    layers_dir: Path,
    image: Image,
    packages: list[str],
    requirements: list[str],
    wait_s: float | None,
    ahead: str,
    prebuilt: tuple[Path, ...] = (),
) -> Path | None:
    """`ensure_layer`, waiting at most `wait_s` (None: as long as it takes) for a build: past that the build goes on
    in the background and Unavailable says so (a request asking again later finds it built, or its failure); `ahead`
    is the command that builds it ahead of time."""
    if not packages and not requirements:
        return None
    validate(packages, requirements)
    found = built_layer(layers_dir, image, packages, requirements, prebuilt)
    if found is not None:
        return found
    key = _key(image, packages, requirements)
    thread, started, outcome = BUILDS.start(
        key, lambda: ensure_layer(layers_dir, image, packages, requirements, log=lambda _: None, prebuilt=prebuilt)
    )
    thread.join(None if wait_s is None else max(0.0, wait_s))
    if thread.is_alive():
        raise Unavailable(
            f"the package layer for {', '.join(packages)} is being built (started {time.monotonic() - started:.0f}s "
            f"ago; a few minutes with the network): open the session again when it is done, or build it ahead of "
            f"time with `{ahead}`"
        )
    BUILDS.finish(key)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _build(folder: Path, image: Image, packages: list[str], requirements: list[str], log) -> None:
    started = time.monotonic()
    log(f"building a layer over {image.name}: apt {packages or '-'}, pip {requirements or '-'} ...")
    staging = staging_for(folder)
    workspace = Workspace(owner=image.uid_base)
    root = Root.of(image)
    namespace = UserNamespace(root.uid_base, root.id_count)
    try:
        ca = workspace.root / "upper" / "etc" / "lbi-ca.crt"
        if HOST_CA_BUNDLE.is_file():  # pip trusts what the host trusts, for this build only
            ca.parent.mkdir(exist_ok=True)
            os.chown(ca.parent, image.uid_base, image.uid_base)
            shutil.copy(HOST_CA_BUNDLE, ca)
        command = sandboxed_command(
            workspace,
            root,
            namespace.enter,
            as_root=True,
            program=["bash", "-c", _script(packages, requirements)],
            network=True,
            env=_pip_env(),
        )
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            start_new_session=True,
            env={"PATH": PATH, "LANG": "C.UTF-8"},
            preexec_fn=limit(BUILD_LIMITS),
        )
        if result.returncode != 0:
            raise _failure(result)
        ca.unlink(missing_ok=True)
        subprocess.run(
            ["cp", "-a", str(workspace.root / "upper"), str(staging / "upper")], check=True, capture_output=True
        )
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, subprocess.TimeoutExpired):
            raise InvalidArgument("config.packages", f"installing took longer than {BUILD_TIMEOUT_S}s") from None
        raise
    finally:
        namespace.close()
        workspace.remove()
    publish(
        staging,
        folder,
        {
            "image": image.name,
            "apt": packages,
            "pip": requirements,
            "size_bytes": tree_size(staging / "upper"),
            "build_seconds": round(time.monotonic() - started, 1),
        },
    )
