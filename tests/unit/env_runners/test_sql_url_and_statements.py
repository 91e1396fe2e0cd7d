"""A sql URL's secrets (placeholders resolved by the runner, refused in clear, only as the password of a host the
operator bound them to, scrubbed from messages) and how an
action is read in each engine's dialect (statements counted past strings and comments, transaction control and
MySQL's implicit commits recognised)."""

from __future__ import annotations

import pytest

from env_runners.sql.statements import Statement
from env_runners.sql.url import resolve
from lbi.errors import InvalidArgument


def test_placeholders_come_from_the_runners_environment_or_its_secrets_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LBI_SECRET_SHOP_PW", "s3cr3t-from-env")
    (tmp_path / "warehouse-password").write_text("s3cr3t-from-file\n")
    (tmp_path / "warehouse-password.hosts").write_text("10.0.0.7:3306\n")
    from_env = resolve("postgresql://agent:${SHOP_PW}@db.internal:5432/shop", tmp_path, {"SHOP_PW": ["*.internal"]})
    assert from_env.url.password == "s3cr3t-from-env" and from_env.url.drivername == "postgresql+psycopg"
    assert "s3cr3t" not in from_env.shown and "${SHOP_PW}" not in from_env.shown and "db.internal" in from_env.shown
    from_file = resolve("mysql://agent:${warehouse-password}@10.0.0.7/wh", tmp_path)
    assert from_file.url.password == "s3cr3t-from-file" and from_file.url.drivername == "mysql+pymysql"
    assert from_file.scrub("login failed with s3cr3t-from-file") == "login failed with ***"
    tls = resolve("mysql://agent:${warehouse-password}@10.0.0.7/wh?ssl_check_hostname=true", tmp_path)
    assert tls.url.query == {"ssl_check_hostname": "true"}
    verified = "postgresql://agent:${SHOP_PW}@db.internal/shop?sslmode=verify-full&sslrootcert=system"
    assert resolve(verified, tmp_path, {"SHOP_PW": ["db.internal:5432"]}).url.query["sslmode"] == "verify-full"


@pytest.mark.parametrize(
    "url, says",
    [
        ("postgresql://agent:hunter2@db/shop", "password in clear"),
        ("postgresql://agent:${NOT_GIVEN}@db/shop", "LBI_SECRET_NOT_GIVEN"),
        ("postgresql://agent:${SHOP_PW}@db.internal.evil.example/shop", "not bound to db.internal.evil.example:5432"),
        ("postgresql://agent:${SHOP_PW}@db:5433/shop", "not bound to db:5433"),
        ("postgresql://agent:${SHOP_PW}@db/db_${SHOP_PW}", "only for the whole password"),
        ("postgresql://agent:${SHOP_PW}@db/shop?sslkey=/etc/shadow", "'sslkey' is not allowed"),
        ("postgresql://agent:${SHOP_PW}@db/shop?channel_binding=disable", "channel_binding may be prefer, require"),
        ("postgresql://agent:${SHOP_PW}@/shop", "names no host"),
        ("mysql://agent@db/shop?unix_socket=/run/mysqld/mysqld.sock", "'unix_socket' is not allowed"),
        ("duckdb:///${SHOP_PW}", "only for the whole password"),
        ("oracle://agent@db/shop", "unsupported database 'oracle'"),
        ("::not a url::", "not a database URL"),
    ],
)
def test_bad_urls_are_invalid_argument_on_config_url_without_the_password(url, says, tmp_path, monkeypatch):
    monkeypatch.setenv("LBI_SECRET_SHOP_PW", "s3cr3t-from-env")
    with pytest.raises(InvalidArgument) as caught:
        resolve(url, tmp_path, {"NOT_GIVEN": ["db"], "SHOP_PW": ["db:5432", "db.internal"]})
    assert caught.value.field == "config.url" and says in str(caught.value), str(caught.value)
    assert "hunter2" not in str(caught.value) and "s3cr3t" not in str(caught.value)


def test_a_job_cannot_name_an_arbitrary_variable_of_the_runner(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    with pytest.raises(InvalidArgument):
        resolve(
            "postgresql://agent:${AWS_SECRET_ACCESS_KEY}@evil.example/x", tmp_path, {"AWS_SECRET_ACCESS_KEY": ["*"]}
        )


@pytest.mark.parametrize(
    "sql, dialect, count, control",
    [
        ("SELECT 1", "postgresql", 1, False),
        ("SELECT ';' AS semi", "postgresql", 1, False),
        ("SELECT 1 -- ; COMMIT", "postgresql", 1, False),
        ("SELECT $$ ; COMMIT $$", "postgresql", 1, False),
        ("SELECT 1; COMMIT", "postgresql", 2, False),
        ("commit", "postgresql", 1, True),
        ("  END;", "postgresql", 1, True),
        ("ABORT", "postgresql", 1, True),
        ("ROLLBACK TO SAVEPOINT lbi_step", "postgresql", 1, True),
        ("RELEASE SAVEPOINT lbi_step", "postgresql", 1, True),
        ("PREPARE TRANSACTION 'x'", "postgresql", 1, True),
        ("PREPARE q AS SELECT 1", "postgresql", 1, False),
        ("START TRANSACTION", "mysql", 1, True),
        ("SET autocommit = 1", "mysql", 1, True),
        ("SET @@session.autocommit = 1", "mysql", 1, True),
        ("SET @x = 1", "mysql", 1, False),
        ("XA START 'x'", "mysql", 1, True),
    ],
)
def test_statements_are_counted_and_transaction_control_is_recognised(sql, dialect, count, control):
    statement = Statement(sql, dialect)
    assert statement.count == count and statement.controls_transaction == control


@pytest.mark.parametrize(
    "sql, commits",
    [
        ("CREATE TABLE t (x INT)", True),
        ("CREATE TEMPORARY TABLE t (x INT)", False),
        ("drop table t", True),
        ("ALTER TABLE t ADD y INT", True),
        ("TRUNCATE t", True),
        ("LOCK TABLES t WRITE", True),
        ("RENAME TABLE a TO b", True),
        ("INSERT INTO t VALUES (1)", False),
        ("SELECT 1", False),
        ("DROP TEMPORARY TABLE t", False),
    ],
)
def test_mysqls_implicit_commits_are_recognised(sql, commits):
    assert Statement(sql, "mysql").commits_on_mysql == commits
