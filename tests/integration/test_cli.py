"""The `lbi` command as a user runs it (subprocesses, real runner in-process)."""

import os
import subprocess
import sys
from pathlib import Path

LBI = str(Path(sys.executable).parent / "lbi")


def _run(args, tmp_path, stdin=""):
    env = {**os.environ, "LBI_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    return subprocess.run([LBI, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_env_try_reads_actions_from_stdin(tmp_path):
    out = _run(["env", "try", "--env", "sql"], tmp_path, "SELECT COUNT(*) AS n FROM orders;\nSELECT nme FROM customers;\n")
    assert out.returncode == 0, out.stderr
    assert "2600" in out.stdout and "Error: no such column: nme" in out.stdout
    assert "customers (900 rows)" in out.stdout


def test_env_list_and_resources(tmp_path):
    listed = _run(["env", "list"], tmp_path)
    assert listed.returncode == 0 and "sql" in listed.stdout
    resources = _run(["env", "resources", "--env", "sql"], tmp_path)
    assert resources.returncode == 0 and "Top customers by revenue" in resources.stdout and "(36 docs, 40 introspection)" in resources.stdout


def test_bad_config_is_reported_without_traceback(tmp_path):
    out = _run(["env", "try", "--env", "sql", "--config", '{"max_rows": 0}'], tmp_path, "SELECT 1;\n")
    assert out.returncode == 1
    assert "INVALID_ARGUMENT" in out.stdout and "config.max_rows" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
