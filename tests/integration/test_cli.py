"""The `lbi` command as a user runs it (subprocesses, real runner in-process)."""

import json
import os
import subprocess
import sys
from pathlib import Path

LBI = str(Path(sys.executable).parent / "lbi")


def _run(args, tmp_path, stdin=""):
    env = {**os.environ, "LBI_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    return subprocess.run([LBI, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_env_try_reads_actions_from_stdin(tmp_path):
    out = _run(
        ["env", "try", "--env", "sql"], tmp_path, "SELECT COUNT(*) AS n FROM orders;\nSELECT nme FROM customers;\n"
    )
    assert out.returncode == 0, out.stderr
    assert "2600" in out.stdout and "Error: no such column: nme" in out.stdout
    assert "customers (900 rows)" in out.stdout


def test_env_list_and_resources(tmp_path):
    listed = _run(["env", "list"], tmp_path)
    assert listed.returncode == 0 and "sql" in listed.stdout
    resources = _run(["env", "resources", "--env", "sql"], tmp_path)
    assert (
        resources.returncode == 0
        and "Top customers by revenue" in resources.stdout
        and "(37 docs, 43 introspection)" in resources.stdout
    )


def test_bad_config_is_reported_without_traceback(tmp_path):
    out = _run(["env", "try", "--env", "sql", "--config", '{"max_rows": 0}'], tmp_path, "SELECT 1;\n")
    assert out.returncode == 1
    assert "INVALID_ARGUMENT" in out.stdout and "config.max_rows" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_a_bad_setting_names_its_variable_without_traceback(tmp_path):
    env = {**os.environ, "LBI_DATA_DIR": str(tmp_path), "LBI_RETRIEVAL_SETTLE_TIES": "sometimes"}
    out = subprocess.run(
        [LBI, "retrieve", "--local", "--dataset", "any", "--observation", "x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 2
    assert "LBI_RETRIEVAL_SETTLE_TIES: Input should be a valid boolean" in out.stderr
    assert "Traceback" not in out.stdout + out.stderr and "sometimes" not in out.stderr


def test_resources_and_a_job_with_documentation_and_discovery(tmp_path):
    """Given documentation replaces the environment's guide, what the environment shows of itself stays; the job
    prints its yield per resource kind."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kiln.md").write_text(
        "# Kiln log\n\n## Firing count\n\nCount the firings recorded in the kiln log.\n\n"
        "```bash\nwc -l < kiln.csv\n```\n"
    )
    config = '{"setup": "printf \'cone,hours\\\\n6,9\\\\n10,12\\\\n6,8\\\\n\' > kiln.csv"}'
    listed = _run(["env", "resources", "--env", "shell", "--config", config, "--resources", str(docs)], tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "Firing count" in listed.stdout and "docs" in listed.stdout and "introspection" in listed.stdout
    assert "Creating files and folders" not in listed.stdout  # the environment's own guide is replaced
    missing = _run(["env", "resources", "--env", "shell", "--resources", str(tmp_path / "nope")], tmp_path)
    assert missing.returncode == 2 and "INVALID_ARGUMENT" in missing.stdout + missing.stderr
    assert "Traceback" not in missing.stdout + missing.stderr
    job = _run(
        ["synth", "run", "--env", "shell", "--dataset", "kiln", "--config", config, "--resources", str(docs)], tmp_path
    )
    assert job.returncode == 0, job.stdout + job.stderr
    shown = job.stdout + job.stderr
    assert "yield per resource kind" in shown and "introspection" in shown and "docs" in shown
    found = _run(
        ["retrieve", "--local", "--dataset", "kiln", "--mode", "observation", "--observation", "cone,hours", "--json"],
        tmp_path,
    )
    assert found.returncode == 0, found.stdout + found.stderr
    examples = json.loads(found.stdout.strip().splitlines()[-1])["examples"]
    assert examples and all(e["source_trajectory_id"] and e["span"][0] < e["span"][1] for e in examples)
    assert len({e["source_trajectory_id"] for e in examples}) == len(examples)  # one example per trajectory


def test_a_job_with_bad_input_fails_loudly(tmp_path):
    missing = _run(["synth", "run", "--env", "sql", "--config", f'{{"database": "{tmp_path}/gone.db"}}'], tmp_path)
    shown = missing.stdout + missing.stderr
    assert missing.returncode == 2 and "INVALID_ARGUMENT" in shown and "spec.env_config.database" in shown, shown
    refused = _run(["synth", "run", "--env", "sql", "--config", '{"max_rows": 0}'], tmp_path)
    assert refused.returncode == 2 and "spec.env_config.max_rows" in refused.stdout + refused.stderr
    assert "Traceback" not in shown + refused.stdout + refused.stderr


def test_env_try_prints_literally(tmp_path):
    env = {**os.environ, "LBI_DATA_DIR": str(tmp_path), "COLUMNS": "40"}
    actions = b"SELECT '[/]' AS a, '[bold]x[/bold]' AS b;\nSELECT '\xff\xfe';\nSELECT '" + b"w" * 120 + b"' AS long;\n"
    out = subprocess.run([LBI, "env", "try", "--env", "sql"], input=actions, capture_output=True, env=env, timeout=120)
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr.decode()
    assert "SELECT '[/]' AS a, '[bold]x[/bold]' AS b;" in text and "[bold]x[/bold]" in text.split("AS b;", 1)[1]
    assert "input line 2 is not UTF-8" in text
    assert "w" * 120 in text  # not hard-wrapped at the terminal width when piped
