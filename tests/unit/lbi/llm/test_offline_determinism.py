"""The offline backend is a deterministic policy: the same inputs give the same outputs under any hash seed."""

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json
from lbi.llm.offline.handler import POLICIES
demos = ("### Example 1\nInstruction: List the 4 most expensive products in Gaming.\n"
         "Action 1: SELECT name FROM products WHERE category = 'Gaming' ORDER BY price DESC LIMIT 4;\n"
         "Observation 1: | name |\n")
schema = ("CREATE TABLE products (id INTEGER, name TEXT, price REAL, category TEXT)\n"
          "CREATE TABLE orders (id INTEGER, total REAL)")
calls = [
  ("act", {"env": "sql", "task": "List the 5 most expensive products in Audio, top 2025 first.", "examples": demos,
           "history": [{"action": "SELECT name, sql FROM sqlite_master WHERE type = 'table';", "observation": "x",
                        "error": False}], "observation": schema}),
  ("act", {"env": "sql", "task": "Show twenty orders and ten products.", "examples": demos, "history": [],
           "observation": schema}),
  ("act", {"env": "shell", "task": "Count the lines.",
           "resource_text": "Count the lines.\n\n```bash\nwc -l a b c\n```\n", "history": [], "observation": "$"}),
  ("self_instruct", {"env": "shell", "resource_title": "t", "n": 5, "resource_text":
      "Find the big files.\n\n```bash\nfind . -size +1M\n```\n\nList them sorted.\n\n```bash\nls -S\n```\n"}),
  ("label", {"env": "sql", "kind": "task",
             "steps": [{"action": "SELECT COUNT(*) FROM orders WHERE total > 5 AND total < 9;", "observation": "o",
                        "error": False}], "final_observation": "| 3 |"}),
  ("judge", {"instruction": "Count the orders.", "steps": [{"action": "SELECT 1", "observation": "a", "error": False},
             {"action": "SELECT 1", "observation": "a", "error": False}], "final_observation": "a"}),
  ("query", {"env": "sql", "task": "Count the orders by status.", "history": [{"action": "SELECT status FROM orders;"}],
             "observation": "o"}),
]
from lbi.llm.offline.act import plan_from_demonstrations
plans = [plan_from_demonstrations(c[1]["task"], c[1]["examples"]) for c in calls[:2]]
print(json.dumps([plans] + [POLICIES[role](inputs) for role, inputs in calls], sort_keys=True))
"""


def test_same_outputs_under_different_hash_seeds():
    outputs = set()
    for seed in ("0", "1", "12345", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120, check=True
        )
        outputs.add(result.stdout.strip().splitlines()[-1])
    assert len(outputs) == 1
    plans = json.loads(outputs.pop())[0]
    assert "LIMIT 5" in plans[0][0] and "LIMIT 20" in plans[1][0]  # the first number the task names, not a set's pick
