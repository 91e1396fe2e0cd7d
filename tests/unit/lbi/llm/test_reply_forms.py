"""Replies in other models' forms, per form and per role, each with the outcome it must have (issue 37).

Written as models of other families and agent frameworks write them: ReAct lines (LangChain's "Action" /
"Action Input", "Final Answer", an imagined "Observation"), XML-like tags (one per field, Anthropic's
`<function_calls>`, a Hermes `<tool_call>`), Python literals, bold markdown labels around a fence, JSON with
trailing commas, tool-call envelopes written as text. Every entry says the fields the reader must read, or the
fragment of the error it must give; the safety entries make sure a form is never read into a wrong move.
"""

import pytest

from lbi.action_text import unwrap_action
from lbi.llm.replies import ReplyError, parse_reply
from lbi.llm.roles import ActOut, JudgeOut, LabelBatchOut, LabelOut, QueryOut, TasksOut

# fmt: off
# ruff: noqa: E501
ACT = [
    # ReAct
    ("react", "Thought: I should count the visits first.\nAction: SELECT COUNT(*) FROM visits;", {"action": "SELECT COUNT(*) FROM visits;", "thought": "I should count the visits first."}),
    ("react", "Thought: The table is called shipments.\nAction: sql_db_query\nAction Input: SELECT carrier, COUNT(*) FROM shipments GROUP BY carrier", {"action": "SELECT carrier, COUNT(*) FROM shipments GROUP BY carrier"}),
    ("react", 'Thought: list the folder\nAction: terminal\nAction Input: {"commands": "ls -la /srv/www"}', {"action": "ls -la /srv/www"}),
    ("react", 'Action: shell\nAction Input: "du -sh ~/backups"', {"action": "du -sh ~/backups"}),
    ("react", "Thought: I now know the final answer\nFinal Answer: There are 14 visits.", {"stop": True, "answer": "There are 14 visits.", "action": ""}),
    ("react", "Thought: done\nAction: Final Answer\nAction Input: 14", {"stop": True, "answer": "14", "action": ""}),
    ("react", "Thought: look first\nAction: cat notes/todo.txt\nObservation: buy milk\nThought: I know it now\nFinal Answer: buy milk", {"action": "cat notes/todo.txt", "stop": False}),
    ("react", "Thought 3: I need the top rows.\nAction 3: SELECT * FROM kiosks LIMIT 5;", {"action": "SELECT * FROM kiosks LIMIT 5;"}),
    ("react", "Thought: a grouped query\nAction: SELECT region,\n       SUM(amount) AS total\nFROM sales\nGROUP BY region;\n\nThis sums the sales per region.", {"action": "SELECT region,\n       SUM(amount) AS total\nFROM sales\nGROUP BY region;"}),
    ("react", "Thought: run it\nAction:\n```bash\nawk -F: '{print $1}' /etc/passwd | sort\n```", {"unwrapped": ("shell", "awk -F: '{print $1}' /etc/passwd | sort")}),
    ("react", 'Thought: write the config\nAction: echo \'{"stop": true}\' > cfg.json', {"action": "echo '{\"stop\": true}' > cfg.json", "stop": False}),
    # XML-like tags
    ("xml", "<thought>Members in Ghent.</thought>\n<action>SELECT name FROM members WHERE city = 'Ghent' AND id < 10</action>", {"action": "SELECT name FROM members WHERE city = 'Ghent' AND id < 10"}),
    ("xml", "<action>grep -c ERROR app.log &amp;&amp; echo found</action>", {"action": "grep -c ERROR app.log && echo found"}),
    ("xml", "<thinking>the count is shown</thinking>\n<final_answer>42</final_answer>", {"stop": True, "answer": "42"}),
    ("xml", "<action>UPDATE stock SET qty = 0 WHERE sku = 'A-1';</action>\n<stop>true</stop>\n<answer>cleared</answer>", {"action": "UPDATE stock SET qty = 0 WHERE sku = 'A-1';", "stop": True, "answer": "cleared"}),
    ("xml", 'I will look at the logs.\n<function_calls>\n<invoke name="act">\n<parameter name="thought">errors first</parameter>\n<parameter name="action">tail -n 20 /var/log/app.log</parameter>\n</invoke>\n</function_calls>', {"action": "tail -n 20 /var/log/app.log", "thought": "errors first"}),
    ("xml", '<tool_call>\n{"name": "act", "arguments": {"thought": "check", "action": "SELECT 1;"}}\n</tool_call>', {"action": "SELECT 1;"}),
    ("xml", "<thought>look</thought>\n<action>ls</action>\n<stop></stop>\n<answer></answer>", {"action": "ls", "stop": False}),
    ("xml", "<action><![CDATA[sed -n '1,5p' <input.txt]]></action>", {"action": "sed -n '1,5p' <input.txt"}),
    # Python literals
    ("python", "{'thought': 'ok', 'action': \"SELECT name FROM t WHERE city = 'Ghent'\", 'stop': False, 'answer': None}", {"action": "SELECT name FROM t WHERE city = 'Ghent'", "stop": False}),
    ("python", "```python\n{'thought': None, 'action': None, 'stop': True, 'answer': 'three rows'}\n```", {"stop": True, "answer": "three rows"}),
    ("python", "Next move: dict(thought='x') ... {'action': 'find . -name \"*.py\" | wc -l'}", {"action": 'find . -name "*.py" | wc -l'}),
    # bold markdown labels around a fence
    ("markdown", "**Thought:** The notes are markdown files.\n\n**Action:**\n```bash\nfind notes -name '*.md' | sort\n```\n\nThis lists every note.", {"unwrapped": ("shell", "find notes -name '*.md' | sort")}),
    ("markdown", "**Action**: `wc -l < data.csv`", {"unwrapped": ("shell", "wc -l < data.csv")}),
    ("markdown", "### Thought\nnothing left\n\n**Final Answer:** 3 members", {"stop": True, "answer": "3 members"}),
    ("markdown", "**Thought**: two lines\n**Action**:\n```sql\nSELECT a\n\nFROM b;\n```", {"unwrapped": ("sql", "SELECT a\n\nFROM b;")}),
    # labels in lower case (YAML-like), a one-line triple-backtick action, a lone fence with prose
    ("labelled", "action: ls -la ~/inbox\nthought: just look", {"action": "ls -la ~/inbox", "thought": "just look"}),
    ("react", "Thought: x\nAction: ```SELECT COUNT(*) FROM t```", {"action": "SELECT COUNT(*) FROM t"}),
    ("fence", "I'll check the biggest files:\n\n```bash\ndu -a . | sort -n -r | head -n 5\n```", {"action": "du -a . | sort -n -r | head -n 5", "thought": "I'll check the biggest files:"}),
    # raw line breaks inside a JSON string (multi-line SQL), trailing commas, nulls, envelopes, LangChain JSON
    ("trailing", '{"thought": "x", "action": "SELECT a,\n  b FROM t",}', {"action": "SELECT a,\n  b FROM t"}),
    ("trailing", 'Here is the JSON:\n{"thought": "count", "action": "SELECT COUNT(*) FROM t",}', {"action": "SELECT COUNT(*) FROM t"}),
    ("trailing", '{"thought": "x", "action": "ls", "stop": false, "answer": null}', {"action": "ls"}),
    ("envelope", '{"name": "act", "arguments": "{\\"action\\": \\"pwd\\"}"}', {"action": "pwd"}),
    ("envelope", '{"function": {"name": "act", "arguments": {"stop": true, "answer": "none"}}}', {"stop": True, "answer": "none"}),
    ("langchain", '```json\n{"action": "Final Answer", "action_input": "Paris"}\n```', {"stop": True, "answer": "Paris"}),
    ("langchain", '{"action": "terminal", "action_input": "ls -1 /tmp"}', {"action": "ls -1 /tmp"}),
]

