"""A synthesis service SIGKILLed while its online job learns a batch of episodes loses no accepted episode and
doubles nothing: after restarts it holds exactly the examples an uninterrupted service learned.

Kills (synth_service/journal.py's fault hook) land after the second committee write (episodes judged, none or
some ingested) and after the second `learned` row (some episodes done, the rest of the batch not). Reports the
service acknowledged are never re-sent; a report that failed because the process died is sent again after the
restart, as the SDK's reporter would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import yaml

from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.records import Step

LBI = str(Path(sys.executable).parent / "lbi")


def _episodes() -> list[tuple[str, str, list[Step], str]]:
    episodes = []
    for sensor in (3, 5, 7, 9):
        steps = [
            Step(
                "Tables: sensors(id, name, status), readings(sensor_id, celsius, taken_at)",
                f"SELECT AVG(celsius) FROM readings WHERE sensor_id = {sensor};",
            ),
            Step(f"avg\n{20 + sensor}.5", f"UPDATE sensors SET status = 'checked' WHERE id = {sensor};"),
        ]
        episodes.append((f"ep-{sensor}", f"Check sensor {sensor} and mark it checked", steps, "1 row updated"))
    return episodes


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data_dir: Path, port: int, kill_after: str = "") -> subprocess.Popen:
    policy = data_dir / "online.yaml"
    policy.write_text(
        yaml.safe_dump({"datasets": {"benches": {"accept_episodes": True, "env": "sql", "batch_episodes": 4}}})
    )
    env = {**os.environ, "LBI_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "LBI_ONLINE_POLICY_FILE": str(policy)}
    env.pop("LBI_TEST_FAULT_KILL_AFTER", None)
    if kill_after:
        env["LBI_TEST_FAULT_KILL_AFTER"] = kill_after
    return subprocess.Popen(
        [LBI, "synth", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _ready(client: AsyncRetrievalClient, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return
        try:
            await client.online_stats("benches")
            return
        except grpc.aio.AioRpcError:
            await asyncio.sleep(0.2)
    raise AssertionError("the service did not start")


async def _run(data_dir: Path, kills: list[str]) -> tuple[set[str], int, int]:
    """Reports every episode, through as many service lives as `kills` + 1; returns (example ids, received, learned)."""
    data_dir.mkdir()
    port = _port()
    pending = _episodes()
    died = 0
    for _life, kill_after in enumerate([*kills, ""]):
        process = _start(data_dir, port, kill_after)
        client = AsyncRetrievalClient(f"127.0.0.1:{port}", timeout_s=30)
        try:
            await _ready(client, process)
            while pending and process.poll() is None:
                episode_id, task, steps, final = pending[0]
                try:
                    answer = await client.report_episode("benches", episode_id, task, steps, final, "success")
                except grpc.aio.AioRpcError as exc:
                    assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc
                    break  # died before answering: send it again to the next life
                # acknowledged means journaled: never sent twice
                assert answer.accepted and not answer.duplicate, answer
                pending.pop(0)
            if kill_after:
                code = process.wait(timeout=120)
                assert code == -signal.SIGKILL, (process.stderr.read() if process.stderr else "")[-2000:]
                died += 1
                continue
            deadline = time.monotonic() + 120
            while (stats := await client.online_stats("benches")).episodes_learned < 4:
                assert time.monotonic() < deadline, stats
                await asyncio.sleep(0.1)
        finally:
            await client.close(0)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
    assert died == len(kills) and not pending
    from lbi.store.edge import EdgeStore

    store = EdgeStore(data_dir / "qdrant")
    try:
        hits, _ = await store.scroll("benches__examples", 10_000)
        states = await store.count("benches__steps")
    finally:
        await store.close()
    return {h.payload["id"] for h in hits}, stats.episodes_received, states


async def test_a_sigkill_mid_batch_loses_no_accepted_episode_and_doubles_nothing(tmp_path):
    clean_ids, clean_received, clean_states = await _run(tmp_path / "clean", [])
    crash_ids, crash_received, crash_states = await _run(tmp_path / "crash", ["filtered:2", "learned:2"])
    assert clean_received == crash_received == 4
    assert clean_ids and crash_ids == clean_ids
    assert crash_states == clean_states
