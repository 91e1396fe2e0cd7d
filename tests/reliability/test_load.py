"""The soak run in its short form: concurrent retrieval clients for 10 s while a synthesis job ingests into
the same dataset; no request fails and every window is served (bench/load.py is the long form)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"
pytestmark = pytest.mark.serial  # a load measurement: alone on the machine


def test_short_soak_while_ingesting(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--clients",
            "4",
            "--seconds",
            "10",
            "--window",
            "5",
            "--data-dir",
            str(tmp_path),
            "--resource-filter",
            "Counting rows",
            "--resource-filter",
            "Filtering rows with WHERE",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(json.dumps(report))
    assert report["errors"] == 0 and report["requests"] > 20
    assert len(report["windows"]) == 2 and all(w["requests"] > 0 and w["p99_ms"] > 0 for w in report["windows"])
    assert (
        report["synthesis"]["state"] == "SUCCEEDED"
        and report["synthesis"]["ingested"] == report["synthesis"]["kept"] > 0
    )
    assert report["rss_mb_end"] is not None and report["rss_mb_start"] is not None
