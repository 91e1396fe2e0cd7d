"""HNSW indexes for the embedded store, built beside the live shard without stopping it.

qdrant-edge searches a collection exactly until `optimize()` builds its HNSW index: 14 ms per query at 100k
vectors here against 2 ms indexed. But `optimize()` holds the Python interpreter (the GIL) for its whole run,
minutes at that size, and a shard is owned by one process. So the index is built on a copy, in a child process:

1. under the collection's write lock: flush, note its write generation, copy its folder;
2. a child process (`python -m lbi.store.edge_index FOLDER`) opens the copy, optimizes it, closes it;
3. under the write lock again: if nothing was written since the copy, the indexed copy replaces the folder and
   is opened in place of the old shard (searches see it from their next call); otherwise it is thrown away and
   tried again once writes have been quiet.

`EdgeIndexer.note_write` is called after every write; once a collection holds `threshold` vectors that are not
indexed and no write came for `quiet_s` seconds, it is indexed (the Qdrant server does the same on its own,
past its indexing threshold). A copy left by a crash is removed at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Protocol

import qdrant_edge as qe

log = logging.getLogger(__name__)
STAGING = ".indexing-"  # prefix of the copies being indexed, beside the collections


class Swappable(Protocol):
    """What the indexer needs of the store: a consistent copy of a collection, and the swap."""

    def copy_for_index(self, name: str, staging: Path) -> int:
        """Copies the collection's folder under its write lock; returns its write generation then."""

    def swap_indexed(self, name: str, staging: Path, generation: int) -> bool:
        """Puts the indexed copy in place if the collection's generation is still `generation`."""


class EdgeIndexer:
    """Schedules and runs index builds for one EdgeStore."""

    def __init__(self, store: Swappable, root: Path, threshold: int, quiet_s: float = 30.0):
        self.store, self.root, self.threshold, self.quiet_s = store, root, threshold, quiet_s
        self.generation: dict[str, int] = {}
        self._last_write: dict[str, float] = {}
        self._running: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        for stale in root.glob(STAGING + "*"):
            shutil.rmtree(stale, ignore_errors=True)

    def note_write(self, name: str, shard: qe.EdgeShard) -> None:
        """After a write to `name`: count it, and start a build in the background when one is due."""
        with self._lock:
            self.generation[name] = self.generation.get(name, 0) + 1
            self._last_write[name] = time.monotonic()
            if not self.threshold or name in self._running:
                return
            info = shard.info()
            if info.points_count - info.indexed_vectors_count < self.threshold:
                return
            thread = threading.Thread(target=self._build_when_quiet, args=(name,), daemon=True, name=f"index-{name}")
            self._running[name] = thread
        thread.start()

    def _build_when_quiet(self, name: str) -> None:
        try:
            while True:
                wait = self._last_write.get(name, 0.0) + self.quiet_s - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                    continue
                if self.build(name):
                    return
        except Exception:
            log.exception("building the HNSW index of %s failed; its searches stay exact", name)
        finally:
            with self._lock:
                self._running.pop(name, None)

    def build(self, name: str) -> bool:
        """Builds `name`'s index now (blocking this thread, not the interpreter): True when it replaced the live
        shard, False when writes came meanwhile (the copy is dropped)."""
        staging = self.root / f"{STAGING}{name}"
        shutil.rmtree(staging, ignore_errors=True)
        generation = self.store.copy_for_index(name, staging)
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "lbi.store.edge_index", str(staging)], capture_output=True, text=True
        )
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise RuntimeError(f"the index builder exited with {result.returncode}: {result.stderr[-2000:]}")
        swapped = self.store.swap_indexed(name, staging, generation)
        shutil.rmtree(staging, ignore_errors=True)
        log.info(
            "HNSW index of %s built in %.1fs%s",
            name,
            time.monotonic() - started,
            "" if swapped else "; written to meanwhile, so dropped",
        )
        return swapped

    async def index_now(self, name: str) -> bool:
        """Builds `name`'s index and waits for it (benchmarks, `lbi datasets index`)."""
        return await asyncio.to_thread(self.build, name)


def _optimize(folder: str) -> None:
    shard = qe.EdgeShard.load(folder)
    try:
        shard.optimize()
        shard.flush()
    finally:
        shard.close()


if __name__ == "__main__":
    _optimize(sys.argv[1])
