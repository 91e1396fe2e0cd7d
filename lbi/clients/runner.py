"""Async client of the EnvRunner service, speaking records and plain Python values."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from lbi.clients.channel import open_channel
from lbi.evaluation.traveling import attach
from lbi.records import Resource, to_struct
from lbi.v1 import env_runner_pb2 as pb
from lbi.v1 import env_runner_pb2_grpc


@dataclass
class Observation:
    text: str
    done: bool = False
    error: bool = False
    truncated: bool = False
    reward: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class EnvironmentDescription:
    name: str
    description: str
    action_space: str
    config_schema: dict[str, Any]
    notes: list[str]
    check_schema: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Judgement:
    ok: bool
    reason: str
    check_error: bool = False


class RunnerClient:
    """One channel to one runner; use as `async with RunnerClient(target) as runner:`."""

    def __init__(
        self,
        target: str,
        timeout_s: float = 60.0,
        token: str = "",
        ca_file: str | None = None,
        files_dir: Path | None = None,
    ):
        self.target = target
        self.files_dir = files_dir  # where the files a session config names are read (lbi.evaluation.traveling)
        self.timeout_s = timeout_s
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._channel = open_channel(target, ca_file)
        self._stub = env_runner_pb2_grpc.EnvRunnerStub(self._channel)

    async def __aenter__(self) -> RunnerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def list_environments(self) -> list[EnvironmentDescription]:
        response = await self._stub.ListEnvironments(
            pb.ListEnvironmentsRequest(), timeout=self.timeout_s, metadata=self._metadata
        )
        return [
            EnvironmentDescription(
                e.name,
                e.description,
                e.action_space,
                json_format.MessageToDict(e.config_schema),
                list(e.notes),
                json_format.MessageToDict(e.check_schema),
            )
            for e in response.environments
        ]

    async def resources(
        self, env: str, config: dict[str, Any] | None = None, timeout_s: float = 600.0
    ) -> list[Resource]:
        """The environment's documentation and what it discovers about itself (a crawl, a test run: minutes, not
        a step's seconds, hence its own deadline)."""
        stream = self._stub.GetResources(
            pb.GetResourcesRequest(env=env, config=to_struct(config)), timeout=timeout_s, metadata=self._metadata
        )
        return [Resource.from_proto(r) async for r in stream]

    async def open_session(self, env: str, config: dict[str, Any] | None = None) -> tuple[str, Observation]:
        files = [pb.SessionFile(sha256=sha, content=content) for sha, content in attach(config or {}, self.files_dir)]
        response = await self._stub.OpenSession(
            pb.OpenSessionRequest(env=env, config=to_struct(config), files=files),
            timeout=self.timeout_s,
            metadata=self._metadata,
        )
        return response.session_id, Observation(response.observation, info=json_format.MessageToDict(response.info))

    async def step(self, session_id: str, action: str) -> Observation:
        r = await self._stub.Step(
            pb.StepRequest(session_id=session_id, action=action), timeout=self.timeout_s, metadata=self._metadata
        )
        return Observation(
            r.observation,
            r.done,
            r.error,
            r.truncated,
            r.reward if r.HasField("reward") else None,
            json_format.MessageToDict(r.info),
        )

    async def judge(
        self, session_id: str, check: dict[str, Any], answer: str = "", timeout_s: float = 330.0
    ) -> Judgement:
        """The runner's verdict on the session's episode (call before closing it)."""
        r = await self._stub.Judge(
            pb.JudgeRequest(session_id=session_id, check=to_struct(check), answer=answer),
            timeout=timeout_s,
            metadata=self._metadata,
        )
        return Judgement(r.ok, r.reason, r.check_error)

    async def close_session(self, session_id: str) -> int:
        response = await self._stub.CloseSession(
            pb.CloseSessionRequest(session_id=session_id), timeout=self.timeout_s, metadata=self._metadata
        )
        return response.steps
