"""Offline acting policy: works through the worked example behind the task, adapting to the environment.

Its plan comes from the documentation the task was written from (rollouts), or else from the reference
demonstrations it was given (evaluation with retrieval): the closest demonstration's final successful
action, with the literals and numbers of the task put in. Without either, it can only look around.

For `sql` it inspects the schema first, with the statement the session's action space gives for its engine (for a
third of tasks, after a hasty guess at a table name), looks at a few rows of the table it is about to query, runs the
example's statements, repairs unknown table/column names from the schema it has seen when the engine
reports them, and stops with the last result as its answer. For other environments it runs the
example's lines in order, then stops.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from typing import Any

from lbi.llm.offline.sqltext import (
    dialect_of,
    is_schema_query,
    quote_table,
    repair,
    schema_from_text,
    schema_query,
    tables_in,
)
from lbi.llm.offline.steps import examples_for

_STOP = {
    "the",
    "a",
    "an",
    "of",
    "in",
    "and",
    "to",
    "for",
    "from",
    "with",
    "by",
    "each",
    "all",
    "what",
    "is",
    "are",
    "how",
    "many",
    "which",
    "list",
    "show",
    "find",
    "table",
    "rows",
    "that",
    "who",
    "their",
    "its",
}


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z0-9_]+", text.lower()) if w not in _STOP}


def _overlap(task: str, instruction: str) -> float:
    """Shared content words (plurals folded), relative to the task's."""
    wanted = _words(task)
    return len(wanted & _words(instruction)) / max(1, len(wanted))


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower().split(), b.lower().split()).ratio()


def plan_for(task: str, resource_text: str, env: str) -> list[str]:
    """The actions of the worked example whose goal sentence is closest to the task."""
    examples = examples_for(env, resource_text)
    if not examples:
        return []
    best = max(examples, key=lambda e: _similarity(task, e.lead))
    if env == "sql":
        return [s.strip() + ";" for s in best.code.split(";") if s.strip() and not s.strip().startswith("--")]
    return [line for line in best.code.splitlines() if line.strip() and not line.lstrip().startswith("#")]


_DEMO = re.compile(r"### Example \d+\nInstruction: (?P<instruction>.*?)\n(?P<body>.*?)(?=\n### Example |\Z)", re.S)
_ACTION = re.compile(
    r"^Action \d+: (?P<action>.*?)\nObservation \d+: (?P<observation>.*?)(?=\nAction \d+: |\Z)", re.S | re.M
)
_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
}


def _adapt(action: str, example_instruction: str, task: str) -> str:
    """Carries a demonstrated statement over to the task: literals the demonstration's instruction names
    but the task does not are replaced by the task's own names and numbers."""
    task_words = {w.strip(".,?'").lower() for w in task.split()}
    example_words = {w.strip(".,?'").lower() for w in example_instruction.split()}
    fresh = [
        w.strip(".,?'") for w in task.split()[1:] if w[:1].isupper() and w.strip(".,?'").lower() not in example_words
    ]
    for literal in re.findall(r"'([^']+)'", action):
        if literal.lower() in example_words and literal.lower() not in task_words and fresh:
            action = action.replace(f"'{literal}'", f"'{fresh.pop(0)}'")
    in_order = [w.strip(".,?'").lower() for w in task.split()]  # the task's order, never a set's (hash seeds differ)
    wanted = [int(w) if w.isdigit() else _NUMBERS[w] for w in in_order if w.isdigit() or w in _NUMBERS]
    if wanted:
        action = re.sub(r"\bLIMIT \d+", f"LIMIT {wanted[0]}", action)
    return action


def plan_from_demonstrations(task: str, demonstrations: str) -> list[str]:
    """The successful, non-exploratory actions of the demonstration closest to the task, adapted to it."""
    demos = [(m.group("instruction"), m.group("body")) for m in _DEMO.finditer(demonstrations or "")]
    if not demos:
        return []
    instruction, body = max(demos, key=lambda d: _overlap(task, d[0]))
    actions = [(m.group("action").strip(), m.group("observation")) for m in _ACTION.finditer(body)]
    useful = [
        a
        for a, after in actions
        if not after.startswith("Error:") and not is_schema_query(a) and not re.search(r"LIMIT 3;?$", a)
    ]
    return [_adapt(a, instruction, task) for a in useful[-1:]]


