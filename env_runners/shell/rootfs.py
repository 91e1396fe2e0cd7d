"""The root file system of shell and repo sessions: built from Debian packages, never the host's.

`lbi runner build-rootfs` (run by `make`, and in the runner image at build time) makes a minimal Debian
with debootstrap plus the tools shell tasks commonly use (`PACKAGES`), adds the `agent` account, records
the installed package list, and shifts every file's owner into the sandbox's id range (uid 0 inside a
session is `uid_base` outside), so the session's root owns the system files inside its user namespace and
nothing outside. A user's own image (an unpacked root folder) is prepared the same way with `--from`
under a name that session configs select (`image`). Sessions see a root only through their overlay; the
prepared folders are never written after they are built.

Layout under the rootfs folder (`LBI_RUNNER_ROOTFS_DIR`, default `<data dir>/rootfs`):
`images/<name>/root` (the tree), `images/<name>/packages.txt`, `images/<name>/manifest.json`, and
`layers/` (see layers.py). The default image's name is `debian-<hash of what was asked>`, so changing the
package list builds a new one and never mixes the two.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from env_runners.shell.staging import publish, staging_for, tree_size
from lbi.errors import FailedPrecondition, InvalidArgument

SUITE = "bookworm"
MIRROR = os.environ.get("LBI_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What shell tasks written for an Ubuntu/Debian container commonly use (seen in public shell benchmarks).
PACKAGES = [
    "bash",
    "coreutils",
    "findutils",
    "grep",
    "sed",
    "gawk",
    "tar",
    "gzip",
    "bzip2",
    "xz-utils",
    "zip",
    "unzip",
    "ncompress",
    "tree",
    "rename",
    "file",
    "diffutils",
    "patch",
    "procps",
    "psmisc",
    "dnsutils",
    "git",
    "python3",
    "python-is-python3",
    "python3-pip",
    "python3-venv",
    "python3-pytest",
    "sqlite3",
    "jq",
    "less",
    "man-db",
    "manpages",
    "ca-certificates",
    "curl",
    "wget",
    "bc",
    "ncal",
    "tini",
    "vim-tiny",
    "nano",
    "passwd",
    "adduser",
    "util-linux",
    "bsdextrautils",
    "time",
    "lsof",
    "openssl",
    "iproute2",
    "netcat-openbsd",
    "cpio",
    "rsync",
    "make",
    "net-tools",
    "iputils-ping",
    "xxd",
    "perl",
    "zstd",
]
AGENT_UID = 1000  # the `agent` account inside every image built here
SOURCE_IDS = 65536  # the ids an image's own files use (0..65535; nobody is 65534)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Image:
    """A prepared root file system: the tree sessions use as their overlay's lowest layer."""

    name: str
    folder: Path

    @property
    def root(self) -> Path:
        return self.folder / "root"

    @cached_property
    def manifest(self) -> dict:
        return json.loads((self.folder / "manifest.json").read_text())

    @property
    def uid_base(self) -> int:
        return int(self.manifest["uid_base"])

    @property
    def id_count(self) -> int:
        return int(self.manifest["id_count"])


def default_image_name(uid_base: int, id_count: int) -> str:
    asked = json.dumps(
        {"suite": SUITE, "packages": sorted(PACKAGES), "uid_base": uid_base, "id_count": id_count, "agent": AGENT_UID}
    )
    return f"debian-{SUITE}-{hashlib.sha256(asked.encode()).hexdigest()[:10]}"


def find_image(rootfs_dir: Path, name: str) -> Image | None:
    """The prepared image of that name, or None when it was never built (or its build did not finish)."""
    if not _NAME.match(name):
        raise InvalidArgument("config.image", f"not an image name: {name!r}")
    folder = Path(rootfs_dir) / "images" / name
    return Image(name, folder) if (folder / "manifest.json").is_file() else None


def require_image(rootfs_dir: Path, name: str) -> Image:
    image = find_image(rootfs_dir, name)
    if image is None:
        raise FailedPrecondition(
            f"the session root file system {name!r} is not built under {rootfs_dir}; "
            "run `lbi runner build-rootfs` (make does) or name a prepared image"
        )
    return image


