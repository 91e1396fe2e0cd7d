"""The shell check judges as InterCode does: a reference command's exit code is not its verdict, and no verdict depends
on how busy the machine is.

- A reference whose non-zero exit is its answer (`diff` of differing files, `grep` finding nothing, `cmp`, `test`)
  passes its own check; only a reference that cannot run (not found, not executable, killed) makes a check error.
- Output that a process of the command still writes after the command itself returned (a process substitution, a
  background job) belongs to the command while that process is busy: a starved writer on a loaded machine is busy
  (runnable), so its output is judged whatever the load. Busy writers stand in for starved ones here, so the tests
  are deterministic.
"""

import pytest
import pytest_asyncio

from lbi.config import RunnerSettings
from tests.conftest import serving
from tests.fixtures.episodes import judged_episode as episode

# Two inventories of a seed bank that differ in one line, and a log
SEEDS = {
    "setup": (
        "mkdir -p vault && printf 'lentil 40\\nmillet 12\\nsorghum 7\\n' > vault/march.txt && "
        "printf 'lentil 40\\nmillet 9\\nsorghum 7\\n' > vault/april.txt && "
        "printf 'door opened\\ndoor closed\\n' > vault/door.log && printf 'echo hi\\n' > vault/notexec.sh"
    )
}

# A writer that stays busy (runnable, as a starved one is) for 0.6 s before it writes: longer than the short grace
# an idle writer gets, far shorter than the command's timeout
BUSY = "__t=${EPOCHREALTIME/[.,]/}; while (( ${EPOCHREALTIME/[.,]/} - __t < 600000 )); do :; done"


@pytest_asyncio.fixture
async def runner(shared_data_dir):
    """A runner whose shell commands get the default 5 s timeout (the shared fixture's 2 s step leaves 1.6 s)."""
    settings = RunnerSettings(data_dir=shared_data_dir, runner_port=0, runner_step_timeout_s=10.0)
    async with serving(settings, 60) as client:
        yield client


@pytest.mark.parametrize(
    "gold, actions",
    [
        ("diff vault/march.txt vault/april.txt", ["diff vault/march.txt vault/april.txt"]),
        ("diff vault/march.txt vault/april.txt", ["printf '2c2\\n< millet 12\\n---\\n> millet 9\\n'"]),
        ("grep -c rain vault/door.log", ["grep -c rain vault/door.log"]),
        ("grep spilled vault/door.log", ["grep spilled vault/door.log"]),
        ("cmp vault/march.txt vault/april.txt", ["cmp vault/march.txt vault/april.txt"]),
        ("test -s vault/empty.txt", ["[ -s vault/empty.txt ]"]),
    ],
)
async def test_a_reference_whose_non_zero_exit_is_its_answer_passes(runner, gold, actions):
    check = {"kind": "shell", "gold": gold}
    solved = await episode(runner, "shell", actions, check, SEEDS)
    assert solved.ok and not solved.check_error, solved.reason
    wrong = await episode(runner, "shell", ["cat vault/march.txt"], check, SEEDS)
    assert not wrong.ok and not wrong.check_error, wrong.reason


@pytest.mark.parametrize(
    "gold, code",
    [
        ("seedcount --all vault", "127"),  # not found
        ("./vault/notexec.sh", "126"),  # not executable
        ("sh -c 'kill -TERM $$'", "143"),  # killed by a signal
    ],
)
async def test_a_reference_that_cannot_run_is_a_check_error(runner, gold, code):
    verdict = await episode(runner, "shell", ["ls"], {"kind": "shell", "gold": gold}, SEEDS)
    assert verdict.check_error and not verdict.ok and f"exited with {code}" in verdict.reason, verdict.reason


async def test_output_a_busy_process_substitution_writes_after_the_command_is_the_commands(runner):
    session, _ = await runner.open_session("shell", SEEDS)
    try:
        for _ in range(2):
            result = await runner.step(session, f"tee >({BUSY}; wc -l) < vault/door.log")
            assert result.text.startswith("door opened\ndoor closed\n2\n"), result.text
        # ... and none of it spills into the next command's output
        assert (await runner.step(session, "echo next")).text.startswith("next\n")
        background = await runner.step(session, f"echo started; ({BUSY}; echo finished) &")
        assert background.text.startswith("started\nfinished\n"), background.text
    finally:
        await runner.close_session(session)


async def test_a_reference_judged_with_the_output_its_busy_writer_delivers_late(runner):
    """The reference's last line comes from a process substitution that is still busy when the command returns; an
    agent printing the whole answer at once passes, one printing only what came before fails, both every time."""
    check = {"kind": "shell", "gold": f"tee >({BUSY}; wc -l) < vault/door.log", "compare": "output_and_files"}
    whole = await episode(runner, "shell", ["printf 'door opened\\ndoor closed\\n2\\n'"], check, SEEDS)
    assert whole.ok, whole.reason
    part = await episode(runner, "shell", ["cat vault/door.log"], check, SEEDS)
    assert not part.ok and "line 3" in part.reason, part.reason
    gold = await episode(runner, "shell", [check["gold"]], check, SEEDS)
    assert gold.ok, gold.reason


async def test_files_a_setup_writes_differently_each_time_are_judged_the_same(runner):
    """A setup whose files depend on when it ran (an archive of files it just made, a timestamp): the gold session's
    setup runs later than the agent's, by how much depends on load, so these files differ between the two sessions;
    left as the setup wrote them in both, they are the same files for the check, every time."""
    setup = {"setup": SEEDS["setup"] + " && date +%s%N > vault/stamp && sleep 0.05 && tar czf vault.tgz vault"}
    check = {"kind": "shell", "gold": "grep -c door vault/door.log", "compare": "output_and_files"}
    assert (await episode(runner, "shell", [check["gold"]], check, setup)).ok
    assert (await episode(runner, "shell", ["echo 2"], check, setup)).ok
    touched = await episode(runner, "shell", ["date +%s%N > vault/stamp; echo 2"], check, setup)
    assert not touched.ok and "~/vault/stamp differs from the gold result" in touched.reason, touched.reason
    rewritten = {"kind": "shell", "gold": "date > vault/stamp; grep -c door vault/door.log"}
    assert not (await episode(runner, "shell", ["echo 2"], rewritten, setup)).ok  # the gold changed it, the agent not
