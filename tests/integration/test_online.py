"""Online adaptation end to end on real gRPC servers: an agent's episode, reported through the SDK, becomes kept
examples that a later retrieval returns; the same episode twice is stored once; tenancy, redaction, deletion.

The episodes come from a greenhouse-sensor database (a domain none of the samples has), written by hand as an
agent would report them. LLM work is the offline backend's deterministic policy.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

import grpc
import pytest
import yaml

from lbi.cli.local_runner import launch_runner
from lbi.clients.episodes import report_request
from lbi.clients.retrieval import AsyncRetrievalClient, RetrievalClient
from lbi.records import Step
from lbi.store.edge import EdgeStore
from retrieval_service.config import RetrievalSettings
from retrieval_service.server import start_retrieval
from synth_service.config import SynthSettings
from synth_service.journal import decode
from synth_service.server import episode_service, start_synthesis

SECRETS = ("ops.lead@greenhouse.example", "4242 4242 4242 4242", "sk-test-abcdefghijklmnopqrstuvw", "hunter2hunter2")
TASK = "Calibrate the sensor whose average reading is highest; tell ops.lead@greenhouse.example when done"
STEPS = [
    Step(
        "Tables: sensors(id, name, status), readings(sensor_id, celsius, taken_at)",
        "SELECT sensor_id, AVG(celsius) AS mean FROM readings GROUP BY sensor_id ORDER BY mean DESC LIMIT 1;",
    ),
    Step("sensor_id | mean\n3 | 27.4", "SELECT id, name, status FROM sensors WHERE id = 3;"),
    Step(
        "id | name | status\n3 | east-bench-thermistor | drifting (billing card 4242 4242 4242 4242 on file)",
        "UPDATE sensors SET status = 'calibrated' WHERE id = 3; -- api_key=sk-test-abcdefghijklmnopqrstuvw "
        "password=hunter2hunter2",
    ),
]
FINAL = "1 row updated"


def _policy(path, dataset: str, **extra) -> str:
    policy = {"accept_episodes": True, "env": "sql", "batch_episodes": 4, **extra}
    path.write_text(yaml.safe_dump({"datasets": {dataset: policy}}))
    return str(path)


class Stack:
    """A synthesis engine (with its online jobs) and a retrieval service hosting the EpisodeService too, as `lbi up`
    runs them, over one embedded store; `dataset` accepts episodes; the journal at `journal_url` (default: SQLite)."""

    def __init__(
        self,
        tmp_path,
        embedder,
        tokens: str = "",
        sweep_s: float = 3600.0,
        dataset: str = "greenhouse",
        journal_url: str = "",
        **policy,
    ):
        self.tmp_path, self.embedder, self.tokens, self.policy, self.sweep_s = (
            tmp_path,
            embedder,
            tokens,
            policy,
            sweep_s,
        )
        self.dataset, self.journal_url = dataset, journal_url

    async def __aenter__(self):
        policy_file = _policy(self.tmp_path / "online.yaml", self.dataset, **self.policy)
        self.store = EdgeStore(self.tmp_path / "qdrant")
        self.synth, self.engine = await start_synthesis(
            launch_runner=launch_runner,
            settings=SynthSettings(
                data_dir=self.tmp_path,
                synth_port=0,
                auth_tokens=self.tokens,
                online_policy_file=policy_file,
                online_sweep_s=self.sweep_s,
                journal_url=self.journal_url,
            ),
            store=self.store,
            embedder=self.embedder,
        )
        self.retrieval, _ = await start_retrieval(
            RetrievalSettings(data_dir=self.tmp_path, retrieval_port=0, auth_tokens=self.tokens),
            store=self.store,
            embedder=self.embedder,
            also_serve=[episode_service(self.engine, self.tokens)],
        )
        self.target = f"127.0.0.1:{self.retrieval.port}"
        return self

    async def __aexit__(self, *exc):
        await self.engine.close()
        await self.synth.stop(0)
        await self.retrieval.stop(0)
        await self.store.close()


async def _learned(client: AsyncRetrievalClient, dataset: str, episodes: int, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = await client.online_stats(dataset)
        if stats.episodes_learned >= episodes:
            return stats
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {stats.episodes_learned} of {episodes} episodes learned within {timeout_s}s")


async def test_a_reported_episode_becomes_examples_a_later_retrieval_returns(tmp_path, embedder):
    async with Stack(tmp_path, embedder) as stack:
        client = AsyncRetrievalClient(stack.target, timeout_s=30)
        started = time.monotonic()
        async with client.episode("greenhouse", TASK, episode_id="ep-0001") as ep:
            for step in STEPS:
                ep.observe(step.observation)
                ep.step(step.action)
            ep.observe(FINAL)
            ep.end("success", reward=1.0)
        await client.reporter.flush()
        assert client.reporter.stats.reported == 1
        stats = await _learned(client, "greenhouse", 1)
        assert time.monotonic() - started < 60
        assert stats.examples_kept > 0 and stats.candidates >= stats.examples_kept
        assert 0 <= stats.delay_p50_s < 60

        found = await client.retrieve("greenhouse", observation=STEPS[1].observation, mode="observation", k=5)
        assert found.examples and {e.origin for e in found.examples} == {"online"}
        info = await client.describe_dataset("greenhouse")
        assert info.online_examples == info.examples == stats.examples_kept

        # the same episode again (a retry whose answer was lost) stores nothing new
        again = await client.report_episode("greenhouse", "ep-0001", TASK, STEPS, FINAL, "success")
        assert again.accepted and again.duplicate
        await asyncio.sleep(0.5)
        assert (await client.online_stats("greenhouse")).episodes_received == 1
        assert (await client.describe_dataset("greenhouse")).examples == info.examples

        # redaction: no secret is anywhere in the store or the journal
        stored = [
            str(h.payload)
            for kind in ("examples", "steps")
            for h in (await stack.store.scroll(f"greenhouse__{kind}", 10_000))[0]
        ]
        journal = sqlite3.connect(tmp_path / "synthesis" / "journal.sqlite")
        rows = [str(decode(p)) for (p,) in journal.execute("SELECT payload FROM records")]
        rows += [str(decode(o)) for (o,) in journal.execute("SELECT output FROM llm_calls")]
        assert any("[REDACTED:email]" in text for text in stored)
        for secret in SECRETS:
            assert not any(secret in text for text in stored + rows), secret

        # deleting the episode removes what was learned from it
        deleted = await client.delete_episodes("greenhouse", ["ep-0001"])
        assert deleted.episodes == 1 and deleted.examples == stats.examples_kept
        assert (await client.describe_dataset("greenhouse")).examples == 0
        found = await client.retrieve("greenhouse", observation=STEPS[1].observation, mode="observation", k=5)
        assert not found.examples
        assert (await client.online_stats("greenhouse")).episodes_received == 0
        assert not journal.execute("SELECT COUNT(*) FROM records WHERE job_id LIKE 'online/greenhouse/%'").fetchone()[0]
        await client.close()


async def test_a_failed_episode_teaches_only_its_relabelled_spans_and_near_duplicates_are_not_stored(
    tmp_path, embedder
):
    async with Stack(tmp_path, embedder) as stack:
        client = AsyncRetrievalClient(stack.target, timeout_s=30)
        answer = await client.report_episode("greenhouse", "ep-fail", TASK, STEPS, FINAL, "failure")
        assert answer.accepted and not answer.duplicate
        stats = await _learned(client, "greenhouse", 1)
        assert stats.dropped["failed-episode-task"] == 1
        async for example in stack.engine.datasets.examples("greenhouse"):
            assert example.metadata["kind"] != "forward" and example.metadata["outcome"] == "failure"
        # another agent doing the same thing (a new episode id, the same task and steps) adds nothing
        await client.report_episode("greenhouse", "ep-fail-again", TASK, STEPS, FINAL, "failure")
        stats2 = await _learned(client, "greenhouse", 2)
        assert stats2.examples_kept == stats.examples_kept
        # every example the committee kept from the second episode was already stored from the first
        assert (
            stats2.dropped["near-duplicate"] - stats.dropped["near-duplicate"]
            == stats.examples_kept + stats.dropped["near-duplicate"]
        )
        await client.close()


async def test_tenancy_and_policy(tmp_path, embedder):
    tokens = "root@adm,reader@rd=greenhouse,agent@ag=greenhouse:rw,other@ot=greenhouse:rw"
    async with Stack(tmp_path, embedder, tokens=tokens, tenants=["agent", "root"]) as stack:
        reader = AsyncRetrievalClient(stack.target, token="rd", timeout_s=30)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await reader.report_episode("greenhouse", "ep-r", TASK, STEPS, FINAL)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED and "may not write" in str(
            denied.value.details()
        )
        other = AsyncRetrievalClient(stack.target, token="ot", timeout_s=30)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await other.report_episode("greenhouse", "ep-o", TASK, STEPS, FINAL)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED and "online policy" in str(
            denied.value.details()
        )

        agent = AsyncRetrievalClient(stack.target, token="ag", timeout_s=30)
        answer = await agent.report_episode("greenhouse", "ep-a", TASK, STEPS, FINAL, "success")
        assert answer.accepted and answer.tenant == "agent"
        with pytest.raises(ValueError):  # the SDK refuses it before sending
            await agent.report_episode("greenhouse", "bad id with spaces", TASK, STEPS, FINAL)
        for field, change in (
            ("episode_id", {"episode_id": "bad id with spaces"}),
            ("steps", {"steps": []}),
            ("task", {"task": " "}),
            ("steps[1].action", {"steps": [s.to_proto() for s in STEPS[:1]] + [Step("x", " ").to_proto()]}),
        ):
            request = report_request("greenhouse", "ep-bad", TASK, STEPS, FINAL)
            for name, value in change.items():
                request.ClearField(name)
                if isinstance(value, list):
                    getattr(request, name).extend(value)
                else:
                    setattr(request, name, value)
            with pytest.raises(grpc.aio.AioRpcError) as bad:
                await agent._send_report(request)  # what a client in another language could send
            assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and str(bad.value.details()).startswith(
                field + ":"
            ), field
        await _learned(agent, "greenhouse", 1)

        # a scoped token deletes only its own tenant's episodes; an unscoped one any tenant's
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await other.delete_episodes("greenhouse", tenant="agent")
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert (await other.delete_episodes("greenhouse", ["ep-a"])).episodes == 0
        admin = AsyncRetrievalClient(stack.target, token="adm", timeout_s=30)
        gone = await admin.delete_episodes("greenhouse", tenant="agent")
        assert gone.episodes == 1 and gone.examples > 0
        for client in (reader, other, agent, admin):
            await client.close()


async def test_a_dataset_without_a_policy_refuses_episodes_without_an_error(tmp_path, embedder):
    async with Stack(tmp_path, embedder) as stack:
        client = AsyncRetrievalClient(stack.target, timeout_s=30)
        answer = await client.report_episode("orchard", "ep-1", TASK, STEPS, FINAL)
        assert not answer.accepted and "does not accept episodes" in answer.reason
        await client.close()


async def test_the_blocking_sdk_reports_off_the_step_and_drops_with_a_counted_reason(tmp_path, embedder):
    from lbi.clients.episodes import RetryPolicy

    async with Stack(tmp_path, embedder) as stack:

        def agent() -> dict:
            with RetrievalClient(stack.target, timeout_s=30) as client:
                with client.episode("greenhouse", TASK) as ep:
                    ep.observe(STEPS[0].observation)
                    for i, step in enumerate(STEPS):
                        ep.step(step.action, STEPS[i + 1].observation if i + 1 < len(STEPS) else FINAL)
                    ep.end("success")
                client.reporter.flush()
                return client.reporter.stats.as_dict()

        assert (await asyncio.to_thread(agent))["reported"] == 1

    # no service at all: the report is retried within its bound, then dropped with the reason counted
    def unreachable() -> dict:
        client = RetrievalClient("127.0.0.1:9", timeout_s=0.5, report_retry=RetryPolicy(attempts=3, first_s=0.05))
        started = time.monotonic()
        with client.episode("greenhouse", TASK) as ep:
            ep.step("SELECT 1;", "1")
        assert time.monotonic() - started < 0.2  # the step's path never waits for the report
        client.reporter.flush(10)
        stats = client.reporter.stats.as_dict()
        client.close()
        return stats

    stats = await asyncio.to_thread(unreachable)
    assert stats["retries"] == 2 and stats["dropped"] == {"UNAVAILABLE (retries exhausted)": 1}


@pytest.mark.parametrize("journal", ["sqlite", "postgresql"])
async def test_retention_deletes_old_episodes_and_what_was_learned_from_them(tmp_path, embedder, journal, request):
    url = ""
    if journal == "postgresql":  # the journal on a real PostgreSQL (LBI_JOURNAL_URL), a fresh database
        from tests.fixtures.journal_pg import journal_database

        url = journal_database(request.getfixturevalue("postgres_server"))
    # a 15-second retention: long enough that a busy machine learns the episode before its retention passes
    async with Stack(tmp_path, embedder, sweep_s=0.5, journal_url=url, retention_days=15 / 86400) as stack:
        client = AsyncRetrievalClient(stack.target, timeout_s=30)
        await client.report_episode("greenhouse", "ep-old", TASK, STEPS, FINAL, "success")
        await _learned(client, "greenhouse", 1)
        deadline = time.monotonic() + 10  # learned, then visible in the dataset's counts
        while not (await client.describe_dataset("greenhouse")).online_examples and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert (await client.describe_dataset("greenhouse")).online_examples > 0
        deadline = time.monotonic() + 60
        while (await client.online_stats("greenhouse")).episodes_received:
            assert time.monotonic() < deadline, "retention never deleted the episode"
            await asyncio.sleep(0.2)
        assert (await client.describe_dataset("greenhouse")).examples == 0
        await client.close()
