"""The reply reader against replies as real models write them: each with the outcome it must have.

A corpus of realistic replies (prose around JSON, fences of other languages, think blocks, single quotes, trailing
commas, truncation, refusals, lists where an object is asked for), for every role's schema. Each entry says what
the reader must make of it: the field values it must read, or the fragment of the error it must give.
"""

import pytest

from lbi.action_text import unwrap_action
from lbi.llm.replies import ReplyError, parse_reply, strip_thinking
from lbi.llm.roles import ActOut, JudgeOut, LabelBatchOut, LabelOut, QueryOut, TasksOut

JUDGE_OK = (
    '{"aligned": {"ok": true, "reason": "r"}, "coherent": {"ok": true, "reason": "r"}, '
    '"natural": {"ok": false, "reason": "too vague"}, "reasonable": {"ok": true, "reason": "r"}}'
)
LONG_QUERY = "which suppliers ship to more than three regions and have at least one late delivery in the last quarter of the year"

# (reply, schema, expected fields or None, error fragment when no fields)
# fmt: off
# ruff: noqa: E501
CORPUS = [
    # plain and fenced
    ('{"action": "SELECT 1;"}', ActOut, {"action": "SELECT 1;"}, ""),
    ('```json\n{"action": "ls -la"}\n```', ActOut, {"action": "ls -la"}, ""),
    ('```JSON\n{"stop": true, "answer": "42"}\n```', ActOut, {"stop": True, "answer": "42"}, ""),
    ('```\n{"tasks": ["Find late orders"]}\n```', TasksOut, {"tasks": ["Find late orders"]}, ""),
    ('```python\n{"instruction": "Count rows."}\n```', LabelOut, {"instruction": "Count rows."}, ""),
    ('```javascript\n{"queries": ["open invoices"]}\n```', QueryOut, {"queries": ["open invoices"]}, ""),
    # JSON whose value holds a fence of another language
    ('{"action": "```sql\\nSELECT * FROM t;\\n```"}', ActOut, {"action": "```sql\nSELECT * FROM t;\n```"}, ""),
    # prose, then a SQL block, then the JSON block
    (
        'I will query the table.\n```sql\nSELECT name FROM staff;\n```\nSo:\n```json\n{"action": "SELECT name FROM staff;"}\n```',
        ActOut,
        {"action": "SELECT name FROM staff;"},
        "",
    ),
    # prose before and after
    ('Sure! Here you go:\n{"action": "pwd"}\nHope this helps.', ActOut, {"action": "pwd"}, ""),
    ('Answer: {"instruction": "List the tables."} (as requested)', LabelOut, {"instruction": "List the tables."}, ""),
    # trailing prose with braces
    ('{"action": "cat a.txt"}\nNote: {braces} in text like {this} are not JSON.', ActOut, {"action": "cat a.txt"}, ""),
    # leading prose with braces and a bracket
    ('Using a set {a, b} and list [1, 2]:\n{"queries": ["rooms by floor"]}', QueryOut, {"queries": ["rooms by floor"]}, ""),
    # think blocks
    ('<think>The schema has {x}. I should list tables.</think>\n{"action": ".tables"}', ActOut, {"action": ".tables"}, ""),
    ('<thinking>\nplan\n</thinking>{"stop": true, "answer": "done"}', ActOut, {"stop": True, "answer": "done"}, ""),
    ('reasoning without an opening tag</think>\n{"action": "ls"}', ActOut, {"action": "ls"}, ""),
    ('<think>I never finish thinking {"action": "rm"}', ActOut, None, "only reasoning"),
    ("<think>x</think>", ActOut, None, "only reasoning"),
    # lists where one list field is expected
    ('["Find overdue books", "Renew a loan"]', TasksOut, {"tasks": ["Find overdue books", "Renew a loan"]}, ""),
    ('Here are the queries:\n["late invoices", "unpaid"]', QueryOut, {"queries": ["late invoices", "unpaid"]}, ""),
    (
        '[{"end": 1, "instruction": "Open the log."}, {"end": 2, "instruction": "Count errors."}]',
        LabelBatchOut,
        {"labels": 2},
        "",
    ),
    ('["a", "b"]', ActOut, None, "list"),
    # over-long strings and lists are clipped
    ('{"queries": ["' + LONG_QUERY + '"]}', QueryOut, {"query_len_max": 120}, ""),
    ('{"queries": ["a", "b", "c", "d", "e"]}', QueryOut, {"queries": ["a", "b", "c"]}, ""),
    ('{"tasks": [' + ", ".join(f'"task {i}"' for i in range(70)) + "]}", TasksOut, {"tasks_len": 50}, ""),
    ('{"tasks": ["' + "word " * 200 + '"]}', TasksOut, {"task_len_max": 500}, ""),
    # single quotes, trailing commas, Python literals
    ("{'action': 'ls', 'stop': False}", ActOut, {"action": "ls"}, ""),
    ('{"action": "whoami", "stop": false,}', ActOut, {"action": "whoami"}, ""),
    ("{'stop': True, 'answer': 'Paris',}", ActOut, {"stop": True, "answer": "Paris"}, ""),
    ('{"tasks": ["Archive old mail", "Sort by sender",]}', TasksOut, {"tasks": ["Archive old mail", "Sort by sender"]}, ""),
    ("Sure:\n{'queries': ['shipping costs'],}\nDone.", QueryOut, {"queries": ["shipping costs"]}, ""),
    # the judge's nested objects, in prose and fenced
    (f"My verdict:\n```json\n{JUDGE_OK}\n```", JudgeOut, {"natural_ok": False}, ""),
    (f"{JUDGE_OK}\nOverall the example is fine {{mostly}}.", JudgeOut, {"natural_ok": False}, ""),
    # several objects: the first that fits wins
    ('{"note": "thinking"} then {"action": "SELECT 2;"}', ActOut, {"action": "SELECT 2;"}, ""),
    # an act reply must say something
    ("{}", ActOut, None, "'action'"),
    ('{"command": "ls"}', ActOut, None, "'action'"),
    ('{"actions": ["ls", "pwd"]}', ActOut, None, "'action'"),
    ('{"action": "   "}', ActOut, None, "'action'"),
    # stop with an action is a move (the action runs, then the episode stops)
    ('{"action": "COMMIT;", "stop": true, "answer": "saved"}', ActOut, {"action": "COMMIT;", "stop": True}, ""),
    # truncated, empty, refusals, wrong schema
    ('{"action": "SELECT name FROM', ActOut, None, "no JSON object"),
    ('```json\n{"tasks": ["Find', TasksOut, None, "no JSON object"),
    ("", ActOut, None, "empty"),
    ("   \n ", TasksOut, None, "empty"),
    ("I'm sorry, but I can't help with that request.", ActOut, None, "no JSON object"),
    ("As an AI model I cannot browse. {I refuse}", QueryOut, None, "no JSON object"),
    ('{"tasks": []}', TasksOut, {"tasks": []}, ""),  # no task is an answer
    ('{"aligned": {"ok": true}}', JudgeOut, None, "coherent"),
    ('{"queries": [""]}', QueryOut, None, "queries"),
    ('{"labels": [{"end": 0, "instruction": "x"}]}', LabelBatchOut, None, "end"),
]
# fmt: on