OTHER = [
    # label
    ("react", LabelOut, "Thought: the steps count orders in May\nFinal Answer: Count the orders shipped in May.", {"instruction": "Count the orders shipped in May."}),
    ("xml", LabelOut, "<instruction>List every tag used on the wiki.</instruction>", {"instruction": "List every tag used on the wiki."}),
    ("markdown", LabelOut, "**Instruction:** Find the newest file in ~/inbox.", {"instruction": "Find the newest file in ~/inbox."}),
    ("python", LabelOut, "{'instruction': \"Rename O'Neil's report to report.txt\"}", {"instruction": "Rename O'Neil's report to report.txt"}),
    ("labelled", LabelOut, "Instruction: Show the members' names.", {"instruction": "Show the members' names."}),
    # label_batch
    ("xml", LabelBatchOut, "<labels>\n<label><end>1</end><instruction>Open the log.</instruction></label>\n<label><end>2</end><instruction>Count the errors.</instruction></label>\n</labels>", {"labels": [(1, "Open the log."), (2, "Count the errors.")]}),
    ("markdown", LabelBatchOut, '**Labels:**\n```json\n[{"end": 1, "instruction": "List tables."}]\n```', {"labels": [(1, "List tables.")]}),
    ("python", LabelBatchOut, "[{'end': 1, 'instruction': 'A'}, {'end': 3, 'instruction': 'B'},]", {"labels": [(1, "A"), (3, "B")]}),
    ("react", LabelBatchOut, 'Thought: two ends\nFinal Answer: {"labels": [{"end": 2, "instruction": "Sort it."}]}', {"labels": [(2, "Sort it.")]}),
    # judge
    ("labelled", JudgeOut, "Aligned: Yes - the last query counts them.\nCoherent: yes\nNatural: No — too vague for a user\nReasonable: yes, no detours", {"ok": (True, True, False, True), "natural": "too vague for a user"}),
    ("markdown", JudgeOut, "**Aligned:** ✅ matches\n**Coherent:** ✅\n**Natural:** ✅ plausible\n**Reasonable:** ❌ goes back and forth", {"ok": (True, True, True, False), "natural": "plausible"}),
    ("xml", JudgeOut, '<aligned ok="true">it does it</aligned><coherent ok="true">yes</coherent><natural ok="false">odd</natural><reasonable ok="true">fine</reasonable>', {"ok": (True, True, False, True), "natural": "odd"}),
    ("xml", JudgeOut, "<aligned><ok>true</ok><reason>r1</reason></aligned>\n<coherent><ok>false</ok><reason>r2</reason></coherent>\n<natural><ok>true</ok><reason>r3</reason></natural>\n<reasonable><ok>true</ok><reason>r4</reason></reasonable>", {"ok": (True, False, True, True), "natural": "r3"}),
    ("python", JudgeOut, "{'aligned': {'ok': True, 'reason': 'a'}, 'coherent': {'ok': True, 'reason': 'b'}, 'natural': {'ok': False, 'reason': 'c'}, 'reasonable': {'ok': True, 'reason': 'd'}}", {"ok": (True, True, False, True), "natural": "c"}),
    ("trailing", JudgeOut, '{"aligned": {"ok": true, "reason": "a",}, "coherent": {"ok": true, "reason": "b",}, "natural": {"ok": true, "reason": "c",}, "reasonable": {"ok": false, "reason": "d",},}', {"ok": (True, True, True, False), "natural": "c"}),
    # query
    ("react", QueryOut, "Thought: search for similar tasks\nFinal Answer:\n1. overdue invoices by customer\n2. unpaid invoices older than 30 days", {"queries": ["overdue invoices by customer", "unpaid invoices older than 30 days"]}),
    ("xml", QueryOut, "<queries><query>disk usage per folder</query><query>largest files</query></queries>", {"queries": ["disk usage per folder", "largest files"]}),
    ("markdown", QueryOut, "**Queries:**\n- rooms by floor\n- free rooms today", {"queries": ["rooms by floor", "free rooms today"]}),
    ("labelled", QueryOut, "Query: members who joined in 2023", {"queries": ["members who joined in 2023"]}),
    ("python", QueryOut, "['late shipments', 'carriers by delay']", {"queries": ["late shipments", "carriers by delay"]}),
    # self_instruct
    ("labelled", TasksOut, "Tasks:\n1. Find the largest log file.\n2. Count the lines of each CSV file.", {"tasks": ["Find the largest log file.", "Count the lines of each CSV file."]}),
    ("xml", TasksOut, "<tasks>\n<task>Archive last month's logs.</task>\n<task>Delete empty folders.</task>\n</tasks>", {"tasks": ["Archive last month's logs.", "Delete empty folders."]}),
    ("python", TasksOut, "{'tasks': ['Back up the database', 'Vacuum it',]}", {"tasks": ["Back up the database", "Vacuum it"]}),
]

