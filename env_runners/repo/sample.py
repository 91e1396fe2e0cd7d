"""The sample repository: the source distribution of `toolz` (small, pure Python, 190 tests in about a second).

`make` downloads it once from PyPI at set-up time (`pip download --no-binary :all: --no-deps toolz==1.2.0`)
into `<data dir>/envs/repo/`; the runner image carries it in /opt/lbi-envs/repo (read-only, extracted
into the data directory on first use). Nothing is downloaded at run time.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from lbi.errors import FailedPrecondition

SDIST = "toolz-1.2.0"
SHIPPED = Path("/opt/lbi-envs/repo")  # where the runner image puts the archive


def ensure(data_dir: Path) -> Path:
    """The extracted sample repository under the data directory (extracted on first use)."""
    root = Path(data_dir) / "envs" / "repo"
    folder = root / SDIST
    if folder.is_dir():
        return folder
    archive = root / f"{SDIST}.tar.gz"
    if not archive.exists() and (SHIPPED / archive.name).exists():
        archive = SHIPPED / archive.name
    if not archive.exists():
        raise FailedPrecondition(
            f"the sample repository is not on this machine ({archive}); run `make` or "
            f"`pip download --no-binary :all: --no-deps toolz==1.2.0 -d {root}`, or set config.repo"
        )
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return folder
