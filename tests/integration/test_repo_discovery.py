"""A code base the project does not ship (marshmallow's source distribution from PyPI, src layout) and no
documentation of ours: the repo environment reads its modules, tests and test command, and a synthesis job on
them yields varied examples about that code whose commands run."""

import collections
import tarfile
from pathlib import Path

import pytest

from env_runners.repo.discover import read_code
from tests.fixtures.synthesis import figures, run_job

MARSHMALLOW = Path(__file__).resolve().parents[2] / ".lbi" / "envs" / "repo-extra" / "marshmallow-4.4.0.tar.gz"
pytestmark = pytest.mark.skipif(not MARSHMALLOW.exists(), reason="marshmallow not downloaded (make fetches it)")


@pytest.fixture(scope="module")
def code_base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("code")
    with tarfile.open(MARSHMALLOW) as tar:
        tar.extractall(folder, filter="data")
    return folder / "marshmallow-4.4.0"


def test_the_code_is_read_without_importing_it(code_base, tmp_path):
    code = read_code(code_base)
    assert code.name == "marshmallow"
    paths = {m.path for m in code.modules}
    assert "src/marshmallow/schema.py" in paths and not any("tests/" in p for p in paths)
    schema = next(m for m in code.modules if m.path == "src/marshmallow/schema.py")
    assert schema.dotted == "marshmallow.schema" and any(c[0] == "Schema" for c in schema.classes)
    tests = {t.path: t.tests for t in code.test_files}
    assert "TestContext::test_context_load_dump" in tests["tests/test_context.py"]
    # a symbolic link out of the repository is not followed
    (code_base / "src" / "leak.py").symlink_to(tmp_path / "secret.py")
    (tmp_path / "secret.py").write_text('"""top secret"""\ndef steal(): pass\n')
    try:
        assert not any("leak" in m.path for m in read_code(code_base).modules)
    finally:
        (code_base / "src" / "leak.py").unlink()


async def test_resources_name_the_modules_tests_and_test_command(runner, code_base):
    resources = await runner.resources("repo", {"repo": str(code_base)})
    found = {r.title: r.text for r in resources if r.kind == "introspection"}
    assert "1192 tests collected" in found["Overview of the code base"]
    assert "`Schema`" in found["Module src/marshmallow/schema.py"]
    examples = "\n".join(t for title, t in found.items() if title.startswith("Worked examples"))
    assert "run_tests tests/test_context.py" in examples and "12 passed" in examples
    assert "search 'class " in examples and "Show the documentation of the " in examples


async def test_a_job_on_an_unseen_code_base(synth_engine, code_base):
    """The issue's acceptance for repo, measured on the offline policy (deterministic, not a model)."""
    spec = {"env": "repo", "dataset": "marsh", "env_config": {"repo": str(code_base)}}
    job, kept = await run_job(synth_engine, spec)
    assert len(kept) >= 60
    ok = sum(not e.steps[-1].error for e in kept if e.steps)
    assert ok >= 0.9 * len(kept)
    instructions = collections.Counter(e.instruction for e in kept)
    assert instructions.most_common(1)[0][1] <= 0.05 * len(kept), instructions.most_common(3)
    own = sum("marshmallow" in i or "tests/" in i or "src/" in i for i in instructions)
    assert own >= 0.5 * len(instructions), instructions.most_common(10)
    print(figures(job, kept))
