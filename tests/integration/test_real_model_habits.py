"""What a real model does to the gateway and the agent loop, through litellm's real HTTP path on 127.0.0.1.

Replies cut at max_tokens, per-deployment keys (an endpoint that requires a bearer key, with a fallback on another
provider that must never be sent there), per-role sampling, errors inside a custom provider (not retried as network
errors), tokens of failed attempts, and an agent that keeps its steps when its model fails mid-episode.
"""

import time

import pytest
from litellm import CustomLLM

from lbi.agent import Task, run_episode
from lbi.config import CommonSettings
from lbi.llm.gateway import LLMError, LLMGateway, LLMOutputError
from lbi.llm.litellm_setup import get_litellm, register_provider
from lbi.llm.roles import Role
from lbi.llm.routers import deployments
from lbi.records import Outcome
from tests.fixtures.openai_server import Behaviour, OpenAIFixture

INPUTS = {"env": "sql", "task": "find customers", "history": [], "observation": "Connected."}
GOOD = '{"queries": ["customers by city"]}'


def _settings(server: OpenAIFixture, **extra) -> CommonSettings:
    defaults = {"llm_model": "openai/test-model", "llm_api_base": server.api_base, "llm_timeout_s": 2, "llm_retries": 0}
    return CommonSettings(**{**defaults, **extra})


async def test_a_reply_cut_at_max_tokens_is_asked_again_with_twice_the_budget():
    with OpenAIFixture() as server:
        server.default = Behaviour(content=GOOD)
        server.script = [Behaviour(content='{"queries": ["custo', finish_reason="length")]
        result = await LLMGateway(_settings(server, llm_max_tokens=300)).call(Role.QUERY, INPUTS)
        assert result.output.queries == ["customers by city"] and result.attempts == 2
        assert [r["max_tokens"] for r in server.requests] == [300, 600]


async def test_a_reply_cut_twice_is_a_truncated_failure_with_its_tokens_counted():
    with OpenAIFixture() as server:
        server.default = Behaviour(content='{"queries": ["custo', finish_reason="length")
        gateway = LLMGateway(_settings(server, llm_max_tokens=100))
        with pytest.raises(LLMOutputError) as err:
            await gateway.call(Role.QUERY, INPUTS)
        assert err.value.kind == "truncated" and "max_tokens (200)" in err.value.reason
        # twice the budget, then asked again to answer shorter: three replies, 11 prompt tokens each
        assert err.value.usage.attempts == 3 and err.value.usage.prompt_tokens == 33
        assert [r["max_tokens"] for r in server.requests] == [100, 200, 200]
        assert "Keep it short" in server.requests[2]["messages"][-1]["content"]
        assert gateway.meter.by_role["query"].completion_tokens == 21


async def test_tokens_of_unusable_attempts_are_counted_in_the_error():
    with OpenAIFixture() as server:
        server.default = Behaviour(content="I'm sorry, I cannot do that.")
        with pytest.raises(LLMOutputError) as err:
            await LLMGateway(_settings(server)).call(Role.QUERY, INPUTS)
        assert err.value.kind == "unusable_reply"
        assert (err.value.usage.prompt_tokens, err.value.usage.completion_tokens) == (22, 14)


async def test_the_api_key_is_a_secret_reference_sent_to_its_own_deployment_only(monkeypatch):
    monkeypatch.setenv("LBI_SECRET_TEAM_LLM_KEY", "s3cret-key")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with OpenAIFixture() as server:
        server.required_key = "s3cret-key"
        server.default = Behaviour(content=GOOD)
        settings = _settings(server, llm_api_key="${TEAM_LLM_KEY}", llm_fallbacks=["anthropic/claude-3-5-haiku-latest"])
        result = await LLMGateway(settings).call(Role.QUERY, INPUTS)
        assert result.output.queries == ["customers by city"]
        assert server.authorizations == ["Bearer s3cret-key"]

        # the primary fails: the fallback goes to its own provider, never to this endpoint or with this key
        server.default = Behaviour(status=500)
        with pytest.raises(LLMError) as err:
            await LLMGateway(settings).call(Role.QUERY, INPUTS)
        assert all(r["model"] == "test-model" for r in server.requests)
        assert "s3cret-key" not in err.value.reason
    model_list, fallbacks = deployments(settings, "openai/test-model")
    assert fallbacks == ["anthropic/claude-3-5-haiku-latest"]
    fallback = model_list[1]["litellm_params"]
    assert "api_base" not in fallback and "api_key" not in fallback


async def test_a_missing_secret_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.delenv("LBI_SECRET_NOPE", raising=False)
    with OpenAIFixture() as server:
        settings = _settings(server, llm_api_key="${NOPE}", secrets_dir=tmp_path)
        with pytest.raises(LLMError) as err:
            await LLMGateway(settings).call(Role.QUERY, INPUTS)
        assert "LBI_SECRET_NOPE" in err.value.reason and str(tmp_path / "NOPE") in err.value.reason
        assert server.requests == []


