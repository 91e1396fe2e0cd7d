"""The readiness of a service follows its vector store: NOT_SERVING while the store is down, back by itself.

A background task pings the store every `health_interval_s`; a request that meets StoreUnavailable marks
the service NOT_SERVING at once; the next ping that succeeds sets SERVING again, without a restart. Only
the service's own name changes status: the overall status ("") stays SERVING while the process lives, so
a Kubernetes liveness probe (service "") does not restart a pod that a readiness probe (the service's
name) takes out of rotation while Qdrant is away.
"""

from __future__ import annotations

import asyncio
import logging

from lbi.grpc_server import Server
from lbi.store.base import StoreUnavailable, VectorStore

log = logging.getLogger(__name__)


class StoreHealth:
    def __init__(self, store: VectorStore, server: Server, service_name: str, interval_s: float):
        self.store = store
        self.server = server
        self.service_name = service_name
        self.interval_s = interval_s
        self.serving: bool | None = None
        self.reason = ""
        self._task: asyncio.Task | None = None
        self._pending: set[asyncio.Task] = set()

    async def _set(self, serving: bool, reason: str = "") -> None:
        if serving != self.serving:
            (log.info if serving else log.warning)(
                "%s: store %s%s", self.service_name, "available" if serving else "unavailable: ", reason
            )
            await self.server.set_serving(self.service_name, serving)
        self.serving, self.reason = serving, reason

    async def check(self) -> bool:
        """Pings the store once (bounded by the interval) and sets the status from the answer."""
        try:
            await asyncio.wait_for(self.store.ping(), timeout=max(self.interval_s, 1.0))
        except (TimeoutError, StoreUnavailable) as exc:
            await self._set(False, str(exc) or "ping timed out")
        except Exception as exc:
            log.exception("store ping failed")
            await self._set(False, f"{type(exc).__name__}: {exc}")
        else:
            await self._set(True)
        return bool(self.serving)

    def report_unavailable(self, reason: str) -> None:
        """Called by a request that found the store down: NOT_SERVING now, not at the next ping."""
        if self.serving is not False:
            task = asyncio.get_running_loop().create_task(self._set(False, reason))
            self._pending.add(task)  # a task nobody references may be collected before it runs
            task.add_done_callback(self._pending.discard)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check()

    async def start(self) -> None:
        await self.check()
        self._task = asyncio.get_running_loop().create_task(self._loop())
        self.server.on_stop(self.stop)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
