"""One HNSW build per collection at a time, whoever asks: the background builder, `index_now` in the same process, or
another process on the same data directory. A second request waits for the running build, never touches its copy,
and returns once the index holding every write made before it is live; a build that fails leaves exact search
serving, says why once in the log and is tried again later; a builder killed with its process leaves a copy that
the next one removes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lbi.store.base import CollectionSpec, PointData
from lbi.store.edge import EdgeStore

SPEC = CollectionSpec(dense={"v": 64}, keyword_fields=("dataset",))
ROOT = str(Path(__file__).resolve().parents[2])


def _points(rng: np.random.Generator, n: int) -> list[PointData]:
    vectors = rng.standard_normal((n, 64))
    return [
        PointData(str(uuid.UUID(int=int(rng.integers(1 << 62)))), {"v": v.tolist()}, {"dataset": "d", "i": i})
        for i, v in enumerate(vectors)
    ]


async def _filled(store: EdgeStore, n: int, seed: int) -> list[PointData]:
    await store.ensure_collection("c", SPEC)
    points = _points(np.random.default_rng(seed), n)
    for start in range(0, n, 1000):
        await store.upsert("c", points[start : start + 1000])
    return points


def _indexed(store: EdgeStore) -> int:
    return store._shard("c").info().indexed_vectors_count


def _builders(folder: Path) -> list[int]:
    """Ids of the index-builder processes (`python -m lbi.store.edge_index`) working under `folder`."""
    found = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            command = (proc / "cmdline").read_bytes()
            if b"lbi.store.edge_index" in command and str(folder).encode() in command:
                found.append(int(proc.name))
    return found


def _ended(pid: int) -> bool:
    """The process is gone or a zombie (it has let go of its files, and so of its locks)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


def _problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("lbi.store") and r.levelno >= logging.WARNING]


async def _until(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + 180
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)


async def _search_finds(store: EdgeStore, point: PointData) -> bool:
    return (await store.search("c", ("v", point.vectors["v"]), 1))[0].id == point.id


async def test_an_index_request_during_the_background_build_waits_for_it(tmp_path, caplog):
    """The background build's copy is taken, then more points come, then `index_now`: it leaves the running build
    alone and returns once an index holding those points too is live."""
    store = EdgeStore(tmp_path, index_threshold=1000, index_quiet_s=0.2)
    points = await _filled(store, 6000, seed=5)
    await _until(lambda: _builders(tmp_path), "the background build started")
    late = _points(np.random.default_rng(6), 10)
    await store.upsert("c", late)  # after the running build's copy: that build cannot hold them
    assert await store.index("c") is True
    assert _indexed(store) == 6010 and await store.count("c") == 6010
    assert await _search_finds(store, late[0]) and await _search_finds(store, points[0])
    assert not _problems(caplog)
    await store.close()
    assert not _builders(tmp_path) and not list(tmp_path.glob(".indexing-*"))


async def test_a_store_closed_mid_build_leaves_the_next_one_on_the_folder_to_build(tmp_path, caplog):
    """The benchmark's first run: the store that wrote the data closes while its background build runs, and a new
    store on the same folder asks for the index at once."""
    first = EdgeStore(tmp_path, index_threshold=1000, index_quiet_s=0.2)
    points = await _filled(first, 6000, seed=8)
    await _until(lambda: _builders(tmp_path), "the background build started")
    await first.close()
    second = EdgeStore(tmp_path, index_threshold=0)
    assert await second.index("c") is True and _indexed(second) == 6000
    assert await _search_finds(second, points[1]) and not _problems(caplog)
    await second.close()
    assert not _builders(tmp_path) and not list(tmp_path.glob(".indexing-*"))


OTHER_PROCESS = """
import asyncio, sys
from pathlib import Path
from lbi.store.edge import EdgeStore

async def main():
    store = EdgeStore(Path(sys.argv[1]))
    try:
        print("indexed" if await store.index("c") else "not indexed")
    except Exception as exc:
        print(type(exc).__name__, exc)
    finally:
        await store.close()

asyncio.run(main())
"""