def naive_guess(task: str) -> str | None:
    """For a third of tasks (by a hash of the task), a first query on the table name a hasty agent would guess:
    the singular of the first plural noun in the task. Real agents make such mistakes; they give the filter
    error observations to judge and the policy an error to recover from."""
    if int(hashlib.sha1(task.encode()).hexdigest(), 16) % 3:
        return None
    nouns = [w.strip(".,?").lower() for w in task.split() if len(w) > 5 and w.lower().strip(".,?").endswith("s")]
    return f"SELECT * FROM {nouns[0][:-1]} LIMIT 5;" if nouns else None


def _move(action: str, thought: str) -> dict[str, Any]:
    return {"thought": thought, "action": action, "stop": False, "answer": ""}


def _stop(answer: str, thought: str) -> dict[str, Any]:
    return {"thought": thought, "action": "", "stop": True, "answer": answer}


def _sql(x: dict[str, Any], plan: list[str]) -> dict[str, Any]:
    history = x.get("history", [])
    observation = x["observation"]
    done = [s["action"] for s in history]
    guess = naive_guess(x["task"])
    if not history and guess:
        return _move(guess, "Try the obvious table first.")
    inspect = schema_query(x.get("action_space", ""))
    if inspect not in done:
        return _move(inspect, "Inspect the schema first, so that I use real table and column names.")
    schema = schema_from_text("\n".join([s["observation"] for s in history] + [observation]))
    dialect = dialect_of(x.get("action_space", ""))
    last_failed = observation.startswith("Error:")
    if last_failed and done and done[-1] != guess:
        fixed = repair(done[-1], observation, schema, dialect)
        if fixed and fixed not in done:
            return _move(fixed, f"The statement failed ({observation.splitlines()[0]}); retry it with the real name.")
        return _stop(
            f"Could not complete the task: {observation.splitlines()[0]}",
            "The error cannot be repaired from the schema.",
        )
    if not plan:
        task = x["task"].lower()
        words = set(task.replace(".", " ").split())
        named = (t for t in schema if t.lower() in words or t.lower().rstrip("s") in words or t.lower() in task)
        table = next(named, next(iter(schema), None))
        plan = [f"SELECT * FROM {quote_table(table, dialect)} LIMIT 10;"] if table else []
    first_table = next((t for t in tables_in(plan[0]) if t in schema), None) if plan else None
    peek = f"SELECT * FROM {quote_table(first_table, dialect)} LIMIT 3;" if first_table else None
    if peek and peek not in done and peek not in plan:
        return _move(peek, f"Look at a few rows of {first_table} to see what its values look like.")
    exploration = {inspect, peek, guess}
    succeeded = sum(
        1 for i, s in enumerate(history) if s["action"] not in exploration and not _failed(history, i, observation)
    )
    if succeeded < len(plan):
        return _move(plan[succeeded], f"Run step {succeeded + 1} of {len(plan)} of the plan.")
    return _stop(observation, "The last result answers the task.")


def _failed(history: list[dict[str, Any]], index: int, observation: str) -> bool:
    after = history[index + 1]["observation"] if index + 1 < len(history) else observation
    return bool(history[index].get("error")) or after.startswith("Error:")


def act(x: dict[str, Any]) -> dict[str, Any]:
    plan = plan_for(x["task"], x.get("resource_text", ""), x["env"]) or plan_from_demonstrations(
        x["task"], x.get("examples", "")
    )
    if x["env"] == "sql":
        return _sql(x, plan)
    done = len(x.get("history", []))
    if done < len(plan):
        return _move(plan[done], f"Run step {done + 1} of {len(plan)} of the worked example.")
    return _stop(x["observation"], "The worked example is complete.")
