"""Parsing model replies into a role's schema, with messages that say what is wrong."""

import pytest

from lbi.llm.gateway import parse_json_reply
from lbi.llm.roles import ActOut, JudgeOut, TasksOut


def test_plain_fenced_and_wrapped_json():
    assert parse_json_reply('{"tasks": ["a"]}', TasksOut).tasks == ["a"]
    assert parse_json_reply('```json\n{"tasks": ["a", "b"]}\n```', TasksOut).tasks == ["a", "b"]
    assert parse_json_reply('Sure! {"action": "SELECT 1"} hope it helps', ActOut).action == "SELECT 1"


@pytest.mark.parametrize(
    "reply, fragment",
    [
        ("", "empty"),
        ("no json here", "no JSON object"),
        ('{"tasks": ["a"', "no JSON object"),
        ('{"tasks": [}', "invalid JSON"),
        ('{"tasks": []}', "tasks"),
        ('{"aligned": {"ok": true}}', "coherent"),
    ],
)
def test_bad_replies_say_why(reply, fragment):
    model = JudgeOut if "aligned" in reply else TasksOut
    with pytest.raises(ValueError, match=fragment):
        parse_json_reply(reply, model)
