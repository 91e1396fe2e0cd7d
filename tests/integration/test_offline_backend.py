"""The offline backend through litellm.acompletion, for every role, checked against the role schemas."""

import json
from typing import Any

import pytest

from lbi.llm.litellm_setup import get_litellm
from lbi.llm.offline.sqltext import SCHEMA_QUERY
from lbi.llm.roles import OUTPUT_MODELS, Role

RESOURCE = """## Top customers by revenue
Find the five customers who spent the most on orders that were not cancelled.

```sql
SELECT c.first_name, c.last_name FROM customers c JOIN orders o ON o.customer_id = c.id LIMIT 5;
```
"""
SCHEMA_OBS = (
    "name | sql\n---+---\ncustomers | CREATE TABLE customers ( id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT "
    ")\n"
    "orders | CREATE TABLE orders ( id INTEGER PRIMARY KEY, customer_id INTEGER )\n(2 rows)"
)
STEPS = [
    {"observation": "Connected.", "action": SCHEMA_QUERY, "thought": "", "error": False},
    {"observation": SCHEMA_OBS, "action": "SELECT * FROM customers LIMIT 3;", "thought": "", "error": False},
    {
        "observation": "id | first_name\n1 | Ann\n(1 row)",
        "action": "SELECT first_name FROM customers;",
        "thought": "",
        "error": False,
    },
]

INPUTS: dict[Role, dict[str, Any]] = {
    Role.SELF_INSTRUCT: {
        "env": "sql",
        "env_description": "db",
        "resource_title": "Top customers",
        "resource_text": RESOURCE,
        "n": 3,
    },
    Role.ACT: {
        "env": "sql",
        "action_space": "SQL",
        "task": "Find the five customers who spent the most on orders that were not cancelled.",
        "resource_text": RESOURCE,
        "history": [],
        "observation": "Connected.",
    },
    Role.LABEL: {"env": "sql", "kind": "task", "steps": STEPS, "final_observation": "first_name\nAnn\n(1 row)"},
    Role.LABEL_BATCH: {
        "env": "sql",
        "kind": "summary",
        "steps": STEPS,
        "final_observation": "first_name\nAnn\n(1 row)",
        "ends": [1, 2, 3],
    },
    Role.JUDGE: {
        "env": "sql",
        "instruction": "List the first names of all customers.",
        "steps": STEPS,
        "final_observation": "first_name\nAnn\n(1 row)",
    },
    Role.QUERY: {"env": "sql", "task": "Find top customers", "history": STEPS[:1], "observation": SCHEMA_OBS},
}


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_answers_with_its_schema(role):
    litellm = get_litellm()
    response = await litellm.acompletion(
        model="offline/heuristic",
        messages=[{"role": "user", "content": "see metadata"}],
        metadata={"lbi_role": role.value, "lbi_inputs": INPUTS[role]},
    )
    data = json.loads(response.choices[0].message.content)
    OUTPUT_MODELS[role].model_validate(data)
    assert response.usage.total_tokens > 0


async def _answer(role, inputs):
    litellm = get_litellm()
    response = await litellm.acompletion(
        model="offline/heuristic",
        messages=[{"role": "user", "content": "x"}],
        metadata={"lbi_role": role.value, "lbi_inputs": inputs},
    )
    return json.loads(response.choices[0].message.content)


async def test_policies_do_what_the_readme_says():
    assert (await _answer(Role.SELF_INSTRUCT, INPUTS[Role.SELF_INSTRUCT]))["tasks"] == [
        "Find the five customers who spent the most on orders that were not cancelled."
    ]
    # This task is one of the third on which the policy first guesses a table name, fails, then recovers.
    guess = await _answer(Role.ACT, INPUTS[Role.ACT])
    assert guess["action"] == "SELECT * FROM customer LIMIT 5;" and not guess["stop"]
    history = [{"observation": "Connected.", "action": guess["action"], "thought": "", "error": True}]
    first = await _answer(
        Role.ACT, {**INPUTS[Role.ACT], "history": history, "observation": "Error: no such table: customer"}
    )
    assert first["action"] == SCHEMA_QUERY
    history.append(
        {"observation": "Error: no such table: customer", "action": SCHEMA_QUERY, "thought": "", "error": False}
    )
    peek = await _answer(Role.ACT, {**INPUTS[Role.ACT], "history": history, "observation": SCHEMA_OBS})
    assert peek["action"] == "SELECT * FROM customers LIMIT 3;"
    history.append({"observation": SCHEMA_OBS, "action": peek["action"], "thought": "", "error": False})
    main = await _answer(Role.ACT, {**INPUTS[Role.ACT], "history": history, "observation": "rows"})
    assert main["action"].startswith("SELECT c.first_name")
    history.append({"observation": "rows", "action": main["action"], "thought": "", "error": False})
    done = await _answer(Role.ACT, {**INPUTS[Role.ACT], "history": history, "observation": "final rows"})
    assert done["stop"] and done["answer"] == "final rows"
    plain = await _answer(Role.ACT, {**INPUTS[Role.ACT], "task": "List the first names of all customers."})
    assert plain["action"] == SCHEMA_QUERY  # no hasty guess on this task
    label = await _answer(Role.LABEL, INPUTS[Role.LABEL])
    assert label["instruction"] == "List the first name from the customers table."
    batch = await _answer(Role.LABEL_BATCH, INPUTS[Role.LABEL_BATCH])
    assert [x["end"] for x in batch["labels"]] == [1, 2, 3]
    assert all(x["instruction"].startswith("Replicate the following: 1.") for x in batch["labels"])
    verdict = await _answer(Role.JUDGE, INPUTS[Role.JUDGE])
    assert all(verdict[c]["ok"] for c in ("aligned", "coherent", "natural", "reasonable"))
    queries = await _answer(Role.QUERY, INPUTS[Role.QUERY])
    assert queries["queries"][0] == "Find top customers" and len(queries["queries"]) == 2


async def test_act_repairs_a_wrong_column_from_the_schema():
    history = [
        {"observation": "Connected.", "action": SCHEMA_QUERY, "thought": "", "error": False},
        {"observation": SCHEMA_OBS, "action": "SELECT firstname FROM customers;", "thought": "", "error": True},
    ]
    move = await _answer(
        Role.ACT, {**INPUTS[Role.ACT], "history": history, "observation": "Error: no such column: firstname"}
    )
    assert move["action"] == "SELECT first_name FROM customers;"


async def test_judge_rejects_errors_and_repeated_states():
    steps = [dict(s) for s in STEPS]
    steps[1]["error"] = True
    verdict = await _answer(Role.JUDGE, {**INPUTS[Role.JUDGE], "steps": steps})
    assert not verdict["aligned"]["ok"] and "action 2" in verdict["aligned"]["reason"]
    repeated = [STEPS[0], {**STEPS[0], "observation": "same"}, {**STEPS[0], "observation": "same"}]
    verdict = await _answer(Role.JUDGE, {**INPUTS[Role.JUDGE], "steps": repeated, "final_observation": "same"})
    assert not verdict["reasonable"]["ok"]


async def test_missing_role_is_a_clear_error():
    litellm = get_litellm()
    with pytest.raises(Exception, match="lbi_role"):
        await litellm.acompletion(model="offline/heuristic", messages=[{"role": "user", "content": "x"}])
