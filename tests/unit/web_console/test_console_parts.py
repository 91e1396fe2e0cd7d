"""The console's parts that need no server: sessions and what a token may do, where a sign-in may send the browser,
the playground's history, the evaluation runs it finds (and never a path a request names), the chart."""

from __future__ import annotations

import json

import pytest

from lbi.auth import TokenTable
from lbi.evaluation.harness import TaskResult, summarise
from lbi.evaluation.report import new_run, write
from web_console import eval_pages, sessions
from web_console.app import _safe_next
from web_console.playground_page import parse_history
from web_console.sessions import Sessions
from web_console.web import BadForm


def test_sessions_know_what_each_token_may_do(monkeypatch):
    table = Sessions(TokenTable("ops@t-ops,viewer@t-view=orchard,writer@t-write=orchard:rw|pantry"))
    assert table.login_required and table.sign_in("t-nope") is None and table.sign_in("") is None
    ops, viewer, writer = (table.sign_in(t) for t in ("t-ops", "t-view", "t-write"))
    assert ops and viewer and writer
    assert ops.writes_any and ops.may_write("anything")
    assert not viewer.writes_any and not viewer.may_write("orchard")
    assert writer.writes_any and writer.may_write("orchard") and not writer.may_write("pantry")
    assert not writer.may_write("cellar")  # not even readable
    assert table.get(viewer.id) is viewer and table.get("forged") is None
    assert viewer.csrf_ok(viewer.csrf) and not viewer.csrf_ok(ops.csrf) and not viewer.csrf_ok("")
    table.sign_out(viewer.id)
    assert table.get(viewer.id) is None
    monkeypatch.setattr(sessions, "IDLE_S", -1.0)  # every session is now idle too long
    assert table.get(ops.id) is None


def test_without_tokens_every_browser_gets_an_open_session():
    table = Sessions(TokenTable(""))
    session = table.sign_in("whatever")
    assert not table.login_required and session and session.token == "" and session.may_write("any")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/datasets/orchard?after=abc", "/datasets/orchard?after=abc"),
        ("//evil.example/x", "/jobs"),
        ("https://evil.example", "/jobs"),
        ("/\\evil.example", "/jobs"),
        ("javascript:alert(1)", "/jobs"),
    ],
)
def test_a_sign_in_only_sends_the_browser_within_the_console(target, expected):
    assert _safe_next(target) == expected


def test_the_playground_reads_a_history_as_lines_or_json():
    assert [s.action for s in parse_history("ls -la\n\ncat notes.txt\n")] == ["ls -la", "cat notes.txt"]
    steps = parse_history(json.dumps([{"observation": "$ ", "action": "whoami"}, {"action": "id -u"}]))
    assert [(s.observation, s.action) for s in steps] == [("$ ", "whoami"), ("", "id -u")]
    assert parse_history("   ") == []
    with pytest.raises(BadForm, match="history"):
        parse_history("[{]")
    with pytest.raises(BadForm, match="history"):
        parse_history('["just text"]')


def test_evaluation_runs_are_found_by_id_and_the_latest_link_is_not_a_second_run(tmp_path):
    base = tmp_path / "eval" / "orchard"
    result = TaskResult("t-1", "none", True, "ok", 2, 3, 100, [], "passed")
    run = new_run(base)
    write(run, [summarise("none", [result], 1.0)], [result], {"env": "shell", "dataset": "orchard"})
    (tmp_path / "eval" / "stray").mkdir()
    (tmp_path / "eval" / "stray" / "results.json").write_text("{not json")
    found = eval_pages._found((tmp_path / "eval",))
    assert len(found) == 2  # the run and the stray file; `latest` (a link to the run) is left out
    loaded = [eval_pages._load(i, p) for i, p in found.items()]
    runs = [r for r in loaded if r is not None]
    assert len(runs) == 1 and runs[0].data["dataset"] == "orchard" and runs[0].source == str(run)
    assert all(len(i) == 16 and "/" not in i for i in found)  # ids, never paths


def test_the_chart_scales_tokens_to_the_largest_mode():
    bars = eval_pages.chart(
        [
            {"mode": "none", "success_rate": 0.25, "tokens_per_task": 500.0},
            {"mode": "agentic", "success_rate": 0.75, "tokens_per_task": 2000.0},
        ]
    )["bars"]
    assert [(b["mode"], b["success"], b["tokens_share"]) for b in bars] == [
        ("none", 0.25, 0.25),
        ("agentic", 0.75, 1.0),
    ]
    with pytest.raises(BadForm):
        eval_pages._check({"modes": []})