async def test_another_process_on_the_same_store_leaves_a_running_build_alone(tmp_path, caplog):
    """A service builds an index; beside it a second process opens the same data directory and asks for the index
    (`lbi datasets index`): it cannot open the shard the service owns and says so, and the service's build goes on."""
    store = EdgeStore(tmp_path, index_threshold=1000, index_quiet_s=0.2)
    await _filled(store, 12000, seed=7)
    await _until(lambda: _builders(tmp_path), "the background build started")
    other = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", OTHER_PROCESS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.startswith("StoreUnavailable") and "cannot open the embedded collection c" in other.stdout
    await _until(lambda: _indexed(store) >= 12000 or _problems(caplog), "the build ended")
    assert _indexed(store) == 12000 and not _problems(caplog)
    await store.close()
    assert not list(tmp_path.glob(".indexing-*"))


KILLED_MID_BUILD = """
import asyncio, sys, uuid
from pathlib import Path
import numpy as np
from lbi.store.base import CollectionSpec, PointData
from lbi.store.edge import EdgeStore

async def main():
    store = EdgeStore(Path(sys.argv[1]), index_threshold=0)
    await store.ensure_collection("c", CollectionSpec(dense={"v": 64}))
    vectors = np.random.default_rng(9).standard_normal((6000, 64))
    points = [PointData(str(uuid.UUID(int=i + 1)), {"v": v.tolist()}, {"i": i}) for i, v in enumerate(vectors)]
    await store.upsert("c", points)
    await store.index("c")

asyncio.run(main())
"""


async def test_a_restart_in_the_middle_of_a_build(tmp_path, caplog):
    """The process building an index is killed: its builder dies with it, the next process finds the collection whole,
    removes the copy the dead one left and builds the index itself."""
    service = subprocess.Popen([sys.executable, "-c", KILLED_MID_BUILD, str(tmp_path)], cwd=ROOT)
    try:
        await _until(lambda: _builders(tmp_path) or service.poll() is not None, "the build started")
        (builder,) = _builders(tmp_path)
    finally:
        service.send_signal(signal.SIGKILL)
        service.wait()
    await _until(lambda: _ended(builder), "the dead process's builder ended")
    assert list(tmp_path.glob(".indexing-*"))  # the copy it was optimizing
    store = EdgeStore(tmp_path, index_threshold=0)
    assert not list(tmp_path.glob(".indexing-*"))
    assert await store.count("c") == 6000
    assert await store.index("c") is True and _indexed(store) == 6000
    assert not _problems(caplog)
    await store.close()


async def test_a_swap_cut_short_by_a_crash_puts_the_live_folder_back(tmp_path):
    """A process that died between moving the live folder aside and moving the indexed copy in: the next start puts
    the old live folder back (the copy's build is simply lost)."""
    from lbi.store.edge_index import RETIRED, STAGING

    store = EdgeStore(tmp_path, index_threshold=0)
    points = await _filled(store, 300, seed=11)
    await store.close()
    (tmp_path / "c").rename(tmp_path / f"{RETIRED}c")
    (tmp_path / f"{STAGING}c").mkdir()
    reopened = EdgeStore(tmp_path, index_threshold=0)
    assert await reopened.list_collections() == ["c"] and await reopened.count("c") == 300
    assert await _search_finds(reopened, points[7])
    assert not list(tmp_path.glob(f"{STAGING}*")) and not list(tmp_path.glob(f"{RETIRED}*"))
    await reopened.close()


async def test_a_failed_build_leaves_exact_search_says_why_once_and_is_tried_again(tmp_path, caplog):
    from lbi.store.edge_index import IndexBuildFailed

    store = EdgeStore(tmp_path, index_threshold=500, index_quiet_s=0.1)
    store.indexer.builder = (sys.executable, "-c", "import sys; sys.exit('IO Error: no space left on device')")
    store.indexer.retry_s = 2.0
    points = await _filled(store, 1000, seed=13)
    await _until(lambda: _problems(caplog), "the failure was logged")
    (failure,) = _problems(caplog)
    assert "no space left on device" in failure.getMessage() and failure.exc_info is None
    assert _indexed(store) == 0 and await _search_finds(store, points[3])  # exact search, on the same live shard
    more = _points(np.random.default_rng(14), 5)
    await store.upsert("c", more)
    assert await store.count("c") == 1005 and await _search_finds(store, more[2])
    with pytest.raises(IndexBuildFailed, match="no space left on device"):
        await store.index("c")  # asked for explicitly: the caller hears why
    del store.indexer.builder  # the disk is fine again: the next try succeeds
    await _until(lambda: _indexed(store) >= 1005, "the build was tried again")
    assert await _search_finds(store, points[3]) and not list(tmp_path.glob(".indexing-*"))
    assert all("no space left on device" in r.getMessage() for r in _problems(caplog))
    await store.close()
    assert os.listdir(tmp_path / "c")
