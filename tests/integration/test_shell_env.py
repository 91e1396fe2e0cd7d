"""The `shell` environment over real gRPC: persistent bash, sandbox isolation, limits, error observations."""

import asyncio
import uuid
from pathlib import Path

import grpc
import pytest

from env_runners.shell.sandbox import sandbox_available

needs_sandbox = pytest.mark.skipif(
    not sandbox_available(), reason="needs root, unshare and bubblewrap (make installs bubblewrap)"
)


async def test_listed_with_its_sandbox_mode(runner):
    env = next(e for e in await runner.list_environments() if e.name == "shell")
    assert "bash command" in env.action_space
    assert env.notes and env.notes[0].startswith("sandbox:" if sandbox_available() else "fallback:")


async def test_state_persists_and_observation_has_exit_code_and_cwd(runner):
    session, first = await runner.open_session("shell")
    assert "cd and variables persist" in first.text
    await runner.step(session, "mkdir -p work && cd work && GREETING=hello")
    result = await runner.step(session, "echo $GREETING; pwd")
    assert result.text.startswith("hello\n") and result.text.endswith("/work") and not result.error
    failed = await runner.step(session, "ls /does/not/exist")
    assert failed.error and "No such file or directory" in failed.text and "[exit code 2]" in failed.text
    await runner.close_session(session)


async def test_timeout_kills_the_command_and_the_session_goes_on(runner):
    session, _ = await runner.open_session("shell", {"timeout_s": 1})
    await runner.step(session, "echo kept > file.txt")
    result = await runner.step(session, "sleep 30")
    assert result.error and "ran past 1s and was killed" in result.text
    after = await runner.step(session, "cat file.txt")
    assert after.text.startswith("kept") and not after.error
    await runner.close_session(session)


async def test_huge_output_is_capped(runner):
    session, _ = await runner.open_session("shell", {"output_cap": 500})
    result = await runner.step(session, "yes lbi | head -c 5000000")
    assert "[... output truncated:" in result.text and len(result.text) < 800
    await runner.close_session(session)


async def test_exit_restarts_the_shell(runner):
    session, _ = await runner.open_session("shell")
    gone = await runner.step(session, "exit 3")
    assert gone.error and "new shell was started" in gone.text
    assert (await runner.step(session, "echo back")).text.startswith("back")
    await runner.close_session(session)


async def test_setup_script_and_bad_setup(runner):
    session, first = await runner.open_session("shell", {"setup": "printf 'a\\nb\\n' > data.txt"})
    assert "data.txt" in first.text
    assert (await runner.step(session, "wc -l < data.txt")).text.startswith("2")
    await runner.close_session(session)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await runner.open_session("shell", {"setup": "exit 7"})
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "config.setup" in str(err.value.details())
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await runner.open_session("shell", {"timeout_s": 999})
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "config.timeout_s" in str(err.value.details())


@needs_sandbox
async def test_sessions_are_isolated_from_each_other_and_the_host(runner):
    name = f"/etc/lbi-{uuid.uuid4().hex}"
    (a, _), (b, _) = await asyncio.gather(
        runner.open_session("shell", {"as_root": True}), runner.open_session("shell", {"as_root": True})
    )
    wrote = await runner.step(a, f"echo secret > {name} && cat {name}")
    assert wrote.text.startswith("secret") and not wrote.error
    other = await runner.step(b, f"cat {name}")
    assert other.error and "No such file" in other.text
    assert not Path(name).exists()
    await runner.close_session(a)
    await runner.close_session(b)


@needs_sandbox
async def test_no_network_and_unprivileged_by_default(runner):
    session, _ = await runner.open_session("shell")
    who = await runner.step(session, "id -un; id -u; cat /proc/self/uid_map")
    name, uid, inside, outside, count = who.text.split()[:5]
    assert (name, uid, inside, int(count)) == ("agent", "1000", "0", 65536)  # uid 0 inside is an unprivileged host uid
    assert int(outside) >= 65536
    denied = await runner.step(session, "touch /etc/passwd")
    assert denied.error and "Permission denied" in denied.text
    network = await runner.step(session, "cat /proc/net/dev | grep -c ':'")
    assert network.text.startswith("1")  # only the loopback device exists
    await runner.close_session(session)


@needs_sandbox
async def test_processes_of_a_session_cannot_see_the_host(runner):
    session, _ = await runner.open_session("shell")
    result = await runner.step(session, "ls /proc | grep -c '^[0-9]'")
    assert int(result.text.split()[0]) < 10
    await runner.close_session(session)


async def test_fallback_workspace_when_there_is_no_sandbox(runner_settings):
    from env_runners.shell.environment import ShellConfig, ShellEnvironment

    env = ShellEnvironment(runner_settings)
    env.sandboxed = False
    assert env.notes()[0].startswith("fallback:")
    session = env.open(ShellConfig(timeout_s=1))
    try:
        assert session.step("echo hi > here.txt && cat here.txt").observation.startswith("hi")
        assert "was killed" in session.step("sleep 5").observation
    finally:
        session.close()


async def test_resources_are_the_guide_and_manual_pages(runner):
    resources = await runner.resources("shell", {"man_pages": ["ls", "grep"]})
    titles = [r.title for r in resources]
    assert "Finding files by name" in titles and "man ls" in titles and "man grep" in titles
    assert sum("```bash" in r.text for r in resources) >= 10
