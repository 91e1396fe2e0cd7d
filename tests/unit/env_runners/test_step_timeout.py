"""The step timeout is the action's own running time (env_runners/sessions.py): a finished action is never reported
as timed out because the runner's event loop was held up, and an action that runs on is interrupted and reported."""

import asyncio
import threading
import time

from env_runners.base import Session, StepResult
from env_runners.sessions import SessionTable


class Quick(Session):
    """An action that ends as soon as it is let go."""

    def __init__(self) -> None:
        self.started, self.go = threading.Event(), threading.Event()

    def first_observation(self) -> str:
        return ""

    def step(self, action: str) -> StepResult:
        self.started.set()
        self.go.wait()
        return StepResult(f"did {action}")

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


class Endless(Quick):
    """An action that runs until it is interrupted."""

    def __init__(self) -> None:
        super().__init__()
        self.stopped = threading.Event()

    def step(self, action: str) -> StepResult:
        self.stopped.wait()
        return StepResult("interrupted", error=True)

    def interrupt(self) -> None:
        self.stopped.set()


def _table(session: Session) -> tuple[SessionTable, str]:
    table = SessionTable(max_sessions=2, step_timeout_s=1.0, idle_timeout_s=60)
    table.reserve()
    return table, table.add("fake", session)


async def test_a_finished_action_is_not_timed_out_by_a_held_up_event_loop():
    # the runner shares its loop with the synthesis pipeline, whose first LLM call imports litellm on it (26 s on
    # two loaded cores): a step in flight then was journaled as timed out, and a resumed job kept another set
    session = Quick()
    table, session_id = _table(session)
    step = asyncio.ensure_future(table.step(session_id, "a"))
    await asyncio.to_thread(session.started.wait)
    session.go.set()  # the action ends in its thread at once ...
    time.sleep(2.0)  # ... while the loop is held up for twice the step timeout
    result = await step
    assert result == StepResult("did a")


async def test_an_action_that_runs_past_the_timeout_is_interrupted_and_reported():
    session = Endless()
    table, session_id = _table(session)
    result = await table.step(session_id, "forever")
    assert session.stopped.is_set()
    assert result.error and result.info == {"timeout": True} and "past the step timeout of 1s" in result.observation
