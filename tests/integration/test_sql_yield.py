# ruff: noqa: E501
"""Yield on databases the project has never seen, measured on the offline policy (deterministic, not a model): no
instruction above 5 % of the kept examples, at least 5 distinct kept instructions per table, and no label failure,
on a database whose names need quoting (spaces, keywords: a table named `order`, one named `select`)."""

import collections
import random
import sqlite3

from tests.fixtures.synthesis import figures, run_job

TABLES = ["order", "Order Lines", "select", "bakers", "Oven Log", "suppliers", "flour lots"]


def _bakery(path) -> None:
    rng = random.Random(5)
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE "order" ("order id" INTEGER PRIMARY KEY, "customer name" TEXT, placed TEXT, "group" TEXT);
            CREATE TABLE "Order Lines" ("line no" INTEGER PRIMARY KEY, "order id" INTEGER REFERENCES "order"("order id"),
              "Item Name" TEXT, "Unit Price" REAL, qty INTEGER);
            CREATE TABLE "select" (id INTEGER PRIMARY KEY, label TEXT, weight REAL);
            CREATE TABLE bakers ("baker id" INTEGER PRIMARY KEY, "full name" TEXT, shift TEXT, "hired on" TEXT);
            CREATE TABLE "Oven Log" (entry INTEGER PRIMARY KEY, "baker id" INTEGER REFERENCES bakers("baker id"),
              oven TEXT, "temp C" INTEGER, "when" TEXT);
            CREATE TABLE suppliers (code TEXT PRIMARY KEY, town TEXT, rating INTEGER);
            CREATE TABLE "flour lots" (lot INTEGER PRIMARY KEY, supplier TEXT REFERENCES suppliers(code), kg REAL,
              milled TEXT);
            """
        )
        names = ["Ada", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal"]
        items = ["rye loaf", "croissant", "bagel", "scone", "baguette", "pretzel"]
        for i in range(1, 31):
            conn.execute('INSERT INTO "order" VALUES (?,?,?,?)',
                         (i, rng.choice(names), f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                          rng.choice(["retail", "wholesale", "cafe"])))  # fmt: skip
        for i in range(1, 91):
            conn.execute('INSERT INTO "Order Lines" VALUES (?,?,?,?,?)',
                         (i, rng.randint(1, 30), rng.choice(items), round(rng.uniform(1, 9), 2), rng.randint(1, 12)))  # fmt: skip
        for i in range(1, 8):
            conn.execute('INSERT INTO "select" VALUES (?,?,?)', (i, f"grade {i}", round(rng.uniform(0.1, 2), 2)))
        for i in range(1, 9):
            conn.execute("INSERT INTO bakers VALUES (?,?,?,?)",
                         (i, f"{names[i - 1]} Lee", rng.choice(["early", "late"]), f"202{rng.randint(0, 5)}-0{rng.randint(1, 9)}-01"))  # fmt: skip
        for i in range(1, 41):
            conn.execute('INSERT INTO "Oven Log" VALUES (?,?,?,?,?)',
                         (i, rng.randint(1, 8), rng.choice("ABC"), rng.randint(160, 260), f"2026-03-{rng.randint(10, 28)}"))  # fmt: skip
        for code, town in [("MIL1", "Ayr"), ("MIL2", "Troon"), ("MIL3", "Ayr"), ("MIL4", "Irvine")]:
            conn.execute("INSERT INTO suppliers VALUES (?,?,?)", (code, town, rng.randint(1, 5)))
        for lot in range(1, 16):
            conn.execute('INSERT INTO "flour lots" VALUES (?,?,?,?)',
                         (lot, f"MIL{rng.randint(1, 4)}", rng.choice([25, 50, 100]), f"2026-0{rng.randint(1, 9)}-05"))  # fmt: skip


def _mentions(instruction: str, table: str) -> bool:
    lowered = instruction.lower()
    return (
        f"the {table.lower()} table" in lowered
        or f" {table.lower()} rows" in lowered
        or f"{table.lower()} row" in lowered
    )


async def test_quoted_and_keyword_tables_each_get_varied_instructions(synth_engine, tmp_path):
    database = tmp_path / "bakery.db"
    _bakery(database)
    job, kept = await run_job(
        synth_engine, {"env": "sql", "dataset": "bakery", "env_config": {"database": str(database)}}
    )
    print(figures(job, kept))
    assert (job["stats"].label_failures == 0 and not job["stats"].llm_failures) or all(
        f.stage == "self_instruct" for f in job["stats"].llm_failures
    )
    counts = collections.Counter(e.instruction for e in kept)
    top, times = counts.most_common(1)[0]
    assert times / len(kept) <= 0.05, (top, times, len(kept))
    for table in TABLES:
        distinct = {i for i in counts if _mentions(i, table)}
        assert len(distinct) >= 5, (table, sorted(distinct))
