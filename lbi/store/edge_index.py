"""HNSW indexes for the embedded store, built beside the live shard without stopping it, one build per collection.

qdrant-edge searches a collection exactly until `optimize()` builds its HNSW index: 14 ms per query at 100k
vectors here against 2 ms indexed. But `optimize()` holds the Python interpreter (the GIL) for its whole run,
minutes at that size, and a shard is owned by one process. So the index is built on a copy, in a child process:

1. under the collection's write lock: flush, note its write generation, copy its folder to `.indexing-<name>`;
2. a child process (`python -m lbi.store.edge_index FOLDER PARENT_PID`) opens the copy, optimizes it, closes it;
3. under the write lock again: if nothing was written since the copy, the indexed copy replaces the folder (the old
   one is moved to `.retired-<name>` and removed) and is opened in place of the old shard (searches see it from their
   next call); otherwise it is thrown away and tried again once writes have been quiet.

Two callers ask for builds: the background scheduler (`note_write`: once a collection holds `threshold` vectors
that are not indexed and no write came for `quiet_s` seconds, as the Qdrant server does past its indexing
threshold) and `index_now` (benchmarks, `lbi datasets index`). Whoever asks, a collection has one build at a time:
in this process a second request waits for the running build and is answered by it when that build holds every
write made before the request (else a new build follows); across processes the build holds an exclusive lock
(`flock`) on `.index-locks/<name>`, which the child inherits, so the lock is free only when no builder of that
collection is alive. Only the lock's holder touches the copy, and a copy or a half-done swap a dead process left
is cleaned at the next start only if its lock is free. The child dies with the process that started it.

A build that fails leaves the live shard serving exact search; the background scheduler logs why (one line per
failed build) and tries again after `retry_s`, doubling up to an hour; `index_now` raises `IndexBuildFailed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import qdrant_edge as qe

from lbi.store.base import CollectionNotFound, StoreUnavailable

log = logging.getLogger(__name__)
STAGING = ".indexing-"  # prefix of the copies being indexed, beside the collections
RETIRED = ".retired-"  # prefix of a live folder an indexed copy replaced, until it is removed
LOCKS = ".index-locks"  # folder of the build locks, one file per collection (kept: removing one races its users)
LOCK_POLL_S = 0.2
MAX_RETRY_S = 3600.0


class IndexBuildFailed(RuntimeError):
    """An index build failed (the child process, the copy or the swap); the live shard is as it was."""


class Swappable(Protocol):
    """What the indexer needs of the store: a consistent copy of a collection, and the swap."""

    def copy_for_index(self, name: str, staging: Path) -> int:
        """Copies the collection's folder under its write lock; returns its write generation then."""

    def swap_indexed(self, name: str, staging: Path, generation: int) -> bool:
        """Puts the indexed copy in place if the collection's generation is still `generation`."""


def _try_lock(path: Path) -> int | None:
    """A descriptor holding the exclusive lock on `path`, or None when another holds it."""
    path.parent.mkdir(exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _last_lines(text: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:]) or "no message"


