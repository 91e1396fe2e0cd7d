"""LLM provider faults through litellm's real HTTP path (tests/fixtures/openai_server.py on 127.0.0.1).

Every fault is either retried (transport: 429 with Retry-After, 500, connection reset, a hang past the
timeout) or asked again once and then recorded with its reason (reply: truncated JSON, empty, wrong
schema). A synthesis job whose labeller sits behind the faulty provider never crashes and accounts for
every labelling call.
"""

import time

import pytest
import pytest_asyncio

from lbi.cli.local_runner import launch_runner
from lbi.config import CommonSettings
from lbi.embedding import Embedder
from lbi.llm.gateway import LLMError, LLMGateway, LLMOutputError
from lbi.llm.roles import Role
from lbi.store.edge import EdgeStore
from synth_service.config import SynthSettings
from synth_service.engine import Engine
from synth_service.spec import spec_from_dict
from synth_service.stages.backward import labelling_calls
from tests.fixtures.openai_server import Behaviour, OpenAIFixture

INPUTS = {"env": "sql", "task": "find customers", "history": [], "observation": "Connected."}
GOOD = '{"queries": ["customers by city"]}'


def _gateway(server: OpenAIFixture, retries: int = 2, timeout_s: float = 1.0) -> LLMGateway:
    return LLMGateway(
        CommonSettings(
            llm_model="openai/test-model", llm_api_base=server.api_base, llm_timeout_s=timeout_s, llm_retries=retries
        )
    )


@pytest.mark.parametrize(
    "fault",
    [
        Behaviour(status=429, headers={"Retry-After": "1"}),
        Behaviour(status=500),
        Behaviour(status=503),
        Behaviour(reset=True),
        Behaviour(hang_s=2.5),
    ],
    ids=["429-retry-after", "500", "503", "connection-reset", "hang-past-timeout"],
)
async def test_transport_faults_are_retried(fault):
    with OpenAIFixture() as server:
        server.default = Behaviour(content=GOOD)
        server.script = [fault]
        started = time.monotonic()
        result = await _gateway(server).call(Role.QUERY, INPUTS)
        assert result.output.queries == ["customers by city"]
        assert len(server.requests) == 2  # the fault, then the retry
        if fault.headers:
            assert time.monotonic() - started >= 0.9  # Retry-After was honoured


@pytest.mark.parametrize(
    "reply, reason",
    [
        ('{"queries": ["custo', "no JSON object"),
        ("", "the reply was empty"),
        ('{"answer": "customers"}', "does not match the schema"),
        ('{"queries": []}', "does not match the schema"),
    ],
    ids=["truncated-json", "empty-reply", "wrong-schema", "schema-bounds"],
)
async def test_unusable_replies_are_asked_again_then_recorded(reply, reason):
    with OpenAIFixture() as server:
        server.default = Behaviour(content=GOOD)
        server.script = [Behaviour(content=reply)]
        result = await _gateway(server).call(Role.QUERY, INPUTS)
        assert result.output.queries == ["customers by city"] and result.attempts == 2
        if reply:  # asked again with the problem shown
            assert "could not be used" in server.requests[1]["messages"][-1]["content"]
        else:  # an empty reply (a reasoning model out of budget) is asked again with twice the budget
            assert server.requests[1]["max_tokens"] == 2 * server.requests[0]["max_tokens"]

        server.script = [Behaviour(content=reply)] * 3  # an empty reply is asked again twice (budget, then note)
        with pytest.raises(LLMOutputError) as err:
            await _gateway(server).call(Role.QUERY, INPUTS)
        assert reason in str(err.value) and "\n" not in err.value.reason


async def test_a_provider_that_keeps_failing_is_a_clean_error_after_the_retries():
    with OpenAIFixture() as server:
        server.default = Behaviour(reset=True)
        with pytest.raises(LLMError) as err:
            await _gateway(server, retries=2).call(Role.QUERY, INPUTS)
        assert len(server.requests) == 3 and "Connection" in err.value.reason and "Traceback" not in err.value.reason


