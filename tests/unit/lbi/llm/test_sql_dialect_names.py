"""The offline policy names tables and columns as the session's engine needs them: PostgreSQL folds a bare name to
lower case, so a table created as "ObservingRun" must be written quoted there, and only there."""

import pytest

from env_runners.sql.engines.base import action_space
from env_runners.sql.table_text import format_table
from lbi.llm.offline.act import act
from lbi.llm.offline.sqltext import dialect_of, quote_name, quote_table, repair, schema_from_text

LISTING = format_table(
    ["table_name", "columns"],
    [
        ("ObservingRun", "RunId integer, TelescopeId integer, NightOf date, SeeingArcsec numeric"),
        ("Telescope", "TelescopeId integer, SiteName text, ApertureMm integer"),
        ("filters", "filter_id integer, band text"),
        ("Night Log", "EntryId integer, Remark text"),
    ],
    4,
    True,
)
SCHEMA = {
    "ObservingRun": ["RunId", "TelescopeId", "NightOf", "SeeingArcsec"],
    "Telescope": ["TelescopeId", "SiteName", "ApertureMm"],
    "filters": ["filter_id", "band"],
    "Night Log": ["EntryId", "Remark"],
}
WORKED = (
    "Which 5 telescope rows have the highest aperture mm?\n\n"
    '```sql\nSELECT "SiteName", "ApertureMm" FROM "Telescope" ORDER BY "ApertureMm" DESC LIMIT 5;\n```\n'
)


@pytest.mark.parametrize(
    "title, dialect", [("PostgreSQL", "postgres"), ("SQLite", "sqlite"), ("MySQL", "mysql"), ("DuckDB", "duckdb")]
)
def test_the_dialect_is_read_from_the_action_space(title, dialect):
    assert dialect_of(action_space(title)) == dialect
    assert dialect_of("") == "sqlite"


@pytest.mark.parametrize(
    "name, dialect, written",
    [
        ("ObservingRun", "postgres", '"ObservingRun"'),
        ("filters", "postgres", "filters"),
        ("order", "postgres", '"order"'),
        ("Seeing (arcsec)", "postgres", '"Seeing (arcsec)"'),
        ('odd"name', "postgres", '"odd""name"'),
        ("ObservingRun", "sqlite", "ObservingRun"),
        ("order", "sqlite", '"order"'),
        ("ObservingRun", "duckdb", "ObservingRun"),
        ("order", "mysql", "`order`"),
        ("Seeing (arcsec)", "mysql", "`Seeing (arcsec)`"),
    ],
)
def test_names_are_quoted_where_the_dialect_needs_it(name, dialect, written):
    assert quote_name(name, dialect) == written


def test_repair_on_postgresql_puts_the_real_name_in_quotes():
    assert (
        repair(
            "SELECT * FROM ObservingRun LIMIT 3;", 'Error: relation "observingrun" does not exist', SCHEMA, "postgres"
        )
        == 'SELECT * FROM "ObservingRun" LIMIT 3;'
    )
    assert (
        repair(
            'SELECT SiteName, "ApertureMm" FROM "Telescope" WHERE SiteName LIKE \'%Ridge%\';',
            'Error: column "sitename" does not exist\nLINE 1: SELECT SiteName ...',
            SCHEMA,
            "postgres",
        )
        == 'SELECT "SiteName", "ApertureMm" FROM "Telescope" WHERE "SiteName" LIKE \'%Ridge%\';'
    )
    assert (
        repair("SELECT * FROM telescopes;", 'Error: relation "telescopes" does not exist', SCHEMA, "postgres")
        == 'SELECT * FROM "Telescope";'
    )


def _step(history, observation):
    return act(
        {
            "env": "sql",
            "task": "Which 5 telescope rows have the highest aperture mm?",
            "resource_text": WORKED,
            "action_space": action_space("PostgreSQL"),
            "history": history,
            "observation": observation,
        }
    )


def test_the_policy_peeks_at_a_mixed_case_table_with_its_quotes_on_postgresql():
    inspect = _step([], "A PostgreSQL database.")["action"]
    assert "information_schema" in inspect
    peek = _step([{"action": inspect, "observation": "A PostgreSQL database."}], LISTING)["action"]
    assert peek == 'SELECT * FROM "Telescope" LIMIT 3;'


def test_a_postgresql_listing_is_read_whatever_the_names():
    assert schema_from_text(LISTING) == SCHEMA
    assert quote_table("Night Log", "postgres") == '"Night Log"'