class EdgeIndexer:
    """Schedules and runs the index builds of one EdgeStore, one per collection at a time."""

    builder: tuple[str, ...] = (sys.executable, "-m", "lbi.store.edge_index")  # + the copy's folder and our pid

    def __init__(
        self, store: Swappable, root: Path, threshold: int, quiet_s: float = 30.0, retry_s: float = 300.0
    ) -> None:
        self.store, self.root, self.threshold = store, root, threshold
        self.quiet_s, self.retry_s = quiet_s, retry_s
        self.generation: dict[str, int] = {}  # writes per collection, counted under its write lock
        self._live: dict[str, int] = {}  # the generation the live index holds every write of
        self._last_write: dict[str, float] = {}
        self._scheduled: dict[str, threading.Thread] = {}
        self._building: set[str] = set()
        self._children: set[subprocess.Popen[str]] = set()
        self._state = threading.Condition()
        self._closed = threading.Event()
        self._clean_leftovers()

    # -- what the store reports ------------------------------------------------------------------------------

    def note_write(self, name: str, shard: qe.EdgeShard) -> None:
        """Under `name`'s write lock, after a write: count it, and start a build in the background when one is due."""
        with self._state:
            self.generation[name] = self.generation.get(name, 0) + 1
            self._last_write[name] = time.monotonic()
            self._schedule(name, shard)

    def note_open(self, name: str, shard: qe.EdgeShard) -> None:
        """After loading `name` from disk: a collection a previous process left unindexed gets its build."""
        with self._state:
            self._last_write.setdefault(name, time.monotonic())
            self._schedule(name, shard)

    def forget(self, name: str) -> None:
        """`name` was deleted: a build running on its copy must not swap it in (nor into a new collection so named)."""
        with self._state:
            self.generation[name] = self.generation.get(name, 0) + 1
            self._live.pop(name, None)

    def _schedule(self, name: str, shard: qe.EdgeShard) -> None:
        if not self.threshold or name in self._scheduled or self._closed.is_set():
            return
        info = shard.info()
        if info.points_count - info.indexed_vectors_count < self.threshold:
            return
        thread = threading.Thread(target=self._build_when_quiet, args=(name,), daemon=True, name=f"index-{name}")
        self._scheduled[name] = thread
        thread.start()

    # -- who asks for builds ---------------------------------------------------------------------------------

    async def index_now(self, name: str) -> bool:
        """Returns once the live index of `name` holds every write made before the call (True), or False when writes
        made after it overtook three builds in a row (the background builder tries again once they pause). Raises
        IndexBuildFailed when the build fails."""
        return await asyncio.to_thread(self._ensure, name, self.generation.get(name, 0), 3)

    def _build_when_quiet(self, name: str) -> None:
        retry_s = self.retry_s
        try:
            while not self._closed.is_set():
                wait = self._last_write.get(name, 0.0) + self.quiet_s - time.monotonic()
                if wait > 0:
                    self._closed.wait(wait)
                    continue
                try:
                    if self._ensure(name, self.generation.get(name, 0), 1):
                        return
                except IndexBuildFailed as exc:
                    log.warning(
                        "the HNSW index of %s was not built (its searches stay exact; next try in %.0fs): %s",
                        name,
                        retry_s,
                        exc,
                    )
                    self._closed.wait(retry_s)
                    retry_s = min(2 * retry_s, MAX_RETRY_S)
        except (CollectionNotFound, StoreUnavailable):
            pass  # deleted or closed meanwhile: nothing left to index
        except Exception:
            log.exception("the background index builder of %s stopped; its searches stay exact", name)
        finally:
            with self._state:
                self._scheduled.pop(name, None)

    def _ensure(self, name: str, generation: int, attempts: int) -> bool:
        """Returns True once the live index holds `name`'s writes up to `generation`, building it unless a build
        already running (waited for, never doubled) does; False when writes overtook `attempts` builds."""
        for _ in range(attempts):
            with self._state:
                self._state.wait_for(lambda: name not in self._building or self._closed.is_set())
                self._check_open()
                if self._live.get(name, -1) >= generation:
                    return True
                self._building.add(name)
            built = None
            try:
                built = self._build(name)
            finally:
                with self._state:
                    self._building.discard(name)
                    if built is not None:
                        self._live[name] = max(self._live.get(name, -1), built)
                    self._state.notify_all()
        with self._state:
            return self._live.get(name, -1) >= generation

    # -- one build -------------------------------------------------------------------------------------------

    def _build(self, name: str) -> int | None:
        """One build under `name`'s build lock: the generation it made live, or None when writes overtook it."""
        staging = self.root / f"{STAGING}{name}"
        with self._build_lock(name) as lock_fd:
            shutil.rmtree(staging, ignore_errors=True)  # left by a dead builder: the lock says none is alive
            started = time.monotonic()
            try:
                generation = self.store.copy_for_index(name, staging)
                self._optimize_copy(staging, lock_fd)
                swapped = self.store.swap_indexed(name, staging, generation)
            except StoreUnavailable:
                raise
            except OSError as exc:
                raise IndexBuildFailed(f"{type(exc).__name__}: {exc}") from exc
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        log.info(
            "HNSW index of %s built in %.1fs%s",
            name,
            time.monotonic() - started,
            "" if swapped else "; written to meanwhile, so dropped",
        )
        return generation if swapped else None

    @contextlib.contextmanager
    def _build_lock(self, name: str) -> Iterator[int]:
        """Holds `name`'s build lock, waiting while another builder (of any process) holds it."""
        path = self.root / LOCKS / name
        while (fd := _try_lock(path)) is None:
            if self._closed.wait(LOCK_POLL_S):
                self._check_open()
        try:
            yield fd
        finally:
            os.close(fd)

    def _optimize_copy(self, staging: Path, lock_fd: int) -> None:
        """Runs the child on the copy; it holds the build lock too, so the lock outlives it if this process dies."""
        child = subprocess.Popen(
            [*self.builder, str(staging), str(os.getpid())],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            pass_fds=(lock_fd,),
        )
        with self._state:
            self._children.add(child)
            if self._closed.is_set():
                child.kill()
        try:
            _, errors = child.communicate()
        finally:
            with self._state:
                self._children.discard(child)
        self._check_open()
        if child.returncode != 0:
            raise IndexBuildFailed(f"the index builder exited with {child.returncode}: {_last_lines(errors)}")

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise StoreUnavailable("the embedded store is closed")

    # -- start and stop --------------------------------------------------------------------------------------

    def _clean_leftovers(self) -> None:
        """Removes the copies and retired folders dead builders left, first putting back a live folder that a swap
        cut short had moved aside. A folder whose collection's build lock is held belongs to a live builder: kept."""
        for folder in sorted(self.root.glob(f"{STAGING}*")) + sorted(self.root.glob(f"{RETIRED}*")):
            name = folder.name.removeprefix(STAGING).removeprefix(RETIRED)
            fd = _try_lock(self.root / LOCKS / name)
            if fd is None:
                continue
            try:
                live = self.root / name
                if folder.name.startswith(RETIRED) and not live.exists():
                    folder.rename(live)
                else:
                    shutil.rmtree(folder, ignore_errors=True)
            finally:
                os.close(fd)

    def close(self) -> None:
        """Stops every build of this store: running children are killed (their copies dropped), waiters give up."""
        self._closed.set()
        with self._state:
            for child in self._children:
                child.kill()
            self._state.notify_all()
            self._state.wait_for(lambda: not self._building, timeout=60)
            threads = list(self._scheduled.values())
        for thread in threads:
            thread.join(timeout=60)


def _die_with_parent(parent: int) -> None:
    """Asks Linux to kill this process when its parent dies (an orphaned build could never be swapped in)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:
        sys.exit("the process that asked for this build is gone")


def _optimize(folder: str) -> None:
    shard = qe.EdgeShard.load(folder)
    try:
        shard.optimize()
        shard.flush()
    finally:
        shard.close()


if __name__ == "__main__":
    _die_with_parent(int(sys.argv[2]))
    _optimize(sys.argv[1])
