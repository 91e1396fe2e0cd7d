"""Folders built beside their final place and published with one rename, so a build that dies half-way is never
taken for a finished one (a folder counts as built once its manifest.json exists)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path


def staging_for(folder: Path) -> Path:
    """A fresh, empty folder next to `folder`, private to this process."""
    staging = folder.with_name(f".{folder.name}.building-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def tree_size(path: Path) -> int:
    """Bytes under a folder (du, which counts hard links once)."""
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else 0


def publish(staging: Path, folder: Path, manifest: dict) -> None:
    """Writes the manifest into the staging folder and puts it in `folder`'s place."""
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
