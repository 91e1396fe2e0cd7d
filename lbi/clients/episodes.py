"""Episodes in the SDK: record an agent's steps, retrieve demonstrations at each one, report the episode at its end.

    with client.episode("shop", task="Refund order 1182") as ep:
        while not done:
            # the observation becomes the current one
            demos = ep.retrieve(observation, prompt_budget_chars=4000)
            action = agent.act(observation, demos.prompt_block)
            observation = env.step(action)
            ep.step(action, observation)  # (previous observation, action), then the new one
        ep.end("success")  # else "unknown"; an exception ends it "failure"

Reporting never adds to a step's latency: the report is handed to a `Reporter` (a background thread for the
blocking client, a task for the async one) that sends it with a bounded number of retries while the service
is unavailable, then drops it, counting and logging the reason. `client.reporter.stats` shows the counts;
`client.close()` waits briefly for reports still in flight.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from lbi.records import Step, check_episode_id
from lbi.v1 import episodes_pb2 as pb

log = logging.getLogger("lbi.episodes")
OUTCOMES = {
    "success": pb.EPISODE_OUTCOME_SUCCESS,
    "failure": pb.EPISODE_OUTCOME_FAILURE,
    "unknown": pb.EPISODE_OUTCOME_UNKNOWN,
}
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}


class RetryPolicy:
    """Attempts at most `attempts` times, waiting `first_s`, doubling up to `max_s`, within `total_s` overall."""

    def __init__(self, attempts: int = 6, first_s: float = 0.25, max_s: float = 4.0, total_s: float = 30.0):
        self.attempts, self.first_s, self.max_s, self.total_s = attempts, first_s, max_s, total_s

    def waits(self):
        wait, spent = self.first_s, 0.0
        for _ in range(self.attempts - 1):
            if spent + wait > self.total_s:
                return
            yield wait
            spent += wait
            wait = min(wait * 2, self.max_s)


class ReportStats:
    def __init__(self) -> None:
        self.reported = 0  # accepted by the service (new)
        self.duplicates = 0  # the service had it already (a retry after a lost answer, say)
        self.refused = 0  # the dataset's policy does not accept episodes
        self.retries = 0
        self.dropped: collections.Counter = collections.Counter()  # not delivered, by reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "reported": self.reported,
            "duplicates": self.duplicates,
            "refused": self.refused,
            "retries": self.retries,
            "dropped": dict(self.dropped),
        }


def _outcome(answer: pb.ReportEpisodeResponse, stats: ReportStats, request: pb.ReportEpisodeRequest) -> None:
    if not answer.accepted:
        stats.refused += 1
        log.info("episode %s not accepted by dataset %s: %s", request.episode_id, request.dataset, answer.reason)
    elif answer.duplicate:
        stats.duplicates += 1
    else:
        stats.reported += 1


def _reason(code: grpc.StatusCode, details: str | None) -> str:
    """A drop's reason as counted: the status alone after retries ran out, with the service's words otherwise."""
    return f"{code.name} (retries exhausted)" if code in RETRYABLE else f"{code.name}: {details}"


def _drop(stats: ReportStats, request: pb.ReportEpisodeRequest, reason: str) -> None:
    stats.dropped[reason] += 1
    log.warning("episode %s of dataset %s dropped: %s", request.episode_id, request.dataset, reason)


def _after_failure(exc: grpc.RpcError, waits, stats: ReportStats, request: pb.ReportEpisodeRequest) -> float | None:
    """The wait before the next attempt, or None when the report is dropped (counted and logged)."""
    code = exc.code()
    wait = next(waits, None) if code in RETRYABLE else None
    if wait is None:
        _drop(stats, request, _reason(code, exc.details()))
    else:
        stats.retries += 1
    return wait


class Reporter:
    """Sends reports from a background thread (blocking stub), in order, retrying within the policy."""

    def __init__(
        self,
        send: Callable[[pb.ReportEpisodeRequest], pb.ReportEpisodeResponse],
        retry: RetryPolicy | None = None,
        max_queued: int = 1000,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._send, self.retry, self._sleep = send, retry or RetryPolicy(), sleep
        self.stats = ReportStats()
        self._queue: queue.Queue = queue.Queue(max_queued)
        self._thread = threading.Thread(target=self._run, name="lbi-episode-reporter", daemon=True)
        self._thread.start()

    def submit(self, request: pb.ReportEpisodeRequest) -> None:
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            _drop(self.stats, request, "queue full (the service has been unreachable for a while)")

    def _run(self) -> None:
        while True:
            request = self._queue.get()
            if request is None:
                return
            try:
                self._deliver(request)
            finally:
                self._queue.task_done()

    def _deliver(self, request: pb.ReportEpisodeRequest) -> None:
        waits = self.retry.waits()
        while True:
            try:
                _outcome(self._send(request), self.stats, request)
                return
            except grpc.RpcError as exc:
                wait = _after_failure(exc, waits, self.stats, request)
                if wait is None:
                    return
                self._sleep(wait)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Waits until every report submitted so far is sent or dropped; False if time ran out."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout_s: float = 5.0) -> None:
        self.flush(timeout_s)
        self._queue.put(None)


class AsyncReporter:
    """Sends reports as background tasks on the running loop (async stub), retrying within the policy."""

    def __init__(
        self,
        send: Callable[[pb.ReportEpisodeRequest], Any],
        retry: RetryPolicy | None = None,
        max_in_flight: int = 1000,
    ):
        self._send, self.retry = send, retry or RetryPolicy()
        self.stats = ReportStats()
        self.max_in_flight = max_in_flight
        self._tasks: set[asyncio.Task] = set()

    def submit(self, request: pb.ReportEpisodeRequest) -> None:
        if len(self._tasks) >= self.max_in_flight:
            _drop(self.stats, request, "too many reports in flight (the service has been unreachable for a while)")
            return
        task = asyncio.get_running_loop().create_task(self._deliver(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, request: pb.ReportEpisodeRequest) -> None:
        waits = self.retry.waits()
        while True:
            try:
                _outcome(await self._send(request), self.stats, request)
                return
            except grpc.aio.AioRpcError as exc:
                wait = _after_failure(exc, waits, self.stats, request)
                if wait is None:
                    return
                await asyncio.sleep(wait)

    async def flush(self, timeout_s: float = 5.0) -> bool:
        if not self._tasks:
            return True
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        return not pending


def report_request(
    dataset: str,
    episode_id: str,
    task: str,
    steps: list[Step],
    final_observation: str,
    outcome: str = "unknown",
    reward: float | None = None,
    feedback: str = "",
    env: str = "",
    ended_at: float | None = None,
) -> pb.ReportEpisodeRequest:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; use {sorted(OUTCOMES)}")
    check_episode_id(episode_id)
    ended = timestamp_pb2.Timestamp()
    ended.FromNanoseconds(int((ended_at if ended_at is not None else time.time()) * 1e9))
    request = pb.ReportEpisodeRequest(
        dataset=dataset,
        episode_id=episode_id,
        task=task,
        steps=[s.to_proto() for s in steps],
        final_observation=final_observation,
        outcome=OUTCOMES[outcome],
        feedback=feedback,
        env=env,
        ended_at=ended,
    )
    if reward is not None:
        request.reward = reward
    return request


class EpisodeRecorder:
    """What an episode has seen and done so far; the sync and async episodes share it."""

    def __init__(self, client: Any, dataset: str, task: str, episode_id: str = "", env: str = ""):
        self.client = client
        self.reported = False
        self.dataset, self.task, self.env = dataset, task, env
        self.episode_id = check_episode_id(episode_id) if episode_id else uuid.uuid4().hex
        self.steps: list[Step] = []
        self.observation = ""
        self.outcome, self.feedback = "unknown", ""
        self.reward: float | None = None
        self.ended = False

    def observe(self, observation: str) -> None:
        self.observation = observation

    def step(self, action: str, observation: str | None = None, thought: str = "", error: bool = False) -> None:
        """Records the action taken on the current observation; `observation` (what came back) becomes the current
        one."""
        self.steps.append(Step(self.observation, action, thought, error))
        if observation is not None:
            self.observation = observation

    def end(self, outcome: str = "unknown", reward: float | None = None, feedback: str = "") -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; use {sorted(OUTCOMES)}")
        self.outcome, self.reward, self.feedback, self.ended = outcome, reward, feedback, True

    def retrieve_kwargs(self, observation: str | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        if observation is not None:
            self.observe(observation)
        return {
            "observation": self.observation,
            "instruction": self.task,
            "history": self.steps[-5:],
            "episode_id": self.episode_id,
            **kwargs,
        }

    def finish(self, failed: BaseException | None) -> pb.ReportEpisodeRequest | None:
        """The report at the episode's end (None when it took no step: nothing to learn from)."""
        if failed is not None and not self.ended:
            self.end("failure", feedback=f"the agent raised {type(failed).__name__}")
        if not self.steps:
            return None
        return report_request(
            self.dataset,
            self.episode_id,
            self.task,
            self.steps,
            self.observation,
            self.outcome,
            self.reward,
            self.feedback,
            self.env,
        )

    def report(
        self,
        outcome: str | None = None,
        reward: float | None = None,
        feedback: str = "",
        failed: BaseException | None = None,
    ) -> None:
        """Ends the episode (with `outcome`, when given) and hands its report to the client's background reporter,
        once: the `with` block calls it, and adapters whose episodes are not blocks call it at the agent's end."""
        if self.reported:
            return
        if outcome is not None:
            self.end(outcome, reward, feedback)
        request = self.finish(failed)
        if request is not None:
            self.client.reporter.submit(request)
        self.reported = True


class Episode(EpisodeRecorder):
    """A blocking client's episode (`with client.episode(...) as ep:`)."""

    def retrieve(self, observation: str | None = None, **kwargs: Any):
        return self.client.retrieve(self.dataset, **self.retrieve_kwargs(observation, kwargs))

    def __enter__(self) -> Episode:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        self.report(failed=exc)


class AsyncEpisode(EpisodeRecorder):
    """An async client's episode (`async with client.episode(...) as ep:`)."""

    async def retrieve(self, observation: str | None = None, **kwargs: Any):
        return await self.client.retrieve(self.dataset, **self.retrieve_kwargs(observation, kwargs))

    async def __aenter__(self) -> AsyncEpisode:
        return self

    async def __aexit__(self, kind, exc, tb) -> None:
        self.report(failed=exc)
