"""Which paths of its own file system a server (a runner, a service) may open because a request named them.

A session config or a job spec may name a path on the server: a SQLite file (`config.database`, a `sqlite:` or
`duckdb:` URL), a code base to copy into a session (`config.repo`), documentation to read (`config.resources`,
`spec.resource_paths`). The server opens it outside any sandbox, so one rule decides, applied where the path is
opened, after `~`, `..` and symbolic links are resolved:

- never under lbi's own state: the data directory's journal, stores, root file systems, layers and evaluation runs
  (`STATE_FOLDERS`, and the configured root file system and layer folders) and the secrets folders, nor under
  `/proc`, `/sys`, `/dev` or the secrets Kubernetes mounts (`/var/run/secrets`, `/run/secrets`);
- else under one of the allowed roots: `LBI_ALLOWED_PATHS` (a JSON list). Unset, the default depends on auth:
  with auth off (one user on their own machine) every other path is allowed; with auth on, none is, so a team
  brings its data by URL (database URLs, git URLs, http(s) documentation) or as a volume it mounts and lists.

A refused path is INVALID_ARGUMENT `<field>: outside the allowed paths`, naming the field and nothing of the file
system. A file or folder is opened once and read through its descriptor (`opened`): what is read is what was
checked, even if a symbolic link is swapped in between. A hard link is a second name of the same file that no path
check sees through, so a single file must be a regular file with one name, and a folder to copy (`check_tree`) may
hold no other name of a file in lbi's state or secrets.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lbi.config import CommonSettings
from lbi.errors import InvalidArgument

REFUSED = "outside the allowed paths"
# the kernel's views, and where Kubernetes mounts secrets (a pod's service-account token among them)
_SYSTEM = (Path("/proc"), Path("/sys"), Path("/dev"), Path("/var/run/secrets"), Path("/run/secrets"))
# what lbi keeps in its data directory: the synthesis journal, the embedded stores, root file systems and layers,
# evaluation runs (episodes), fetched tools. Other files there (the sample environments, a user's own) stay reachable.
STATE_FOLDERS = ("synthesis", "qdrant", "rootfs", "eval", "tools", "secrets")


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


@dataclass(frozen=True)
class PathRules:
    allowed: tuple[Path, ...] | None  # None: any path not forbidden
    forbidden: tuple[Path, ...]

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> PathRules:
        state = settings.data_dir.expanduser().resolve()
        forbidden = [*(state / name for name in STATE_FOLDERS), settings.secrets_dir.expanduser().resolve(), *_SYSTEM]
        for name in ("runner_secrets_dir", "rootfs_dir", "layers_dir"):  # a runner's own (RunnerSettings)
            value = getattr(settings, name, None)
            if isinstance(value, Path):
                forbidden.append(value.expanduser().resolve())
        if settings.allowed_paths is not None:
            allowed: tuple[Path, ...] | None = tuple(Path(p).expanduser().resolve() for p in settings.allowed_paths)
        else:
            allowed = () if settings.auth_tokens.strip() else None
        return cls(allowed, tuple(forbidden))

    def permits(self, path: Path) -> bool:
        """Whether an absolute path may be opened: not in lbi's state, and under an allowed root."""
        if any(_under(path, f) for f in self.forbidden):
            return False
        return self.allowed is None or any(_under(path, r) for r in self.allowed)

    def check(self, field: str, raw: str | Path) -> Path:
        """The path resolved (`~`, `..`, symbolic links); INVALID_ARGUMENT naming `field` when it may not be opened.
        The path as written is checked too, so a forbidden folder cannot be named through a link to it."""
        written = Path(raw).expanduser()
        absolute = Path(os.path.abspath(written))
        resolved = written.resolve()
        if not (self.permits(absolute) and self.permits(resolved)):
            raise InvalidArgument(field, REFUSED)
        return resolved

    def check_tree(self, field: str, folder: Path) -> None:
        """INVALID_ARGUMENT naming `field` when a file in `folder` (a checked one) is a hard link to a file in lbi's
        state or secrets. Other files with several names (a local `git clone` links its objects) are allowed."""
        linked = set()
        for parent, _, files in os.walk(folder):  # symbolic links to folders are not followed
            for name in files:
                with contextlib.suppress(OSError):
                    st = os.lstat(os.path.join(parent, name))
                    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                        linked.add((st.st_dev, st.st_ino))
        if linked and linked & self._protected_inodes({device for device, _ in linked}):
            raise InvalidArgument(field, REFUSED)

    def _protected_inodes(self, devices: set[int]) -> set[tuple[int, int]]:
        """(device, inode) of the files with several names under the forbidden folders, on `devices`."""
        found = set()
        for root in self.forbidden:
            if root in _SYSTEM or not root.is_dir():
                continue
            for parent, _, files in os.walk(root):
                for name in files:
                    with contextlib.suppress(OSError):
                        st = os.lstat(os.path.join(parent, name))
                        if st.st_nlink > 1 and st.st_dev in devices:
                            found.add((st.st_dev, st.st_ino))
        return found


@contextlib.contextmanager
def opened(field: str, path: Path, directory: bool = False) -> Iterator[Path]:
    """`path` (already checked and resolved) opened once; yields a path that reads through that descriptor
    (`/proc/self/fd/N`). Refused as outside the allowed paths when what was opened is not `path` itself (a
    component was swapped for a symbolic link after the check), or a file is not a regular file with one name (a
    hard link may be another name of lbi's journal)."""
    # O_NONBLOCK: a FIFO named by a request opens at once (and is refused below) instead of blocking the thread
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | (os.O_DIRECTORY if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InvalidArgument(
            field, REFUSED if exc.errno == errno.ELOOP else f"cannot open it ({exc.strerror})"
        ) from None
    try:
        if os.readlink(f"/proc/self/fd/{fd}") != str(path):
            raise InvalidArgument(field, REFUSED)
        st = os.fstat(fd)
        if not directory and not (stat.S_ISREG(st.st_mode) and st.st_nlink == 1):
            raise InvalidArgument(field, REFUSED)
        yield Path(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)
