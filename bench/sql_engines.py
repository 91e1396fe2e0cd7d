"""SQL engine benchmark: what a session costs on each engine of the sql environment, measured in-process on the
environment itself (no gRPC), on the same freight database loaded into each.

Per engine: opening a session (connect, isolate, first observation) p50/p99, one step (a point query by key;
a join with GROUP BY) p50/p99, and steps per second with `--sessions` sessions stepping at once from threads;
SQLite (a private file copy per session) is the baseline in the same run, and each figure is also reported as
a ratio to it. PostgreSQL and MariaDB are private servers started from Debian's binaries (as the tests start
them, tests/fixtures/db_servers.py) unless LBI_TEST_POSTGRES_URL / LBI_TEST_MARIADB_URL name servers. The last
line of output is one JSON object.

    python bench/sql_engines.py --opens 50 --steps 500 --sessions 8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from env_runners.sql.environment import SqlEnvironment
from lbi.config import RunnerSettings
from lbi.metrics import percentile
from tests.fixtures import db_servers, freight_db, freight_servers

POINT = "SELECT plate, make, capacity_kg FROM trucks WHERE truck_id = {k}"
JOIN = (
    "SELECT c.country, COUNT(*) AS n, SUM(s.weight_kg) AS kg FROM shipments s JOIN clients c ON c.client_id = "
    "s.client_id WHERE s.status = 'delivered' GROUP BY c.country ORDER BY n DESC"
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _ms(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(samples, 50) * 1000, 3), "p99_ms": round(percentile(samples, 99) * 1000, 3)}


def measure(env: SqlEnvironment, config: dict, opens: int, steps: int, sessions: int) -> dict:
    parsed = env.parse_config(config)
    open_times = []
    for _ in range(opens):
        started = time.perf_counter()
        session = env.open(parsed)
        session.first_observation()
        open_times.append(time.perf_counter() - started)
        session.close()
    session = env.open(parsed)
    point: list[float] = []
    join: list[float] = []
    for i in range(steps):
        for samples, sql in ((point, POINT.format(k=1 + i % 25)), (join, JOIN)):
            started = time.perf_counter()
            result = session.step(sql)
            samples.append(time.perf_counter() - started)
            assert not result.error, result.observation
    session.close()
    parallel = [env.open(parsed) for _ in range(sessions)]
    done = 0
    lock = threading.Lock()

    def work(s) -> None:
        nonlocal done
        for i in range(steps):
            s.step(POINT.format(k=1 + i % 25))
        with lock:
            done += steps

    started = time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        list(pool.map(work, parallel))
    wall = time.perf_counter() - started
    for s in parallel:
        s.close()
    return {
        "open": _ms(open_times),
        "point_step": _ms(point),
        "join_step": _ms(join),
        "steps_per_s": round(done / wall, 1),
        "sessions": sessions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--opens", type=int, default=50)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lbi-bench-sql-"))
    secret = freight_servers.new_secret()
    os.environ[f"LBI_SECRET_{freight_servers.SECRET_NAME}"] = secret
    env = SqlEnvironment(RunnerSettings(data_dir=work, runner_step_timeout_s=30))
    servers, loaded = [], {}
    duck = freight_servers.duckdb(work, secret)
    loaded["duckdb"] = duck.url
    sqlite_path = work / "freight.db"
    freight_db.load(sa.create_engine(f"sqlite:///{sqlite_path}"))
    loaded = {"sqlite": f"sqlite:///{sqlite_path}", **loaded}
    for name, start, load in (
        ("postgresql", db_servers.postgres, freight_servers.postgres),
        ("mariadb", db_servers.mariadb, freight_servers.mariadb),
    ):
        try:
            server = start()
        except db_servers.Unavailable as exc:
            log(f"{name}: skipped ({exc})")
            continue
        servers.append(server)
        loaded[name] = load(server, secret).url
    try:
        figures = {}
        for engine, url in loaded.items():
            log(f"measuring {engine}")
            figures[engine] = measure(env, {"url": url}, args.opens, args.steps, args.sessions)
            log(json.dumps(figures[engine]))
        base = figures["sqlite"]
        for f in figures.values():
            f["ratio_to_sqlite"] = {
                "open_p50": round(f["open"]["p50_ms"] / base["open"]["p50_ms"], 2),
                "point_step_p50": round(f["point_step"]["p50_ms"] / base["point_step"]["p50_ms"], 2),
                "steps_per_s": round(f["steps_per_s"] / base["steps_per_s"], 2),
            }
    finally:
        for server in servers:
            server.stop()
    print(json.dumps({"engines": figures, "baseline": "sqlite", "opens": args.opens, "steps": args.steps}))


if __name__ == "__main__":
    main()
