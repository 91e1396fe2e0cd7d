"""The sample repository: the source distribution of `toolz` (small, pure Python, 190 tests in about a second).

`make` downloads it once from PyPI at set-up time (`pip download --no-binary :all: --no-deps toolz==1.2.0`)
into `<data dir>/envs/repo/`; nothing is downloaded at run time.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from lbi.errors import FailedPrecondition

SDIST = "toolz-1.2.0"


def ensure(data_dir: Path) -> Path:
    """The extracted sample repository under the data directory (extracted on first use)."""
    root = Path(data_dir) / "envs" / "repo"
    folder = root / SDIST
    if folder.is_dir():
        return folder
    archive = root / f"{SDIST}.tar.gz"
    if not archive.exists():
        raise FailedPrecondition(f"the sample repository is not on this machine ({archive}); run `make` or "
                                 f"`pip download --no-binary :all: --no-deps toolz==1.2.0 -d {root}`, or set config.repo")
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return folder