def shift_owners(tree: Path, base: int, from_base: int = 0) -> int:
    """Moves the owner and group of every file below `tree` from the id range starting at `from_base` (an image's
    own ids, or another image's sandbox range) to the one starting at `base`; keeps modes (chown clears set-uid
    bits). Ids outside the source range are left alone. Returns how many entries changed."""
    changed = 0
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in (*dirnames, *filenames):
            changed += _shift(Path(dirpath, name), base, from_base)
    return changed + _shift(tree, base, from_base)


def _shift(path: Path, base: int, from_base: int) -> int:
    info = os.lstat(path)
    moved = [i - from_base + base if from_base <= i < from_base + SOURCE_IDS else i for i in (info.st_uid, info.st_gid)]
    if moved == [info.st_uid, info.st_gid]:
        return 0
    os.lchown(path, *moved)
    if not stat.S_ISLNK(info.st_mode):
        os.chmod(path, stat.S_IMODE(info.st_mode))
    return 1


def _installed_packages(root: Path) -> str:
    result = subprocess.run(
        ["chroot", str(root), "dpkg-query", "-W", "-f", "${Package}\t${Version}\n"], capture_output=True, text=True
    )
    return result.stdout if result.returncode == 0 else ""


def _finish(
    folder: Path, tree: Path, uid_base: int, id_count: int, started: float, from_base: int = 0, **facts
) -> Image:
    """Records the package list and manifest, shifts owners, and publishes the image atomically (rename)."""
    staging = tree.parent
    (staging / "packages.txt").write_text(_installed_packages(tree))
    shift_owners(tree, uid_base, from_base)
    publish(
        staging,
        folder,
        {
            "uid_base": uid_base,
            "id_count": id_count,
            "size_bytes": tree_size(tree),
            "build_seconds": round(time.monotonic() - started, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **facts,
        },
    )
    return Image(folder.name, folder)


def build_debian(rootfs_dir: Path, uid_base: int, id_count: int, log=print) -> Image:
    """debootstrap a minimal Debian with PACKAGES into the rootfs folder (about a minute on 2 cores)."""
    name = default_image_name(uid_base, id_count)
    existing = find_image(rootfs_dir, name)
    if existing is not None:
        return existing
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        raise FailedPrecondition(
            "building the session root file system needs root and debootstrap (apt-get install debootstrap)"
        )
    folder = Path(rootfs_dir) / "images" / name
    staging = staging_for(folder)
    tree = staging / "root"
    started = time.monotonic()
    log(f"debootstrap {SUITE} with {len(PACKAGES)} packages from {MIRROR} into {folder} ...")
    command = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(tree), MIRROR]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise FailedPrecondition(f"debootstrap failed ({result.returncode}): {(result.stdout + result.stderr)[-1500:]}")
    subprocess.run(
        [
            "chroot",
            str(tree),
            "useradd",
            "--create-home",
            "--uid",
            str(AGENT_UID),
            "--user-group",
            "--shell",
            "/bin/bash",
            "agent",
        ],
        check=True,
        capture_output=True,
    )
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (tree / cache).glob("*"):
            if entry.is_file():
                entry.unlink()
    return _finish(
        folder,
        tree,
        uid_base,
        id_count,
        started,
        source="debootstrap",
        suite=SUITE,
        mirror=MIRROR,
        packages_asked=PACKAGES,
    )


def import_image(rootfs_dir: Path, name: str, source: Path, uid_base: int, id_count: int, log=print) -> Image:
    """A user's own unpacked root folder, copied and shifted into the sandbox's id range under `name`. An image
    prepared here before (its manifest beside it) is moved from its range to this one: e.g. a pod's smaller range."""
    if not _NAME.match(name):
        raise InvalidArgument("name", f"not an image name: {name!r}")
    source = Path(source).resolve()
    if source == Path("/") or not (source / "bin").exists():
        raise InvalidArgument("from", f"{source} is not an unpacked root file system (no bin/)")
    folder = Path(rootfs_dir) / "images" / name
    staging = staging_for(folder)
    started = time.monotonic()
    log(f"copying {source} into {folder} ...")
    subprocess.run(["cp", "-a", f"{source}/.", str(staging / "root")], check=True, capture_output=True)
    earlier = source.parent / "manifest.json"
    from_base = json.loads(earlier.read_text())["uid_base"] if source.name == "root" and earlier.is_file() else 0
    return _finish(folder, staging / "root", uid_base, id_count, started, from_base, source=str(source))
