"""Live sessions of a runner: limits, per-session serialisation, step timeouts, judging, idle reaping."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from env_runners.base import Session, StepResult, Turn, Verdict
from lbi.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted


def cap_observation(text: str, cap: int) -> tuple[str, bool]:
    """The observation cut to about `cap` characters with a marker saying how much was left out. Its end is kept
    too (a fifth of the cap, at most 500 characters): that is where a shell's exit code and an environment's
    error note are."""
    if len(text) <= cap:
        return text, False
    tail = min(cap // 5, 500)
    head = cap - tail
    return f"{text[:head]}\n[... truncated: {len(text) - cap} more characters]\n{text[len(text) - tail :]}", True


STOP_GRACE_S = 5.0  # how long an interrupted action has to stop before the runner answers without it


class _StepClock:
    """The step timeout of one action, kept by the action's own thread: it starts when the action starts and
    interrupts the session once the action has run `timeout_s`. A step is timed out only if it was still running
    then: an event loop held up (a 26 s `import litellm` on a loaded machine, the runner in the synthesis process)
    or a wait for a free worker thread never turns a finished action into a timed-out one."""

    def __init__(self, session: Session, timeout_s: float, loop: asyncio.AbstractEventLoop):
        self.session, self.timeout_s, self.loop = session, timeout_s, loop
        self.ran_out = threading.Event()
        self.stopping = asyncio.Event()  # set on the loop once the action was interrupted

    def _stop(self) -> None:
        self.ran_out.set()
        self.session.interrupt()
        with contextlib.suppress(RuntimeError):  # the loop is closed: the runner is shutting down
            self.loop.call_soon_threadsafe(self.stopping.set)

    def run(self, action: str) -> StepResult:
        timer = threading.Timer(self.timeout_s, self._stop)
        timer.daemon = True
        timer.start()
        try:
            return self.session.step(action)
        finally:
            timer.cancel()

    async def result(self, action: str) -> StepResult:
        """The action's result; the timeout's observation if its clock ran out (the interrupted action gets
        STOP_GRACE_S to stop, then is left behind)."""
        work = asyncio.ensure_future(asyncio.to_thread(self.run, action))
        stopping = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not work.done():
                await asyncio.wait({work}, timeout=STOP_GRACE_S)
        finally:
            stopping.cancel()
        if self.ran_out.is_set() or not work.done():
            work.add_done_callback(lambda done: done.cancelled() or done.exception())  # its end, if any, is not news
            return StepResult(
                f"Error: the action ran past the step timeout of {self.timeout_s:g}s and was stopped.",
                error=True,
                info={"timeout": True},
            )
        return work.result()


@dataclass
class LiveSession:
    env: str
    session: Session
    owner: bytes = b""  # the bearer token that opened it (b"" with auth off): only it may use the session
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)
    steps: int = 0
    done: bool = False
    turns: list[Turn] = field(default_factory=list)


class SessionTable:
    """Holds sessions by id; every method runs on the event loop, environment code in worker threads."""

    def __init__(self, max_sessions: int, step_timeout_s: float, idle_timeout_s: float):
        self.max_sessions = max_sessions
        self.step_timeout_s = step_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self._sessions: dict[str, LiveSession] = {}
        self._reserved = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def reserve(self) -> None:
        """Claims a slot before a (slow) session start, so concurrent opens cannot overshoot the limit."""
        if len(self._sessions) + self._reserved >= self.max_sessions:
            raise ResourceExhausted(f"runner is at its limit of {self.max_sessions} sessions; close one or retry later")
        self._reserved += 1

    def add(self, env: str, session: Session, owner: bytes = b"") -> str:
        self._reserved -= 1
        session_id = uuid.uuid4().hex
        self._sessions[session_id] = LiveSession(env, session, owner)
        return session_id

    def release(self) -> None:
        self._reserved -= 1

    def get(self, session_id: str, owner: bytes | None = None) -> LiveSession:
        """The live session; NOT_FOUND for an unknown one, or (given `owner`) one another token opened."""
        if not session_id:
            raise InvalidArgument("session_id", "must not be empty")
        live = self._sessions.get(session_id)
        if live is None or (owner is not None and not hmac.compare_digest(live.owner, owner)):
            raise NotFound(f"no session {session_id} (closed, reaped after being idle, or never opened)")
        return live

    async def step(self, session_id: str, action: str) -> StepResult:
        live = self.get(session_id)
        async with live.lock:
            if live.done:
                raise FailedPrecondition(f"session {session_id} is done; open a new session")
            live.last_used = time.monotonic()
            clock = _StepClock(live.session, self.step_timeout_s, asyncio.get_running_loop())
            result = await clock.result(action)
            live.steps += 1
            live.turns.append(Turn(action, result))
            live.done = result.done
            live.last_used = time.monotonic()
            return result

    async def judge(
        self, session_id: str, judge: Callable[[Session, list[Turn]], Verdict], timeout_s: float
    ) -> Verdict:
        """Runs `judge` on the live session (its steps are over); DEADLINE_EXCEEDED past `timeout_s`."""
        live = self.get(session_id)
        async with live.lock:
            live.last_used = time.monotonic()
            work = asyncio.ensure_future(asyncio.to_thread(judge, live.session, list(live.turns)))
            try:
                return await asyncio.wait_for(asyncio.shield(work), timeout_s)
            except TimeoutError:
                live.session.interrupt()
                raise DeadlineExceeded(f"judging session {session_id} took longer than {timeout_s:g}s") from None
            finally:
                live.last_used = time.monotonic()

    async def close(self, session_id: str) -> int:
        live = self.get(session_id)
        del self._sessions[session_id]
        async with live.lock:
            await asyncio.to_thread(live.session.close)
        return live.steps

    async def reap_idle(self) -> int:
        """Closes sessions idle past the timeout; returns how many."""
        now = time.monotonic()
        idle = [
            sid for sid, s in self._sessions.items() if now - s.last_used > self.idle_timeout_s and not s.lock.locked()
        ]
        for sid in idle:
            await self.close(sid)
        return len(idle)

    async def close_all(self) -> None:
        for sid in list(self._sessions):
            await self.close(sid)
