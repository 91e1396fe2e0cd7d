"""The database URL of a sql session: a SQLAlchemy URL whose secrets stay with the runner.

A job spec names its database by URL (`postgresql+psycopg://agent:${SHOP_PW}@db:5432/shop`). The URL may not
hold a password in clear: a job spec is journaled, shown by `lbi jobs`, and sent between services. A secret is
written as a placeholder `${NAME}` instead, resolved by the runner that opens the session, from its own
environment variable `LBI_SECRET_<NAME>` (upper-cased, `-` and `.` as `_`) or else from the file `<NAME>` in its
secrets folder (`LBI_RUNNER_SECRETS_DIR`, a mounted Kubernetes secret; `/var/run/secrets/lbi` by default).
Only those two places are read: a job cannot name an arbitrary variable of the runner. The engines' own
mechanisms work too (libpq's `PGPASSWORD` / `~/.pgpass` in the runner's environment).

What resolving yields keeps the secrets it substituted, so every message shown to a client or written to a log
can be scrubbed of them (`Resolved.scrub`), and renders the URL for display with its password hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lbi.errors import InvalidArgument
from lbi.secrets import PLACEHOLDER, secret_value

FIELD = "config.url"
# The driver each engine's sessions use (they call its own cancel and kill means), whatever driver a URL names.
DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
    "duckdb": "duckdb",
    "sqlite": "sqlite",
}


@dataclass(frozen=True)
class Resolved:
    url: sa.URL  # with the secrets in it: never shown, never logged
    shown: str  # for messages and resource addresses: password hidden
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def scrub(self, text: str) -> str:
        """`text` with every secret (and the password) replaced by `***`."""
        for secret in sorted({*self.secrets, self.url.password or ""} - {""}, key=len, reverse=True):
            text = text.replace(str(secret), "***")
        return text


def _secret(name: str, secrets_dir: Path) -> str:
    return secret_value(name, secrets_dir, FIELD)


def resolve(raw: str, secrets_dir: Path) -> Resolved:
    """The URL with its `${NAME}` placeholders resolved; INVALID_ARGUMENT naming `config.url` when it is malformed,
    names an unknown driver, holds a password in clear, or uses a secret the runner does not have."""
    try:
        written = sa.make_url(raw)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise InvalidArgument(FIELD, f"not a database URL ({_without_password(raw)}): {type(exc).__name__}") from None
    backend = written.get_backend_name()
    if backend not in DRIVERS:
        raise InvalidArgument(FIELD, f"unsupported database {backend!r}; use one of {', '.join(sorted(DRIVERS))}")
    written = written.set(drivername=DRIVERS[backend])
    if written.password and not PLACEHOLDER.fullmatch(str(written.password)):
        raise InvalidArgument(
            FIELD,
            "holds a password in clear; write it as ${NAME} and give the runner the secret "
            "as the environment variable LBI_SECRET_NAME or the file NAME in its secrets folder",
        )
    secrets: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        secrets.append(_secret(match.group(1), secrets_dir))
        return secrets[-1]

    parts: dict[str, Any] = {
        "username": written.username,
        "password": written.password,
        "host": written.host,
        "database": written.database,
    }
    filled: dict[str, Any] = {k: PLACEHOLDER.sub(substitute, v) if isinstance(v, str) else v for k, v in parts.items()}
    query = {
        k: tuple(PLACEHOLDER.sub(substitute, x) for x in v) if isinstance(v, tuple) else PLACEHOLDER.sub(substitute, v)
        for k, v in written.query.items()
    }
    url = written.set(**filled, query=query)
    try:
        url.get_dialect()
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise InvalidArgument(FIELD, f"no database driver for {written.drivername!r} on this runner: {exc}") from None
    return Resolved(url, written.render_as_string(hide_password=True), tuple(s for s in secrets if s))


def _without_password(raw: str) -> str:
    return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", raw)[:200]
