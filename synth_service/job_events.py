"""Progress events of the jobs in this process: published by the running jobs, streamed to watchers (WatchJob)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "BUDGET_EXHAUSTED"}


class JobEvents:
    def __init__(self) -> None:
        self._watchers: dict[str, list[asyncio.Queue]] = defaultdict(list)

    def publish(self, job_id: str, event: dict[str, Any]) -> None:
        event = {"job_id": job_id, "time": time.time(), **event}
        for queue in self._watchers.get(job_id, []):
            queue.put_nowait(event)

    def publisher(self, job_id: str) -> Callable[[dict[str, Any]], None]:
        """A running job's publish function: its events, marked RUNNING."""
        return lambda event: self.publish(job_id, {"state": "RUNNING", **event})

    async def watch(self, job: dict[str, Any], live: bool) -> AsyncIterator[dict[str, Any]]:
        """Events until the job reaches a terminal state; the first is the job's current snapshot. `live`: a task of
        this process runs the job (a finished job's stream ends after its snapshot)."""
        job_id = job["id"]
        queue: asyncio.Queue = asyncio.Queue()
        self._watchers[job_id].append(queue)
        try:
            yield {"job_id": job_id, "state": job["state"], "stage": job["stage"], "snapshot": True}
            if job["state"] in TERMINAL and not live:
                return
            while True:
                event = await queue.get()
                yield event
                if event.get("state") in TERMINAL:
                    return
        finally:
            self._watchers[job_id].remove(queue)
            if not self._watchers[job_id]:
                del self._watchers[job_id]

    def watchers(self, job_id: str) -> int:
        """Open watch streams of a job (a cancelled stream leaves at once)."""
        return len(self._watchers.get(job_id, ()))
