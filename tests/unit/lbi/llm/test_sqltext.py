"""The offline backend's SQL reading: schema from observations, repair, descriptions."""

from lbi.llm.offline.sqltext import SCHEMA_QUERY, describe, repair, schema_from_text, tables_in

SCHEMA_OBS = (
    "name | sql\n---+---\n"
    "customers | CREATE TABLE customers ( id INTEGER PRIMARY KEY, first_name TEXT NOT NULL, city TEXT, "
    "FOREIGN KEY (id) REFERENCES x(id) )\n"
    "orders | CREATE TABLE orders ( id INTEGER PRIMARY KEY, customer_id INTEGER, status TEXT )\n"
    "(2 rows)"
)


def test_schema_from_observation():
    assert schema_from_text(SCHEMA_OBS) == {
        "customers": ["id", "first_name", "city"],
        "orders": ["id", "customer_id", "status"],
    }


def test_repair_uses_closest_real_name():
    schema = schema_from_text(SCHEMA_OBS)
    assert (
        repair("SELECT firstname FROM customers", "Error: no such column: firstname", schema)
        == "SELECT first_name FROM customers"
    )
    assert repair("SELECT * FROM order", "Error: no such table: order", schema) == "SELECT * FROM orders"
    assert repair("SELECT zzz FROM customers", "Error: no such column: zzz", schema) is None
    assert repair("SELECT 1", "Error: near 'x': syntax error", schema) is None


def test_descriptions():
    assert describe(SCHEMA_QUERY) == "List the tables of the database with their definitions"
    assert describe("SELECT * FROM orders LIMIT 3;") == "Show the first 3 rows of the orders table"
    text = describe(
        "SELECT c.city, COUNT(*) AS customers FROM customers c GROUP BY c.city ORDER BY customers DESC LIMIT 5"
    )
    assert text == (
        "List the top 5 rows (city and customers) from the customers table, for each city, "
        "sorted by customers from highest to lowest"
    )
    assert (
        describe("SELECT COUNT(*) FROM orders WHERE status = 'shipped'")
        == "Find the number of rows from the orders table where status = 'shipped'"
    )
    assert describe("DELETE FROM orders WHERE id = 3").startswith("Delete rows from the orders table")
    assert describe("CREATE VIEW v AS SELECT 1") == "Create the view v"
    assert tables_in("SELECT * FROM a JOIN b ON a.id = b.id") == ["a", "b"]
