"""The env-runner endpoints a job uses: round-robin, and another endpoint after a runner failure."""

from __future__ import annotations

import itertools

import grpc

from lbi.clients.runner import RunnerClient

# Status codes that mean the runner (not the action) failed; the rollout restarts elsewhere.
RUNNER_FAILURES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.NOT_FOUND,
                   grpc.StatusCode.CANCELLED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}


class RunnerPool:
    def __init__(self, endpoints: list[str], timeout_s: float = 60.0, token: str = ""):
        if not endpoints:
            raise ValueError("a runner pool needs at least one endpoint")
        self.clients = [RunnerClient(e, timeout_s=timeout_s, token=token) for e in endpoints]
        self._next = itertools.cycle(range(len(self.clients)))

    def pick(self) -> RunnerClient:
        """The next runner in turn (a retry moves on to another one)."""
        return self.clients[next(self._next)]

    @property
    def first(self) -> RunnerClient:
        return self.clients[0]

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
