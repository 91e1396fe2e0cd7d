"""A database the project has never seen (a clinic, not the sample shop) and no documentation: the sql environment
reads its own resources from the database, and a synthesis job on them yields varied examples that fit it."""

import collections
import re
import sqlite3

import pytest

from env_runners.sql.environment import SqlEnvironment
from lbi.config import RunnerSettings
from tests.fixtures.clinic_db import build
from tests.fixtures.synthesis import figures, run_job

SHOP_NAMES = {
    "categories",
    "suppliers",
    "products",
    "customers",
    "employees",
    "orders",
    "order_items",
    "payments",
    "reviews",
    "unit_price",
    "stock",
    "category_id",
    "supplier_id",
    "customer_id",
}


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    return str(build(tmp_path_factory.mktemp("clinic") / "clinic.db"))


def introspect_sqlite(path: str) -> list:
    """What the sql environment reads from a SQLite file given by path and no documentation."""
    env = SqlEnvironment(RunnerSettings())
    return list(env.resources(env.parse_config({"database": path})))


def _statements(markdown: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```sql\n(.*?)```", markdown, re.S)]


def test_resources_are_read_from_the_database_and_every_example_runs(clinic):
    resources = introspect_sqlite(clinic)
    assert {r.kind for r in resources} == {"introspection"}
    titles = {r.title for r in resources}
    tables = {"appointments", "departments", "doctors", "medications", "patients", "prescriptions"}
    assert {f"Table {t}" for t in tables} <= titles and "How the tables relate" in titles
    doctors = next(r for r in resources if r.title == "Table doctors").text
    assert "| dept_id | INTEGER | references departments(dept_id) | no |" in doctors
    # a categorical column's values
    assert "one of 'physician', 'resident', 'surgeon'" in doctors or "one of" in doctors
    relations = next(r for r in resources if r.title == "How the tables relate").text
    assert relations.count("points to one row of") == 5  # every foreign key
    statements = [s for r in resources for s in _statements(r.text)]
    assert len(statements) >= 5 * len(tables)
    conn = sqlite3.connect(clinic)
    for statement in statements:
        assert conn.execute(statement).fetchall(), statement  # executed before it was written down, with a result
    joins = [s for s in statements if " JOIN " in s]
    assert len(joins) >= 10 and any(s.count(" JOIN ") == 2 for s in joins)
    words = set(re.findall(r"[a-z_]+", " ".join(r.text.lower() for r in resources)))
    assert not words & SHOP_NAMES


def test_any_file_name_is_read(clinic, tmp_path):
    """A path with a space, '#' and '?' (characters a database URI would take for its own) is read as it is."""
    import shutil

    odd = tmp_path / "my data #1" / "clinic?.db"
    odd.parent.mkdir()
    shutil.copy(clinic, odd)
    assert [r.text for r in introspect_sqlite(str(odd))] == [
        r.text.replace(clinic, str(odd)) for r in introspect_sqlite(clinic)
    ]


async def test_the_sample_shops_guide_is_for_the_sample_database_only(runner, clinic):
    own = await runner.resources("sql", {"database": clinic})
    assert own and all(r.kind == "introspection" for r in own)
    sample = await runner.resources("sql")
    assert {r.kind for r in sample} == {"docs", "introspection"}


async def test_a_job_on_an_unseen_database_without_documentation(synth_engine, clinic):
    """The issue's acceptance, measured on the offline policy (deterministic, not a model)."""
    job, kept = await run_job(synth_engine, {"env": "sql", "dataset": "clinic", "env_config": {"database": clinic}})
    assert len(kept) >= 100
    conn = sqlite3.connect(clinic)

    def runs(statement: str) -> bool:
        try:
            conn.execute(statement).fetchmany(1)
            return True
        except sqlite3.Error:
            return False

    recovered = sum(all(runs(s.action) for s in e.steps) or runs(e.steps[-1].action) for e in kept if e.steps)
    assert recovered >= 0.9 * len(kept)
    instructions = collections.Counter(e.instruction for e in kept)
    assert instructions.most_common(1)[0][1] <= 0.05 * len(kept), instructions.most_common(3)
    assert len(instructions) >= 5 * 6  # six tables
    for instruction in instructions:
        assert not set(re.findall(r"[a-z_]+", instruction.lower())) & SHOP_NAMES, instruction
    print(figures(job, kept))