# Replies that must not be read as a move (wrong or incomplete): (reply, truncated, error fragment)
REFUSED = [
    ("Thought: count them\nAction: sql_db_query\nAction Input: SELECT COUNT(*) FROM vis", True, None),  # cut inside the input
    ("Thought: count them\nAction: SELECT COUNT(*) FROM vis", True, None),  # cut inside the action
    ("<thought>x</thought>\n<action>SELECT name FROM members WHE", True, None),  # the tag never closed
    ("**Action:**\n```sql\nSELECT name FROM", True, None),
    ("{'action': 'SELECT name FROM staff WHERE", True, "cut at its token limit"),
    ("I think we should look at the table first.", False, "no JSON object"),
    ("Here is an example in Python:\n```python\nprint(1)\n```", False, "no JSON object"),  # not an action language
    ("Compare\n```sql\nSELECT 1;\n```\nwith\n```sql\nSELECT 2;\n```", False, "no JSON object"),  # two: which?
    ("Thought: I am not sure what to do.", False, "'action'"),
]
# fmt: on


def _check_act(out: ActOut, expected: dict) -> None:
    for key, value in expected.items():
        if key == "unwrapped":
            env, action = value
            assert unwrap_action(env, out.action) == action
        else:
            assert getattr(out, key) == value, (key, out)