def _check(output, expected: dict) -> None:
    for key, value in expected.items():
        if key == "labels":
            assert len(output.labels) == value
        elif key == "query_len_max":
            assert all(0 < len(q) <= value for q in output.queries)
        elif key == "tasks_len":
            assert len(output.tasks) == value
        elif key == "task_len_max":
            assert all(0 < len(t) <= value for t in output.tasks)
        elif key == "natural_ok":
            assert output.natural.ok is value and output.aligned.ok
        else:
            assert getattr(output, key) == value, key


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("reply, schema, expected, fragment", CORPUS, ids=[f"r{i}" for i in range(len(CORPUS))])
def test_each_reply_has_its_outcome(reply, schema, expected, fragment):
    if expected is not None:
        _check(parse_reply(reply, schema), expected)
    else:
        with pytest.raises(ReplyError, match=fragment):
            parse_reply(reply, schema)


def test_a_reply_cut_at_its_limit_is_never_repaired_into_a_shorter_answer():
    cut = "{'action': 'SELECT name FROM staff WHERE"
    with pytest.raises(ReplyError, match="cut at its token limit"):
        parse_reply(cut, ActOut, truncated=True)
    with pytest.raises(ReplyError):
        parse_reply('{"tasks": ["a", "b"', TasksOut, truncated=True)


def test_think_blocks_are_stripped_before_reading():
    assert strip_thinking("<think>a {b}</think> answer") == "answer"
    assert strip_thinking("<think>never closed") == ""


@pytest.mark.parametrize(
    "env, action, expected",
    [
        ("sql", "```sql\nSELECT 1;\n```", "SELECT 1;"),
        ("sql", "```\nSELECT 1;\n```", "SELECT 1;"),
        ("sql", "```postgresql\nSELECT now();\n```", "SELECT now();"),
        ("shell", "```bash\nls -la\ncd /tmp\n```", "ls -la\ncd /tmp"),
        ("shell", "`ls -la`", "ls -la"),
        ("shell", "```python\nprint(1)\n```", "```python\nprint(1)\n```"),  # another language stays
        ("sql", "SELECT '```';", "SELECT '```';"),
        ("web", "click [12]", "click [12]"),
    ],
)
def test_an_action_fenced_in_the_environments_language_is_unwrapped(env, action, expected):
    assert unwrap_action(env, action) == expected
