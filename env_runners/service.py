"""The EnvRunner gRPC service: lists environments, streams resources, hosts sessions."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator

from env_runners.base import Environment
from env_runners.sessions import SessionTable, cap_observation
from lbi.auth import TokenTable
from lbi.config import RunnerSettings
from lbi.errors import InvalidArgument, NotFound, PermissionDenied
from lbi.evaluation.traveling import SESSION_FILES_LIMIT
from lbi.records import struct_to_dict, to_struct
from lbi.telemetry import tracer
from lbi.v1 import common_pb2, env_runner_pb2, env_runner_pb2_grpc

log = logging.getLogger(__name__)
_tracer = tracer("lbi.env_runner")
MAX_ACTION_CHARS = 200_000


def session_files(given) -> dict[str, bytes]:
    """OpenSession's files by sha256, each checked against its content, at most SESSION_FILES_LIMIT bytes in all;
    INVALID_ARGUMENT names the file."""
    files: dict[str, bytes] = {}
    total = 0
    for i, file in enumerate(given):
        total += len(file.content)
        if total > SESSION_FILES_LIMIT:
            raise InvalidArgument(
                f"files[{i}]",
                f"{file.sha256[:64]} ({len(file.content)} bytes) takes the session past its limit of "
                f"{SESSION_FILES_LIMIT} bytes of files",
            )
        if hashlib.sha256(file.content).hexdigest() != file.sha256:
            raise InvalidArgument(f"files[{i}].sha256", "is not the sha256 of its content")
        files[file.sha256] = file.content
    return files


class EnvRunnerService(env_runner_pb2_grpc.EnvRunnerServicer):
    """Hosts sessions of the given environments within the runner's limits."""

    def __init__(self, settings: RunnerSettings, environments: dict[str, Environment]):
        self.settings = settings
        self.environments = environments
        self.tokens = TokenTable(settings.auth_tokens)
        self.sessions = SessionTable(
            settings.runner_max_sessions, settings.runner_step_timeout_s, settings.runner_idle_timeout_s
        )
        self._reaper: asyncio.Task | None = None

    def start_reaper(self) -> None:
        async def loop() -> None:
            period = max(1.0, min(60.0, self.settings.runner_idle_timeout_s / 4))
            while True:
                await asyncio.sleep(period)
                reaped = await self.sessions.reap_idle()
                if reaped:
                    log.info("closed %d idle session(s)", reaped)

        self._reaper = asyncio.get_running_loop().create_task(loop())

    async def shutdown(self) -> None:
        if self._reaper:
            self._reaper.cancel()
        await self.sessions.close_all()
        for env in self.environments.values():
            await asyncio.to_thread(env.close)

    def _env(self, name: str) -> Environment:
        if not name:
            raise InvalidArgument("env", "must name an environment")
        env = self.environments.get(name)
        if env is None:
            raise NotFound(f"no environment {name!r} on this runner; available: {', '.join(sorted(self.environments))}")
        return env

    def _session_runner(self, context) -> bytes:
        """The caller's token, if it may run sessions (they run its actions on this runner): PERMISSION_DENIED for a
        read-only token."""
        grant = self.tokens.require(context.invocation_metadata())
        if not grant.runs_sessions:
            raise PermissionDenied(
                f"token of {grant.tenant!r} is read-only: opening a session (or discovering resources, which runs "
                "one) needs a token that writes some dataset"
            )
        return grant.token

    def _own(self, session_id: str, context) -> str:
        """The session id if the caller's token opened that session; NOT_FOUND otherwise (another tenant's session
        is not there for it)."""
        self.sessions.get(session_id, self.tokens.require(context.invocation_metadata()).token)
        return session_id

    async def ListEnvironments(self, request, context):
        return env_runner_pb2.ListEnvironmentsResponse(
            environments=[
                env_runner_pb2.EnvironmentInfo(
                    name=env.name,
                    description=env.description,
                    action_space=env.action_space,
                    config_schema=to_struct(env.config_schema()),
                    notes=env.notes(),
                    check_schema=to_struct(env.check_schema()),
                )
                for env in self.environments.values()
            ]
        )

    async def GetResources(self, request, context) -> AsyncIterator[common_pb2.Resource]:
        self._session_runner(context)
        env = self._env(request.env)
        config = env.parse_config(struct_to_dict(request.config, "config"))
        self.sessions.reserve()  # discovery runs a session of its own
        try:
            with _tracer.start_as_current_span("env.resources", attributes={"env": env.name}):
                resources = await asyncio.to_thread(lambda: list(env.resources(config)))
        finally:
            self.sessions.release()
        for resource in resources:
            yield resource.to_proto()

    async def OpenSession(self, request, context):
        owner = self._session_runner(context)
        env = self._env(request.env)
        config = env.parse_config(struct_to_dict(request.config, "config"))
        files = session_files(request.files)
        self.sessions.reserve()
        try:
            with _tracer.start_as_current_span("env.open", attributes={"env": env.name}):
                session = await asyncio.to_thread(env.open_with_files, config, files)
                first = await asyncio.to_thread(session.first_observation)
        except BaseException:
            self.sessions.release()
            raise
        session_id = self.sessions.add(env.name, session, owner)
        observation, truncated = cap_observation(first, self.settings.runner_observation_cap)
        return env_runner_pb2.OpenSessionResponse(
            session_id=session_id,
            observation=observation,
            info=to_struct(
                {"env": env.name, "truncated": truncated}
                | ({"action_space": session.action_space} if session.action_space else {})
            ),
        )

    async def Step(self, request, context):
        if len(request.action) > MAX_ACTION_CHARS:
            raise InvalidArgument("action", f"longer than {MAX_ACTION_CHARS} characters")
        live = self.sessions.get(self._own(request.session_id, context))
        with _tracer.start_as_current_span("env.step", attributes={"env": live.env}) as span:
            result = await self.sessions.step(request.session_id, request.action)
            span.set_attribute("env.error", result.error)
        observation, truncated = cap_observation(result.observation, self.settings.runner_observation_cap)
        response = env_runner_pb2.StepResponse(
            observation=observation,
            done=result.done,
            error=result.error,
            truncated=truncated,
            info=to_struct(result.info),
        )
        if result.reward is not None:
            response.reward = result.reward
        return response

    async def Judge(self, request, context):
        live = self.sessions.get(self._own(request.session_id, context))
        env = self.environments[live.env]
        check = env.parse_check(struct_to_dict(request.check, "check"))
        with _tracer.start_as_current_span("env.judge", attributes={"env": env.name, "check": check.kind}) as span:
            verdict = await self.sessions.judge(
                request.session_id,
                lambda session, turns: env.judge(session, check, turns, request.answer),
                self.settings.runner_judge_timeout_s,
            )
            span.set_attribute("env.verdict", verdict.ok)
        return env_runner_pb2.JudgeResponse(ok=verdict.ok, reason=verdict.reason, check_error=verdict.check_error)

    async def CloseSession(self, request, context):
        steps = await self.sessions.close(self._own(request.session_id, context))
        return env_runner_pb2.CloseSessionResponse(steps=steps)