async def test_an_authenticated_endpoint_without_the_key_fails_at_once():
    with OpenAIFixture() as server:
        server.required_key = "right"
        started = time.monotonic()
        with pytest.raises(LLMError) as err:
            await LLMGateway(_settings(server, llm_api_key="wrong", llm_retries=3)).call(Role.QUERY, INPUTS)
        assert len(server.requests) == 1 and time.monotonic() - started < 5  # a 401 is not retried
        assert "wrong" not in err.value.reason


async def test_per_role_model_temperature_and_max_tokens():
    with OpenAIFixture() as server:
        server.default = Behaviour(content=GOOD)
        roles = {"query": {"temperature": 0.3, "max_tokens": 77}}
        gateway = LLMGateway(_settings(server, llm_roles=roles, llm_temperature=0.9))
        await gateway.call(Role.QUERY, INPUTS)
        assert (server.requests[0]["temperature"], server.requests[0]["max_tokens"]) == (0.3, 77)
        assert gateway.cache_identity(Role.QUERY)[2:] == (0.3, 77)
        assert gateway.cache_identity(Role.JUDGE)[2:] == (0.9, 2048)


def test_model_list_entries_keep_the_defaults_they_do_not_set():
    settings = CommonSettings(
        llm_model="team-model",
        llm_timeout_s=17,
        llm_max_parallel_requests=3,
        llm_model_list=[{"model_name": "team-model", "litellm_params": {"model": "openai/x", "api_base": "http://h"}}],
    )
    (entry,), _ = deployments(settings, "team-model")
    params = entry["litellm_params"]
    assert params["timeout"] == 17 and params["drop_params"] is True and params["max_parallel_requests"] == 3
    assert params["api_base"] == "http://h"


class _Broken(CustomLLM):
    """A provider with a bug of its own: every call raises IndexError."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    async def acompletion(self, model, messages, *args, **kwargs):
        self.calls += 1
        raise IndexError("list index out of range")


async def test_an_error_inside_a_custom_provider_fails_at_once_with_its_own_message():
    broken = _Broken()
    register_provider("broken", broken)
    started = time.monotonic()
    with pytest.raises(LLMError) as err:
        await LLMGateway(CommonSettings(llm_model="broken/x", llm_retries=3)).call(Role.QUERY, INPUTS)
    assert broken.calls == 1 and time.monotonic() - started < 2
    assert "IndexError: list index out of range" in err.value.reason and err.value.kind == "call_failed"


class _FailsAfter(CustomLLM):
    """Acts sensibly for `good` calls, then answers only prose."""

    def __init__(self, good: int):
        super().__init__()
        self.good, self.calls = good, 0

    async def acompletion(self, model, messages, *args, **kwargs):
        self.calls += 1
        reply = (
            f'Sure!\n```json\n{{"action": "```sql\\nSELECT {self.calls};\\n```"}}\n```'
            if self.calls <= self.good
            else "I am not able to continue."
        )
        return get_litellm().completion(model="gpt-3.5-turbo", messages=messages, mock_response=reply)


async def test_the_agent_keeps_its_steps_when_its_model_fails_mid_episode(runner):
    register_provider("failsafter", _FailsAfter(good=3))
    gateway = LLMGateway(CommonSettings(llm_model="failsafter/x", llm_retries=0))
    trajectory = await run_episode(gateway, runner, "sql", "SQL", Task("t1", "count things"), max_steps=8)
    assert trajectory.outcome is Outcome.ERROR and "unusable_reply" in trajectory.error
    assert [s.action for s in trajectory.steps] == ["SELECT 1;", "SELECT 2;", "SELECT 3;"]  # fences unwrapped
    assert not any(s.error for s in trajectory.steps)


class _Says(CustomLLM):
    def __init__(self, reply: str):
        super().__init__()
        self.reply = reply

    async def acompletion(self, model, messages, *args, **kwargs):
        return get_litellm().completion(model="gpt-3.5-turbo", messages=messages, mock_response=self.reply)


async def test_an_action_given_with_stop_runs_then_the_episode_stops(runner):
    register_provider("says", _Says('{"action": "SELECT 41 + 1;", "stop": true, "answer": "42"}'))
    gateway = LLMGateway(CommonSettings(llm_model="says/x", llm_retries=0))
    trajectory = await run_episode(gateway, runner, "sql", "SQL", Task("t2", "add"), max_steps=5)
    assert trajectory.outcome is Outcome.STOPPED and trajectory.answer == "42"
    assert [s.action for s in trajectory.steps] == ["SELECT 41 + 1;"] and "42" in trajectory.final_observation