@pytest_asyncio.fixture
async def faulty_engine(tmp_path):
    with OpenAIFixture() as server:
        settings = SynthSettings(
            data_dir=tmp_path, runner_step_timeout_s=5, llm_api_base=server.api_base, llm_timeout_s=1.0, llm_retries=3
        )
        store = EdgeStore(tmp_path / "qdrant")
        engine = Engine(settings, store, Embedder(), launch_runner=launch_runner)
        yield engine, server
        await engine.close()
        await store.close()


async def test_a_job_behind_a_faulty_labeller_accounts_for_every_call(faulty_engine):
    engine, server = faulty_engine
    label = '{"instruction": "List the customers who live in one city."}'
    server.default = Behaviour(content=label)
    transport = [
        Behaviour(status=429, headers={"Retry-After": "0"}),
        Behaviour(status=500),
        Behaviour(reset=True),
        Behaviour(hang_s=1.5),
    ]
    unusable = [
        Behaviour(content='{"instruction": "List the cus'),
        Behaviour(content=""),
        Behaviour(content='{"label": "x"}'),
    ]
    # Two unusable replies in a row for the first calls: at least one call is asked again and fails twice.
    server.script = [*unusable, *unusable, *transport, Behaviour(content=label), *transport, *unusable]
    spec = spec_from_dict(
        {
            "env": "sql",
            "dataset": "faults",
            "models": {"labeller": "openai/test-model"},
            "resource_filter": ["Filtering rows with WHERE", "Counting rows"],
            "llm_concurrency": 2,
        }
    )
    job = await engine.run(engine.create(spec))
    assert job["state"] == "SUCCEEDED", job["error"]
    s, job_id = job["stats"], job["id"]
    assert not server.script  # every scripted fault was served
    lengths = [len(p["steps"]) for _, p, ok, _ in engine.journal.records(job_id, "trajectories") if ok]
    assert lengths and engine.journal.count(job_id, "backward_done") == len(lengths)
    failures = list(engine.journal.records(job_id, "label_failures"))
    assert len(failures) == s.label_failures >= 1
    # Nothing dropped silently: every labelling call became a candidate or a recorded failure with its reason.
    done = [p for _, p, _, _ in engine.journal.records(job_id, "backward_done")]
    labelled = sum(d["candidates"] - 1 for d in done)  # minus the forward example
    assert labelled + sum(d["failures"] for d in done) == sum(labelling_calls(n, "paper", 3) for n in lengths)
    assert sum(d["failures"] for d in done) == len(failures)
    for _, _, _, reason in failures:
        kind, _, why = reason.partition(": ")
        assert kind in ("unusable_reply", "empty_reply") and "Traceback" not in reason
        assert any(known in why for known in ("no JSON object", "the reply was empty", "does not match the schema"))
    # the job's statistics count the failed calls by kind, with the first reason of each
    counted = {(f.stage, f.kind): f.count for f in s.llm_failures}
    assert sum(n for (stage, _), n in counted.items() if stage == "backward") == len(failures)
    assert all(f.first_reason for f in s.llm_failures)


async def test_a_job_whose_rollouts_all_fail_ends_failed_with_the_first_reason(faulty_engine):
    engine, server = faulty_engine
    server.default = Behaviour(status=500)  # the policy model never answers
    spec = spec_from_dict(
        {
            "env": "sql",
            "dataset": "dead-policy",
            "models": {"policy": "openai/test-model"},
            "resource_filter": ["Counting rows"],
            "rollout_retries": 0,
        }
    )
    job = await engine.run(engine.create(spec))
    assert job["state"] == "FAILED"
    assert job["error"].startswith("all ") and "rollouts failed; the first: policy LLM failed" in job["error"], job[
        "error"
    ]
