"""Layers over a session image for what a task or repository needs: extra Debian packages and Python requirements.

A layer is built once, in the same sandbox sessions use (root of its own user namespace, overlay over the
image) but with the host's network, so apt-get and pip reach the package registries during that build
only; sessions then run offline on it. Layers are cached under `LBI_RUNNER_LAYERS_DIR/<hash of image and
what was asked>` (default `<rootfs dir>/layers`; the overlay's upper folder plus a manifest), built under a
file lock so concurrent sessions asking the same thing build it once.
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
import time
from pathlib import Path

from env_runners.shell.rootfs import Image
from env_runners.shell.sandbox import PATH, Limits, Root, Workspace, limit, sandboxed_command
from env_runners.shell.staging import publish, staging_for, tree_size
from env_runners.shell.userns import UserNamespace
from lbi.errors import InvalidArgument

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
    key = _key(image, packages, requirements)
    for folder in prebuilt:
        if (Path(folder) / key / "manifest.json").is_file():
            return Path(folder) / key / "upper"
    folder = Path(layers_dir) / key
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "manifest.json").is_file():
            _build(folder, image, packages, requirements, log)
    return folder / "upper"


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
