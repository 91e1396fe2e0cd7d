"""The env-runner endpoints a job uses: round-robin, another endpoint after a runner failure, and (with
runner pods on Kubernetes) a replacement for a runner whose pod died."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

import grpc

from lbi.clients.runner import RunnerClient

# Status codes that mean the runner (not the action) failed; the rollout restarts elsewhere.
RUNNER_FAILURES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
}


class RunnerPool:
    def __init__(
        self,
        endpoints: list[str],
        timeout_s: float = 60.0,
        token: str = "",
        replacer: Callable[[str], Awaitable[str | None]] | None = None,
    ):
        if not endpoints:
            raise ValueError("a runner pool needs at least one endpoint")
        self.timeout_s, self.token = timeout_s, token
        self.clients = [RunnerClient(e, timeout_s=timeout_s, token=token) for e in endpoints]
        self._next = itertools.cycle(range(len(self.clients)))
        self._replacer = replacer
        self.replaced = 0

    async def report_failure(self, client: RunnerClient) -> None:
        """A runner failed: with a replacer (runner pods), a dead runner's pod is replaced and its slot repointed."""
        if self._replacer is None:
            return
        new = await self._replacer(client.target)
        if new is None:
            return
        for index, current in enumerate(self.clients):
            if current.target == client.target:
                self.clients[index] = RunnerClient(new, timeout_s=self.timeout_s, token=self.token)
                await current.close()
                self.replaced += 1

    def pick(self) -> RunnerClient:
        """The next runner in turn (a retry moves on to another one)."""
        return self.clients[next(self._next)]

    @property
    def first(self) -> RunnerClient:
        return self.clients[0]

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
