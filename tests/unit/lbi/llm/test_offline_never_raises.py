# ruff: noqa: E501
"""The offline labeller, judge, agent and query writer answer every trajectory shape without raising: empty spans,
error-only trajectories, names with spaces or keywords (`"Order Details"`, a table named `order`), statements cut
short, SQL in other dialects' quoting. A property test over random trajectories (hypothesis)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from lbi.llm.offline.handler import POLICIES

SCHEMA = 'CREATE TABLE "Order Details" ("OrderID" INTEGER, "Unit Price" REAL)\nCREATE TABLE "order" (id INTEGER, "group" TEXT)'
ACTIONS = [
    'SELECT * FROM "Order Details";',
    'SELECT COUNT(*) FROM "order";',
    'SELECT "Unit Price" FROM "Order Details" WHERE "OrderID" = 3;',
    'SELECT a.`x` FROM `order` a JOIN [Order Details] d ON a.id = d.id GROUP BY a.id',
    "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name;",
    'PRAGMA table_info("Order Details");',
    'SELECT * FROM "order" LIMIT 3;',
    "SELECT COUNT(DISTINCT \"group\") AS \"distinct_values\" FROM \"order\"",
    'WITH t AS (SELECT 1) SELECT * FROM t',
    'INSERT INTO "order" VALUES (1, \'a\')',
    'UPDATE "order" SET "group" = \'b\' WHERE id = 1',
    'DELETE FROM "Order Details"',
    "SELECT", "SELECT * FROM", "SELECT (", '"', "'", ";", "", "ls -la", "click [12]",
]  # fmt: skip
OBSERVATIONS = [
    SCHEMA,
    "Error: no such table: Order",
    'Error: no such column: "Unit Prce"',
    "id | group\n1 | a",
    "",
    "(0 rows)",
]

steps = st.lists(
    st.fixed_dictionaries(
        {
            "observation": st.sampled_from(OBSERVATIONS),
            "action": st.sampled_from(ACTIONS),
            "thought": st.just(""),
            "error": st.booleans(),
        }
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(
    steps=steps,
    final=st.sampled_from(OBSERVATIONS),
    env=st.sampled_from(["sql", "shell", "web"]),
    kind=st.sampled_from(["task", "summary"]),
)
def test_no_offline_role_raises_on_any_trajectory(steps, final, env, kind):
    n = len(steps)
    inputs = {
        "label": {"env": env, "kind": kind, "steps": steps, "final_observation": final},
        "label_batch": {"env": env, "kind": kind, "steps": steps, "final_observation": final, "ends": list(range(1, n + 1)) or [1]},
        "judge": {"env": env, "origin": "backward-task", "instruction": "Count the orders.", "steps": steps, "final_observation": final},
        "act": {"env": env, "task": 'How many rows does "Order Details" have?', "action_space": "SQLite", "history": steps,
                "observation": final, "resource_text": "", "examples": ""},
        "query": {"env": env, "task": "Count the orders", "history": steps, "observation": final},
    }  # fmt: skip
    for role, x in inputs.items():
        answer = POLICIES[role](x)
        assert isinstance(answer, dict) and answer
