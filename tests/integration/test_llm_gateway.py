"""The LLM gateway: parse retries with a scripted double, and litellm's real HTTP path with injected faults."""

import time

import pytest
from litellm import CustomLLM

from lbi.config import CommonSettings
from lbi.llm.gateway import LLMError, LLMGateway, LLMOutputError
from lbi.llm.litellm_setup import get_litellm, register_provider
from lbi.llm.roles import Role
from tests.fixtures.openai_server import Behaviour, OpenAIFixture

QUERY_INPUTS = {"env": "sql", "task": "find customers", "history": [], "observation": "Connected."}


class Scripted(CustomLLM):
    """A test double behind model `scripted/...`: replies from a list, records every call."""

    def __init__(self, replies):
        super().__init__()
        self.replies = list(replies)
        self.calls = []

    async def acompletion(self, model, messages, *args, **kwargs):
        self.calls.append(messages)
        self.metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        return get_litellm().completion(model="gpt-3.5-turbo", messages=messages, mock_response=self.replies.pop(0))


@pytest.fixture
def scripted():
    def install(replies):
        double = Scripted(replies)
        register_provider("scripted", double)
        return double

    return install


async def test_unusable_reply_is_retried_once_with_the_error_shown(scripted):
    double = scripted(["not json", '{"queries": ["customers by revenue"]}'])
    gateway = LLMGateway(CommonSettings(llm_model="scripted/x", llm_retries=0))
    result = await gateway.call(Role.QUERY, QUERY_INPUTS)
    assert result.output.queries == ["customers by revenue"] and result.attempts == 2
    assert len(double.calls) == 2
    assert "could not be used" in double.calls[1][-1]["content"] and double.calls[1][-2]["content"] == "not json"
    assert gateway.meter.by_role["query"].calls == 2


async def test_a_real_provider_gets_no_role_inputs_in_its_metadata(scripted):
    """The offline backend reads the role's inputs from the call's metadata; any other provider (and any litellm
    logging callback) must not get them: observations may hold what an agent saw."""
    double = scripted(['{"queries": ["customers by revenue"]}'])
    await LLMGateway(CommonSettings(llm_model="scripted/x", llm_retries=0)).call(Role.QUERY, QUERY_INPUTS)
    assert double.metadata.get("lbi_role") == "query" and "lbi_inputs" not in double.metadata


async def test_twice_unusable_reply_is_a_clean_output_error(scripted):
    double = scripted(['{"queries": []}', '{"wrong": 1}'])
    gateway = LLMGateway(CommonSettings(llm_model="scripted/x", llm_retries=0))
    with pytest.raises(LLMOutputError, match="queries"):
        await gateway.call(Role.QUERY, QUERY_INPUTS)
    assert len(double.calls) == 2


async def test_http_429_and_500_are_retried_then_succeed():
    with OpenAIFixture() as server:
        server.script = [Behaviour(status=429, headers={"Retry-After": "0"}), Behaviour(status=500)]
        settings = CommonSettings(
            llm_model="openai/test-model", llm_api_base=server.api_base, llm_timeout_s=2, llm_retries=2
        )
        gateway = LLMGateway(settings)
        result = await gateway.call(Role.QUERY, QUERY_INPUTS)
        assert result.output.queries == ["default"]
        assert len(server.requests) == 3
        assert result.prompt_tokens == 11 and result.completion_tokens == 7
        assert server.requests[0]["messages"][-1]["content"].startswith("Environment: sql.")


async def test_a_priced_model_is_metered_at_litellms_price():
    """A model litellm has a price for: the call's cost is litellm's own pricing of it (taken from the response,
    not computed a second time), and the meter adds it up."""
    with OpenAIFixture() as server:
        gateway = LLMGateway(CommonSettings(llm_model="openai/gpt-4o", llm_api_base=server.api_base, llm_retries=0))
        result = await gateway.call(Role.QUERY, QUERY_INPUTS)
        litellm = get_litellm()
        price = litellm.model_cost["gpt-4o"]
        expected = 11 * price["input_cost_per_token"] + 7 * price["output_cost_per_token"]
        assert result.cost_usd == pytest.approx(expected) and expected > 0
        assert gateway.meter.total().cost_usd == pytest.approx(expected)


async def test_timeouts_exhaust_retries_into_a_clean_error():
    with OpenAIFixture() as server:
        server.default = Behaviour(hang_s=2.5)
        settings = CommonSettings(
            llm_model="openai/test-model", llm_api_base=server.api_base, llm_timeout_s=0.5, llm_retries=1
        )
        gateway = LLMGateway(settings)
        started = time.monotonic()
        with pytest.raises(LLMError) as err:
            await gateway.call(Role.QUERY, QUERY_INPUTS)
        assert "Timeout" in err.value.reason and "\n" not in err.value.reason
        assert len(server.requests) == 2
        assert time.monotonic() - started < 20
        assert gateway.meter.total().failed_calls == 1


async def test_fallback_model_answers_when_the_first_fails():
    with OpenAIFixture() as server:
        server.default = Behaviour(status=500)
        settings = CommonSettings(
            llm_model="openai/test-model",
            llm_api_base=server.api_base,
            llm_retries=0,
            llm_fallbacks=["offline/heuristic"],
        )
        result = await LLMGateway(settings).call(Role.QUERY, QUERY_INPUTS)
        assert result.output.queries[0] == "find customers"
