"""What kind of SQL an action is, read with sqlglot's tokenizer for the engine's dialect (quotes, comments and
PostgreSQL's dollar-quoting are understood, so a `;` or `COMMIT` inside a string is not taken for one).

Sessions isolated by a transaction that is rolled back at close must refuse what would end that transaction:
transaction control, several statements in one action, and on MySQL/MariaDB the statements that commit
implicitly (DDL, `LOCK TABLES`, `GRANT`, ...; https://dev.mysql.com/doc/refman/8.4/en/implicit-commit.html).
"""

from __future__ import annotations

import sqlglot
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

# sqlglot's dialect names for SQLAlchemy's
DIALECTS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite", "duckdb": "duckdb"}
TRANSACTION_CONTROL = {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "XA", "PREPARE"}
MYSQL_IMPLICIT_COMMIT = {
    "CREATE",
    "ALTER",
    "DROP",
    "RENAME",
    "TRUNCATE",
    "LOCK",
    "UNLOCK",
    "GRANT",
    "REVOKE",
    "ANALYZE",
    "OPTIMIZE",
    "REPAIR",
    "CHECK",
    "FLUSH",
    "RESET",
    "INSTALL",
    "UNINSTALL",
    "CACHE",
    "LOAD",
    "PURGE",
    "CHANGE",
    "STOP",
}


class Statement:
    """One action's SQL, tokenized: how many statements it holds and the words it starts with."""

    def __init__(self, sql: str, dialect: str):
        self.sql = sql
        try:
            tokens = sqlglot.tokenize(sql, read=DIALECTS.get(dialect))
        except SqlglotError:  # left to the engine, which gives its own error
            tokens = []
        pieces: list[list[str]] = [[]]
        for token in tokens:
            if token.token_type == TokenType.SEMICOLON:
                pieces.append([])
            else:
                pieces[-1].append(token.text.upper())
        self.count = sum(1 for p in pieces if p)
        first = next((p for p in pieces if p), [])
        self.words = " ".join(first).split()[:8]  # a COMMAND token can hold several words ("LOCK TABLES")
        self.readable = bool(tokens) or not sql.strip()

    @property
    def lead(self) -> str:
        return self.words[0] if self.words else ""

    @property
    def controls_transaction(self) -> bool:
        if self.lead == "PREPARE":  # PREPARE name AS ... is a prepared statement, PREPARE TRANSACTION is not
            return self.words[1:2] == ["TRANSACTION"]
        if self.lead == "SET":  # SET autocommit = 1 commits on MySQL; SET TRANSACTION changes the open one
            return bool({"AUTOCOMMIT", "TRANSACTION"} & set(self.words[1:6]))
        return self.lead in TRANSACTION_CONTROL

    @property
    def commits_on_mysql(self) -> bool:
        if self.lead in ("CREATE", "DROP") and self.words[1:2] == ["TEMPORARY"]:
            return False
        return self.lead in MYSQL_IMPLICIT_COMMIT

    @property
    def writes_rows(self) -> bool:
        return self.lead in ("INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE")
