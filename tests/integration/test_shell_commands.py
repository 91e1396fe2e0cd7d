"""Commands behave as at a prompt: empty stdin, bash's own syntax errors, output kept at a timeout, interactive shells
and signals that do not corrupt the session, and a setup phase whose failure says what failed."""

import grpc
import pytest

SANDBOX = [{}, {"as_root": True}]


@pytest.mark.parametrize("config", SANDBOX, ids=["agent", "root"])
async def test_stdin_readers_return_at_once(runner, config):
    session, _ = await runner.open_session("shell", {"timeout_s": 1.5, **config})
    try:
        for command in (
            'read v; echo "[$v]"',
            "cat; echo after-cat",
            "head -1; echo after-head",
            "wc -l",
            "python3 -c 'input()'",
        ):
            result = await runner.step(session, command)
            assert not result.info.get("timeout") and "ran past" not in result.text, (command, result.text)
        assert (await runner.step(session, 'read v; echo "[$v]"')).text.startswith("[]")
        assert (await runner.step(session, "echo next")).text.startswith("next")  # no marker or command was eaten
    finally:
        await runner.close_session(session)


async def test_output_before_a_timeout_is_kept_and_the_directory_too(runner):
    session, _ = await runner.open_session("shell", {"timeout_s": 1})
    try:
        await runner.step(session, "mkdir -p work && cd work")
        result = await runner.step(session, "echo started; echo half-way; sleep 10")
        assert result.error and result.text.startswith("started\nhalf-way\n") and "ran past 1s" in result.text
        assert (await runner.step(session, "pwd")).text.startswith("/home/agent/work")
    finally:
        await runner.close_session(session)


async def test_a_syntax_error_is_bashs_message_and_keeps_the_state(runner):
    session, _ = await runner.open_session("shell", {"timeout_s": 1.5})
    try:
        await runner.step(session, "mkdir -p /tmp/place && cd /tmp/place && KEEP=yes")
        for bad, message in (
            ("echo )", "syntax error near unexpected token"),
            ("echo 'abc", "unexpected EOF"),
            ("if true; then echo x", "syntax error: unexpected end of file"),
        ):
            result = await runner.step(session, bad)
            assert result.error and message in result.text and "[exit code 2]" in result.text, result.text
            assert not result.info.get("timeout")
        after = await runner.step(session, "echo $KEEP; pwd")
        assert after.text.startswith("yes\n/tmp/place")
    finally:
        await runner.close_session(session)


async def test_interactive_shells_and_signals_do_not_corrupt_later_observations(runner):
    session, _ = await runner.open_session("shell", {"timeout_s": 1.5})
    try:
        await runner.step(session, "cd /tmp")
        await runner.step(session, "exec bash -i")
        for command in ("bash -i", "sh -i"):
            await runner.step(session, command)
        clean = await runner.step(session, "echo clean")
        assert clean.text == "clean\n[exit code 0] /tmp", clean.text
        signalled = await runner.step(session, "X=1; kill -INT $$; kill -TERM $$; kill -HUP $$; echo $X")
        assert (
            "received SIGINT" in signalled.text
            and signalled.text.rstrip().endswith("/tmp")
            and "\n1\n" in signalled.text
        )
        killed = await runner.step(session, "kill -9 $$")
        assert killed.error and "new shell was started in /tmp" in killed.text
        assert (await runner.step(session, "echo back; pwd")).text.startswith("back\n/tmp")
    finally:
        await runner.close_session(session)


async def test_a_failing_setup_names_the_command_its_code_and_stderr(runner):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await runner.open_session(
            "shell",
            {"setup": "mkdir -p /home/agent/data\nls /no/such/dir\necho done > /home/agent/x\ncp /nope /home/agent/"},
        )
    details = str(err.value.details())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("config.setup")
    assert "`cp /nope /home/agent/` exited with 1" in details and "No such file or directory" in details, details
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await runner.open_session("shell", {"setup": "echo )"})
    assert "syntax error" in str(err.value.details())
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await runner.open_session("shell", {"setup": "echo preparing; sleep 30", "setup_timeout_s": 1})
    assert "ran past setup_timeout_s (1s)" in str(err.value.details()) and "preparing" in str(err.value.details())


async def test_a_root_setup_that_builds_a_container_layout(runner):
    """Setups written for a container create top-level folders; with as_root they work, and the agent starts there."""
    setup = "mkdir -p /testbed/logs /system && cd /testbed && printf 'a\\nb\\n' > logs/app.log && chmod 700 /system"
    session, first = await runner.open_session("shell", {"as_root": True, "setup": setup})
    try:
        assert "logs" in first.text and first.text.rstrip().endswith("/testbed")
        result = await runner.step(session, "tree /testbed | tail -1; wc -l < logs/app.log")
        assert "directories, 1 file" in result.text and "\n2\n" in result.text
    finally:
        await runner.close_session(session)


async def test_packages_and_requirements_come_from_a_cached_layer(runner):
    """Debian packages and pip requirements a task names are installed once into a layer (the registries reached during
    that build only); the session itself stays offline. Bad names and unknown packages are refused naming the field."""
    from env_runners.shell.sandbox import sandbox_available

    if not sandbox_available():
        pytest.skip("needs the sandbox (root and bubblewrap)")
    config = {"packages": ["hello"], "pip": ["six==1.16.0"], "timeout_s": 1.5}
    session, _ = await runner.open_session("shell", config)
    try:
        result = await runner.step(session, "hello; python -c 'import six; print(six.__version__)'")
        assert result.text.startswith("Hello, world!\n1.16.0"), result.text
        offline = await runner.step(session, "curl -sS --max-time 1 https://pypi.org/ >/dev/null")
        assert offline.error
    finally:
        await runner.close_session(session)
    for bad, field in (
        ({"packages": ["--allow-unauthenticated"]}, "config.packages[0]"),
        ({"pip": ["-e /etc"]}, "config.pip[0]"),
        ({"pip": ["lbi-no-such-distribution-7f3a"]}, "config.pip"),
        ({"packages": ["lbi-no-such-debian-package"]}, "config.packages"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await runner.open_session("shell", bad)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and str(err.value.details()).startswith(field), str(
            err.value.details()
        )
