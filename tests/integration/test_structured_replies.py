"""Structured output and provider behaviour through litellm's real HTTP path (tests/fixtures/openai_server.py).

Where litellm says the model calls functions, the role's schema is the one function the model must call and the
call's arguments are read (leniently, as text is); where it does not, nothing structured is asked for and the
text is read. A Retry-After the provider sends is honoured within litellm's bound; a reply cut at max_tokens that
still holds a complete answer is used, else asked again with twice the budget; the one re-ask shows the model its
reply and the form wanted.
"""

import json

import pytest

from lbi.config import CommonSettings
from lbi.llm.gateway import LLMGateway, LLMOutputError
from lbi.llm.roles import Role
from tests.fixtures.openai_server import Behaviour, OpenAIFixture

ACT_INPUTS = {
    "env": "sql",
    "action_space": "SQL",
    "task": "How many members?",
    "history": [],
    "observation": "Connected.",
}
TOOL_MODEL = "openai/gpt-4o-mini"  # litellm: supports function calling and response schemas
TEXT_MODEL = "openai/house-model"  # unknown to litellm: text


def _gateway(server: OpenAIFixture, model: str = TOOL_MODEL, **extra) -> LLMGateway:
    settings = {"llm_model": model, "llm_api_base": server.api_base, "llm_timeout_s": 5, "llm_retries": 2}
    return LLMGateway(CommonSettings(**{**settings, **extra}))


async def test_the_move_is_asked_for_as_a_tool_call_and_read_from_it():
    with OpenAIFixture() as server:
        move = {"thought": "count them", "action": "SELECT COUNT(*) FROM members", "stop": False, "answer": ""}
        server.default = Behaviour(content=None, tool_calls=[("act", json.dumps(move))], finish_reason="tool_calls")
        result = await _gateway(server).call(Role.ACT, ACT_INPUTS)
        assert result.output.action == "SELECT COUNT(*) FROM members" and result.attempts == 1
        (request,) = server.requests
        (tool,) = request["tools"]
        assert tool["function"]["name"] == "act"
        assert set(tool["function"]["parameters"]["properties"]) == {"thought", "action", "stop", "answer"}
        assert request["tool_choice"] == {"type": "function", "function": {"name": "act"}}
        assert "response_format" not in request


async def test_a_model_without_functions_or_schemas_is_asked_for_text():
    with OpenAIFixture() as server:
        server.default = Behaviour(content="Thought: count\nAction: SELECT COUNT(*) FROM members")
        result = await _gateway(server, TEXT_MODEL).call(Role.ACT, ACT_INPUTS)
        assert result.output.action == "SELECT COUNT(*) FROM members"
        assert "tools" not in server.requests[0] and "response_format" not in server.requests[0]


@pytest.mark.parametrize(
    "setting, key",
    [("json_schema", "response_format"), ("tools", "tools"), ("none", None)],
)
async def test_the_form_can_be_chosen(setting, key):
    with OpenAIFixture() as server:
        server.default = Behaviour(content='{"queries": ["members by city"]}')
        await _gateway(server, TEXT_MODEL, llm_response_format=setting).call(Role.QUERY, ACT_INPUTS)
        sent = {k for k in ("tools", "response_format") if k in server.requests[0]}
        assert sent == ({key} if key else set())


async def test_a_tool_call_with_broken_arguments_is_read_and_the_text_beside_it_is_the_thought():
    with OpenAIFixture() as server:
        server.default = Behaviour(
            content="I will count the members first.",
            tool_calls=[("act", "{'action': 'SELECT COUNT(*) FROM members', 'stop': False,}")],
        )
        result = await _gateway(server).call(Role.ACT, ACT_INPUTS)
        assert result.output.action == "SELECT COUNT(*) FROM members"
        assert result.output.thought == "I will count the members first."


async def test_a_cut_tool_call_is_asked_again_with_twice_the_budget():
    with OpenAIFixture() as server:
        whole = json.dumps({"action": "SELECT name FROM members ORDER BY joined"})
        server.default = Behaviour(content=None, tool_calls=[("act", whole)])
        server.script = [Behaviour(content=None, tool_calls=[("act", whole[:25])], finish_reason="length")]
        result = await _gateway(server, llm_max_tokens=200).call(Role.ACT, ACT_INPUTS)
        assert result.output.action == "SELECT name FROM members ORDER BY joined" and result.attempts == 2
        assert [r["max_tokens"] for r in server.requests] == [200, 400]


async def test_a_reply_cut_after_its_complete_answer_is_used_without_asking_again():
    with OpenAIFixture() as server:
        reply = "Thought: count\nAction: SELECT COUNT(*) FROM members\n\nExplanation: this query counts every mem"
        server.default = Behaviour(content=reply, finish_reason="length")
        result = await _gateway(server, TEXT_MODEL).call(Role.ACT, ACT_INPUTS)
        assert result.output.action == "SELECT COUNT(*) FROM members" and result.attempts == 1


async def test_the_one_reask_shows_the_reply_and_the_form_then_the_failure_is_counted():
    with OpenAIFixture() as server:
        server.default = Behaviour(content=None, tool_calls=[("act", '{"command": "ls"}')])
        gateway = _gateway(server)
        with pytest.raises(LLMOutputError) as err:
            await gateway.call(Role.ACT, ACT_INPUTS)
        assert err.value.kind == "unusable_reply" and err.value.usage.attempts == 2
        shown, note = server.requests[1]["messages"][-2:]
        assert shown == {"role": "assistant", "content": '{"command": "ls"}'}
        assert "Call the function `act` once" in note["content"] and '"action": "..."' in note["content"]
        assert gateway.meter.by_role["act"].calls == 2

    with OpenAIFixture() as server:
        server.default = Behaviour(content="Sure, I will list the files.")
        with pytest.raises(LLMOutputError):
            await _gateway(server, TEXT_MODEL).call(Role.ACT, ACT_INPUTS)
        note = server.requests[1]["messages"][-1]["content"]
        assert "one JSON object" in note and '{"thought": "...", "action": "...", "stop": false' in note


async def test_a_retry_after_longer_than_litellm_honours_is_not_waited_for():
    """litellm waits as long as Retry-After says up to 60 s, and backs off (at most 8 s) past that: an hour is
    never waited."""
    with OpenAIFixture() as server:
        server.default = Behaviour(content='{"queries": ["members by city"]}')
        server.script = [Behaviour(status=429, headers={"Retry-After": "3600"}), Behaviour(status=503)]
        result = await _gateway(server, TEXT_MODEL).call(Role.QUERY, ACT_INPUTS)
        assert result.output.queries == ["members by city"] and len(server.requests) == 3
