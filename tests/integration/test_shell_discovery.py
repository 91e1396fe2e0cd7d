"""A workspace the project has never seen (a field station's survey files) and no documentation: the shell
environment reads its own resources from a session after setup, and a synthesis job on them yields varied
examples about those files, whose commands run."""

import collections
import re

from tests.fixtures.field_station import SETUP
from tests.fixtures.synthesis import figures, run_job

FILES = [
    "station/surveys/2025/spring.csv",
    "station/surveys/2025/autumn.csv",
    "station/weather/april.tsv",
    "station/stations.json",
    "station/logs/sync.log",
    "station/notes/volunteers.md",
]


async def test_resources_are_read_from_a_session_after_setup(runner):
    resources = await runner.resources("shell", {"setup": SETUP})
    found = [r for r in resources if r.kind == "introspection"]
    titles = {r.title for r in found}
    assert {"Overview of the workspace", "The workspace's files", "Tools present in the session"} <= titles
    tree = next(r.text for r in found if r.title == "The workspace's files")
    assert all(path.rsplit("/", 1)[-1] in tree for path in FILES) and ".bashrc" not in tree
    assert "spring.csv (text, " in tree and "8 lines" in tree
    examples = "\n".join(r.text for r in found if r.title.startswith("Worked examples"))
    # tabulated from the real data, with the real result
    assert "cut -d ';' -f2" in examples and "3 dunlin" in examples
    assert "sort -t $'\\t' -k" in examples  # the weather table is tab-separated
    for path in FILES:
        assert f"Count the lines in {path}." in examples
    assert "`grep`: Usage: grep" in next(r.text for r in found if r.title == "Tools present in the session")


async def test_a_job_on_an_unseen_workspace_without_documentation(synth_engine):
    """The issue's acceptance for shell, measured on the offline policy (deterministic, not a model)."""
    job, kept = await run_job(synth_engine, {"env": "shell", "dataset": "station", "env_config": {"setup": SETUP}})
    assert len(kept) >= 60
    ok = sum(all(not s.error for s in e.steps) or not e.steps[-1].error for e in kept if e.steps)
    assert ok >= 0.9 * len(kept)
    instructions = collections.Counter(e.instruction for e in kept)
    assert instructions.most_common(1)[0][1] <= 0.05 * len(kept), instructions.most_common(3)
    about_files = {path: sum(path in i or path.rsplit("/", 1)[-1] in i for i in instructions) for path in FILES}
    assert all(n >= 3 for n in about_files.values()), about_files
    assert sum(bool(re.search(r"station|\.csv|\.tsv|\.log|\.json|\.md", i)) for i in instructions) >= 0.5 * len(
        instructions
    )
    print(figures(job, kept, per_file=about_files))


MADE_ELSEWHERE = """mkdir -p /testbed/inbox /testbed/archive
printf 'id,sender,subject\\n1,ana,invoice\\n2,bo,minutes\\n3,ana,agenda\\n' > /testbed/inbox/mail.csv
printf '4,cy,invoice\\n5,bo,report\\n' >> /testbed/inbox/mail.csv
printf 'rotated 2026-11-30\\nrotated 2026-12-01\\n' > /testbed/archive/rotation.log
echo 'a local note' > notes.txt
"""


async def test_discovery_reads_what_the_setup_made_outside_the_working_folder(runner):
    """InterCode-style setups build `/testbed` as root: the resources name it and its files, with worked examples
    whose absolute paths run from the agent's start folder."""
    resources = await runner.resources("shell", {"setup": MADE_ELSEWHERE, "as_root": True})
    titles = {r.title for r in resources}
    assert {"Overview of `/testbed`", "The files of `/testbed`", "Overview of the workspace"} <= titles
    tree = next(r.text for r in resources if r.title == "The files of `/testbed`")
    assert "mail.csv" in tree and "rotation.log" in tree and "inbox/" in tree
    overview = next(r.text for r in resources if r.title == "Overview of `/testbed`")
    assert "The session's setup made `/testbed`" in overview
    examples = "\n".join(r.text for r in resources if r.title.startswith("Worked examples on /testbed"))
    assert "Count the lines in /testbed/inbox/mail.csv." in examples and "wc -l < /testbed/inbox/mail.csv" in examples
    # a worked example runs as written from the start folder of a fresh session
    session, _ = await runner.open_session("shell", {"setup": MADE_ELSEWHERE, "as_root": True})
    try:
        assert (await runner.step(session, "wc -l < /testbed/inbox/mail.csv")).text.startswith("6")
    finally:
        await runner.close_session(session)
