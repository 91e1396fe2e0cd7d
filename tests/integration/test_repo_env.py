"""The `repo` environment: a code base in a sandboxed shell with view/search/replace/run_tests, under git."""

import shutil
from pathlib import Path

import pytest
import pytest_asyncio

from env_runners.repo import sample
from lbi.config import RunnerSettings

SAMPLE = Path(__file__).resolve().parents[2] / ".lbi" / "envs" / "repo" / f"{sample.SDIST}.tar.gz"
pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="sample repository not downloaded (make fetches it)")


@pytest_asyncio.fixture
async def repo_runner(tmp_path):
    from env_runners.server import start_runner
    from lbi.clients.runner import RunnerClient

    (tmp_path / "envs" / "repo").mkdir(parents=True)
    shutil.copy(SAMPLE, tmp_path / "envs" / "repo")
    server, service = await start_runner(RunnerSettings(data_dir=tmp_path, runner_port=0, runner_step_timeout_s=30))
    client = RunnerClient(f"127.0.0.1:{server.port}")
    yield client, tmp_path
    await client.close()
    await service.shutdown()
    await server.stop(0)


async def test_tools_edit_and_tests(repo_runner):
    runner, data_dir = repo_runner
    session, first = await runner.open_session("repo")
    assert ".git" in first.text and first.text.endswith("/home/agent/repo")
    found = await runner.step(session, 'search "def frequencies" toolz')
    assert "toolz/itertoolz.py" in found.text and not found.error
    view = await runner.step(session, "view toolz/recipes.py 1 2")
    assert view.text.lstrip().startswith("1\timport itertools")
    edit = await runner.step(session, 'replace toolz/recipes.py "import itertools" "import itertools  # edited"')
    assert "replaced 1 occurrence" in edit.text
    twice = await runner.step(session, 'replace toolz/recipes.py "import" "IMPORT"')
    assert twice.error and "exactly one occurrence" in twice.text
    assert "1 file changed" in (await runner.step(session, "git diff --stat")).text
    passed = await runner.step(session, "run_tests toolz/tests/test_recipes.py")
    assert "passed" in passed.text and not passed.error
    broken = await runner.step(session, 'edit toolz/recipes.py "frequencies(map(key, seq))" "frequencies(seq)"')
    assert not broken.error
    failing = await runner.step(session, "run_tests toolz/tests/test_recipes.py")
    assert failing.error and "1 failed" in failing.text and "test_countby" in failing.text
    await runner.step(session, "git checkout -- toolz/recipes.py")
    reverted = await runner.step(session, "run_tests toolz/tests/test_recipes.py")
    assert "passed" in reverted.text and not reverted.error
    made = await runner.step(session, "create notes/todo.txt 'fix countby'")
    assert "created notes/todo.txt" in made.text
    opened = await runner.step(session, "open notes/todo.txt")
    assert "fix countby" in opened.text
    await runner.close_session(session)
    original = data_dir / "envs" / "repo" / sample.SDIST / "toolz" / "recipes.py"
    assert "# edited" not in original.read_text()


async def test_tools_survive_a_shell_restart(repo_runner):
    runner, _ = repo_runner
    session, _ = await runner.open_session("repo", {"timeout_s": 1})
    assert "was killed" in (await runner.step(session, "sleep 5")).text
    again = await runner.step(session, "view README.rst 1 1")
    assert not again.error and again.text.endswith("/home/agent/repo")
    await runner.close_session(session)


async def test_resources_and_bad_repo(repo_runner):
    import grpc

    runner, _ = repo_runner
    found = await runner.resources("repo")
    titles = [r.title for r in found]
    assert "Running the test suite" in titles and "Install" in titles  # the guide, and README.rst's own sections
    assert any(r.uri.endswith("README.rst#Toolz/Install") for r in found)
    assert "Overview of the code base" in titles and "Module toolz/itertoolz.py" in titles
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await runner.open_session("repo", {"repo": "/no/such/repo"})
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "config.repo" in str(err.value.details())


MARSHMALLOW = Path(__file__).resolve().parents[2] / ".lbi" / "envs" / "repo-extra" / "marshmallow-4.4.0.tar.gz"


@pytest.mark.skipif(not MARSHMALLOW.exists(), reason="marshmallow not downloaded (make fetches it)")
async def test_a_second_library_with_test_only_requirements_runs_its_whole_suite(tmp_path):
    """marshmallow (src layout, tests need simplejson from its `tests` dependency group): the requirement is read from
    its pyproject.toml and installed once into a package layer, and the whole suite passes offline in the session."""
    import re
    import tarfile

    from env_runners.server import start_runner
    from env_runners.shell.sandbox import sandbox_available
    from lbi.clients.runner import RunnerClient

    if not sandbox_available():
        pytest.skip("needs the sandbox (root and bubblewrap)")
    with tarfile.open(MARSHMALLOW) as tar:
        tar.extractall(tmp_path, filter="data")
    server, service = await start_runner(RunnerSettings(data_dir=tmp_path, runner_port=0, runner_step_timeout_s=120))
    client = RunnerClient(f"127.0.0.1:{server.port}", timeout_s=600)
    try:
        session, first = await client.open_session(
            "repo", {"repo": str(tmp_path / "marshmallow-4.4.0"), "timeout_s": 100}
        )
        assert "pyproject.toml" in first.text
        imported = await client.step(session, "python -c 'import simplejson, marshmallow; print(marshmallow.__file__)'")
        assert "/home/agent/repo/src/marshmallow/" in imported.text, imported.text
        offline = await client.step(session, "pip download --no-deps -d /tmp/x six 2>&1 | tail -1")
        assert offline.error or "Successfully" not in offline.text  # the session itself has no network
        result = await client.step(session, "run_tests tests")
        passed = re.search(r"(\d+) passed", result.text)
        assert (
            passed
            and int(passed.group(1)) > 1000
            and "failed" not in result.text
            and "error" not in result.text.lower()
        ), result.text
        await client.close_session(session)
    finally:
        await client.close()
        await service.shutdown()
        await server.stop(0)