def test_the_corpus_covers_every_form_and_role():
    assert {form for form, _, _ in ACT} >= {"react", "xml", "python", "markdown", "trailing", "envelope", "langchain"}
    roles = {schema for _, schema, _, _ in OTHER}
    assert roles == {LabelOut, LabelBatchOut, JudgeOut, QueryOut, TasksOut}
    for schema in roles:
        assert len({form for form, s, _, _ in OTHER if s is schema}) >= 3, schema
    assert len(ACT) + len(OTHER) >= 50


@pytest.mark.parametrize("form, reply, expected", ACT, ids=[f"act-{f}-{i}" for i, (f, _, _) in enumerate(ACT)])
def test_the_move_is_read_in_every_form(form, reply, expected):
    _check_act(parse_reply(reply, ActOut), expected)


@pytest.mark.parametrize(
    "form, schema, reply, expected", OTHER, ids=[f"{s.__name__}-{f}-{i}" for i, (f, s, _, _) in enumerate(OTHER)]
)
def test_every_role_is_read_in_every_form(form, schema, reply, expected):
    out = parse_reply(reply, schema)
    for key, value in expected.items():
        if key == "labels":
            assert [(label.end, label.instruction) for label in out.labels] == value
        elif key == "ok":
            assert (out.aligned.ok, out.coherent.ok, out.natural.ok, out.reasonable.ok) == value
        elif key == "natural":
            assert out.natural.reason == value
        else:
            assert getattr(out, key) == value


@pytest.mark.parametrize("reply, truncated, fragment", REFUSED)
def test_an_incomplete_or_empty_form_is_no_move(reply, truncated, fragment):
    with pytest.raises(ReplyError, match=fragment):
        parse_reply(reply, ActOut, truncated=truncated)


@pytest.mark.parametrize(
    "reply",
    [
        "Thought: count\nAction: SELECT COUNT(*) FROM visits;\n\nExplanation: this counts every visit in the table, and th",
        '{"action": "SELECT COUNT(*) FROM visits;"}\n\nThis query counts every visit in the ta',
        "<action>SELECT COUNT(*) FROM visits;</action>\n<thought>the count of all visits, which answers the quest",
    ],
)
def test_a_reply_cut_after_its_complete_move_is_read(reply):
    assert parse_reply(reply, ActOut, truncated=True).action == "SELECT COUNT(*) FROM visits;"
