"""Spider2-V's dbt checks, on YAML files and DuckDB and SQLite databases the tests write."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from lbi.judging.dbt import check_local_database, check_yaml_file
from lbi.judging.errors import JudgingError

SCHEMA = {
    "version": 2,
    "models": [
        {
            "name": "customers",
            "description": "One row per customer",
            "columns": [
                {"name": "customer_id", "description": "Primary key of the customers", "tests": ["unique"]},
                {"name": "first_order_date", "description": ""},
            ],
        },
        {"name": "stg_orders", "description": "Orders as loaded"},
    ],
}


def schema(path: Path, document: Any = SCHEMA) -> str:
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_yaml_rules_walk_keys_indices_and_chosen_items(tmp_path: Path) -> None:
    path = schema(tmp_path / "schema.yml")
    rules: list[list[Any]] = [
        ["match", ["version"], 2],
        ["not_null", ["models", ["name", "customers"], "description"], ""],
        ["contain", ["models", ["name", "customers"], "columns", ["name", "customer_id"], "description"], "Primary"],
        ["in", ["models", 1, "name"], ["stg_orders", "stg_customers"]],
        ["contain", ["models", 0, "columns", 0, "tests"], "unique"],
    ]
    assert check_yaml_file(path, rules) == 1.0


@pytest.mark.parametrize(
    "rule",
    [
        ["match", ["version"], 1],
        ["not_null", ["models", ["name", "customers"], "columns", ["name", "first_order_date"], "description"], ""],
        ["contain", ["models", ["name", "customers"], "description"], "order"],
        ["in", ["models", 1, "name"], ["customers"]],
        ["match", ["models", ["name", "stg_customers"], "description"], "x"],
        ["match", ["models", 5, "name"], "x"],
        ["match", ["sources"], None],
    ],
)
def test_a_yaml_rule_that_does_not_hold_or_leads_nowhere_fails(tmp_path: Path, rule: list[Any]) -> None:
    assert check_yaml_file(schema(tmp_path / "schema.yml"), [rule]) == 0.0


def test_a_missing_or_broken_yaml_file_scores_0_and_a_malformed_rule_raises(tmp_path: Path) -> None:
    rule = [["match", ["version"], 2]]
    assert check_yaml_file(None, rule) == 0.0
    assert check_yaml_file(str(tmp_path / "missing.yml"), rule) == 0.0
    (tmp_path / "broken.yml").write_text("models: [unclosed")
    assert check_yaml_file(str(tmp_path / "broken.yml"), rule) == 0.0
    path = schema(tmp_path / "schema.yml")
    with pytest.raises(JudgingError, match=r"expected\.rules\[0\]: 'equals' is not one of"):
        check_yaml_file(path, [["equals", ["version"], 2]])
    with pytest.raises(JudgingError, match=r"expected\.rules\[0\]: \[match, key_path, value\]"):
        check_yaml_file(path, [["match", "version", 2]])
    with pytest.raises(JudgingError, match=r"expected\.rules: a list"):
        check_yaml_file(path, {"include": ["x"]})  # type: ignore[arg-type]


def duck(path: Path, statements: Sequence[str]) -> str:
    with duckdb.connect(str(path)) as connection:
        for statement in statements:
            connection.execute(statement)
    return str(path)


BUILT = [
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR)",
    "INSERT INTO customers VALUES (1, 'Ann'), (2, 'Bob')",
    "CREATE TABLE orders (id INTEGER, customer_id INTEGER)",
    "INSERT INTO orders VALUES (10, 1)",
    "CREATE VIEW customer_orders AS SELECT c.name, o.id FROM customers c JOIN orders o ON o.customer_id = c.id",
]
ALL = ["table-schema-content", "view-schema-content"]


def test_duckdb_databases_alike_pass_every_check(tmp_path: Path) -> None:
    gold = duck(tmp_path / "gold.duckdb", BUILT)
    mine = duck(tmp_path / "mine.duckdb", BUILT)
    assert check_local_database(mine, gold) == 1.0
    assert check_local_database(mine, gold, check_type=ALL) == 1.0


def test_duckdb_checks_fail_on_a_missing_view_other_columns_or_other_rows(tmp_path: Path) -> None:
    gold = duck(tmp_path / "gold.duckdb", BUILT)
    no_view = duck(tmp_path / "no_view.duckdb", BUILT[:-1])
    assert check_local_database(no_view, gold) == 0.0
    assert check_local_database(no_view, gold, check_type=["table-schema-content"]) == 1.0
    wider = [BUILT[0].replace("name VARCHAR", "name VARCHAR, city VARCHAR"), *BUILT[2:]]
    wider.insert(1, "INSERT INTO customers VALUES (1, 'Ann', NULL), (2, 'Bob', NULL)")
    other_columns = duck(tmp_path / "wider.duckdb", wider)
    assert check_local_database(other_columns, gold) == 1.0
    assert check_local_database(other_columns, gold, check_type=["table-schema"]) == 0.0
    other_rows = duck(tmp_path / "rows.duckdb", [*BUILT, "INSERT INTO orders VALUES (11, 2)"])
    assert check_local_database(other_rows, gold, check_type=["table-schema"]) == 1.0
    assert check_local_database(other_rows, gold, check_type=["table-schema-content"]) == 0.0
    assert check_local_database(other_rows, gold, check_type=["view-schema-content"]) == 0.0


def test_duckdb_targets_limit_the_tables_and_views_compared(tmp_path: Path) -> None:
    gold = duck(tmp_path / "gold.duckdb", BUILT)
    extra = duck(tmp_path / "extra.duckdb", [*BUILT, "CREATE TABLE scratch (x INTEGER)"])
    assert check_local_database(extra, gold) == 0.0
    assert check_local_database(extra, gold, table_targets=["customers", "orders"], view_targets=[]) == 1.0
    assert check_local_database(extra, gold, table_targets=["customers", "orders"], schema_name="analytics") == 1.0


def test_tables_of_other_schemas_are_compared_too(tmp_path: Path) -> None:
    snapshot = [
        *BUILT,
        "CREATE SCHEMA snapshots",
        "CREATE TABLE snapshots.orders_snapshot AS SELECT id, customer_id, 1 AS version FROM orders",
    ]
    gold = duck(tmp_path / "gold.duckdb", snapshot)
    mine = duck(tmp_path / "mine.duckdb", snapshot)
    options: dict[str, Any] = {"check_type": ["table-schema-content"], "table_targets": ["orders_snapshot"]}
    assert check_local_database(mine, gold, **options, schema_name="snapshots") == 1.0
    stale = duck(tmp_path / "stale.duckdb", [*snapshot, "UPDATE snapshots.orders_snapshot SET version = 2"])
    assert check_local_database(stale, gold, **options) == 0.0
    assert check_local_database(duck(tmp_path / "none.duckdb", BUILT), gold, **options) == 0.0


def test_sqlite_databases_are_compared_alike(tmp_path: Path) -> None:
    def lite(path: Path, statements: Sequence[str]) -> str:
        with sqlite3.connect(path) as connection:
            for statement in statements:
                connection.execute(statement)
        connection.close()
        return str(path)

    gold = lite(tmp_path / "gold.db", BUILT)
    assert check_local_database(lite(tmp_path / "mine.db", BUILT), gold, db_type="sqlite3", check_type=ALL) == 1.0
    changed = lite(tmp_path / "changed.db", [*BUILT, "UPDATE customers SET name = 'Cy' WHERE id = 2"])
    assert check_local_database(changed, gold, db_type="sqlite3", check_type=ALL) == 0.0


def test_a_missing_or_broken_result_database_scores_0_and_a_bad_gold_or_option_raises(tmp_path: Path) -> None:
    gold = duck(tmp_path / "gold.duckdb", BUILT)
    (tmp_path / "broken.duckdb").write_bytes(b"not a database" * 100)
    assert check_local_database(None, gold) == 0.0
    assert check_local_database(str(tmp_path / "missing.duckdb"), gold) == 0.0
    assert check_local_database(str(tmp_path / "broken.duckdb"), gold) == 0.0
    with pytest.raises(JudgingError, match="expected: cannot open the database"):
        check_local_database(gold, str(tmp_path / "missing.duckdb"))
    with pytest.raises(JudgingError, match="check_type: 'rows'"):
        check_local_database(gold, gold, check_type=["rows"])
    with pytest.raises(JudgingError, match="db_type: 'postgres'"):
        check_local_database(gold, gold, db_type="postgres")


def test_a_result_database_is_opened_read_only(tmp_path: Path) -> None:
    gold = duck(tmp_path / "gold.duckdb", BUILT)
    mine = duck(tmp_path / "mine.duckdb", BUILT)
    before = Path(mine).read_bytes()
    assert check_local_database(mine, gold, check_type=ALL) == 1.0
    assert Path(mine).read_bytes() == before
