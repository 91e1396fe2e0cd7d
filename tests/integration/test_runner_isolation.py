"""A runner with tokens, as a hostile tenant meets it: sessions it cannot isolate are refused unless the operator
allows them (LBI_RUNNER_ALLOW_UNISOLATED), a read-only token opens no session at all, and a session answers only the
token that opened it. The runner is a real gRPC server on 127.0.0.1; "cannot isolate" is the shell sandbox reported
missing (a runner that is not root, or lacks bubblewrap)."""

from __future__ import annotations

import contextlib

import grpc
import pytest

from lbi.clients.runner import RunnerClient
from lbi.config import RunnerSettings

TOKENS = "alice@tokA=ds1:rw,bob@tokB=ds2:rw,reader@tokR=ds1,admin@tokAdm"


@contextlib.asynccontextmanager
async def _runner(tmp_path, monkeypatch, sandbox: bool, **settings):
    import env_runners.shell.environment as shell_environment
    from env_runners.server import start_runner

    if not sandbox:
        monkeypatch.setattr(shell_environment, "sandbox_available", lambda: False)
    server, service = await start_runner(
        RunnerSettings(data_dir=tmp_path, runner_port=0, auth_tokens=TOKENS, **settings), ["sql", "shell", "repo"]
    )
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await service.shutdown()
        await server.stop(0)


async def _refused(call) -> tuple[grpc.StatusCode, str]:
    """The status code and message of a call that must fail, as the client sees them (never a traceback)."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    details = err.value.details() or ""
    assert "Traceback" not in details
    return err.value.code(), details


async def test_unisolated_sessions_are_refused_with_auth_on(tmp_path, monkeypatch):
    async with _runner(tmp_path, monkeypatch, sandbox=False) as target:
        async with RunnerClient(target, token="tokAdm") as admin:
            for env in ("shell", "repo"):
                code, details = await _refused(admin.open_session(env))
                assert code == grpc.StatusCode.FAILED_PRECONDITION, env
                assert "LBI_RUNNER_ALLOW_UNISOLATED" in details
            code, _ = await _refused(admin.resources("shell", {"setup": "cat /proc/1/environ"}))
            assert code == grpc.StatusCode.FAILED_PRECONDITION
            notes = {e.name: e.notes for e in await admin.list_environments()}
            assert notes["shell"][0].startswith("refused:")
        async with RunnerClient(target, token="tokA") as alice:  # a writer still opens what can be isolated
            session, _ = await alice.open_session("sql")
            await alice.close_session(session)


async def test_the_operator_may_allow_unisolated_sessions(tmp_path, monkeypatch):
    allowed = _runner(tmp_path, monkeypatch, sandbox=False, runner_allow_unisolated=True)
    async with allowed as target, RunnerClient(target, token="tokA") as alice:
        session, first = await alice.open_session("shell", {"timeout_s": 1})
        assert "workspace folder" in first.text
        await alice.close_session(session)


async def test_a_read_only_token_opens_no_session(tmp_path, monkeypatch):
    allowed = _runner(tmp_path, monkeypatch, sandbox=False, runner_allow_unisolated=True)
    async with allowed as target, RunnerClient(target, token="tokR") as reader:
        assert await reader.list_environments()  # what the runner hosts is no secret
        for env in ("sql", "shell"):
            code, details = await _refused(reader.open_session(env))
            assert code == grpc.StatusCode.PERMISSION_DENIED, env
            assert "read-only" in details and "write" in details
        code, _ = await _refused(reader.resources("shell", {"setup": "cat /proc/1/environ"}))
        assert code == grpc.StatusCode.PERMISSION_DENIED


async def test_a_session_answers_only_the_token_that_opened_it(tmp_path, monkeypatch):
    runner = _runner(tmp_path, monkeypatch, sandbox=False)
    async with runner as target, RunnerClient(target, token="tokA") as alice, RunnerClient(target, token="tokB") as bob:
        session, _ = await alice.open_session("sql")
        for call in (
            bob.step(session, "SELECT 1"),
            bob.judge(session, {"kind": "answer_match", "equals": "x"}),
            bob.close_session(session),
        ):
            assert (await _refused(call))[0] == grpc.StatusCode.NOT_FOUND
        assert not (await alice.step(session, "SELECT 1")).error
        assert await alice.close_session(session) == 1
