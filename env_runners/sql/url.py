"""The database URL of a sql session: a SQLAlchemy URL whose secrets stay with the runner and go only where the
runner's operator allows.

A job spec names its database by URL (`postgresql+psycopg://agent:${SHOP_PW}@db:5432/shop`). The URL may not
hold a password in clear: a job spec is journaled, shown by `lbi jobs`, and sent between services. A secret is
written as a placeholder `${NAME}` instead, resolved by the runner that opens the session, from its own
environment variable `LBI_SECRET_<NAME>` (upper-cased, `-` and `.` as `_`) or else from the file `<NAME>` in its
secrets folder (`LBI_RUNNER_SECRETS_DIR`, a mounted Kubernetes secret; `/var/run/secrets/lbi` by default).
Only those two places are read: a job cannot name an arbitrary variable of the runner.

A secret is a password, and a password for some servers only. So:
- `${NAME}` may stand only for the whole password, nowhere else in the URL (a secret as the database name or a
  query parameter would be sent to the server as data);
- the secret must be bound to the URL's host by the operator: `LBI_RUNNER_SECRET_HOSTS`
  (`{"SHOP_PW": ["db.internal:5432"]}`) or the file `<NAME>.hosts` beside the secret file, one `host` or
  `host:port` a line (glob patterns allowed). A secret bound to nothing goes nowhere;
- a server URL names one host (no socket of the runner, no second host), and only query parameters that change
  neither where the connection goes nor which of the runner's files it reads (`QUERY`);
- the engines never answer a request for the password in clear (`engines/postgres.py` requires SCRAM,
  `engines/mysql.py` refuses `mysql_clear_password` and `dialog`), and a URL without a password sends none of the
  runner's own (libpq's `PGPASSWORD`).

What resolving yields keeps the secrets it substituted, so every message shown to a client or written to a log
can be scrubbed of them (`Resolved.scrub`), and renders the URL for display with its password hidden.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from lbi.errors import InvalidArgument
from lbi.hosts import host_matches
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
SERVERS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}  # engines reached over TCP, with their default port
_MYSQL_QUERY: dict[str, frozenset[str] | None] = {
    **dict.fromkeys(("charset", "connect_timeout", "read_timeout", "write_timeout")),
    "ssl_check_hostname": frozenset({"true"}),  # TLS, verified against the system's certificate authorities
}
# The query parameters a URL may carry, with the values allowed (None: any). Everything else is refused: libpq's
# host, hostaddr, port, passfile, service, sslkey, require_auth ...; PyMySQL's unix_socket, local_infile,
# read_default_file, init_command, client_flag ...
QUERY: dict[str, dict[str, frozenset[str] | None]] = {
    "postgresql": {
        "sslmode": frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}),
        "sslrootcert": frozenset({"system"}),
        "channel_binding": frozenset({"prefer", "require"}),
        "connect_timeout": None,
        "application_name": None,
        "options": None,
        "target_session_attrs": None,
    },
    "mysql": _MYSQL_QUERY,
    "mariadb": _MYSQL_QUERY,
    "duckdb": {},
    "sqlite": {},
}
_HOSTNAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})")


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


def resolve(raw: str, secrets_dir: Path, secret_hosts: Mapping[str, Sequence[str]] | None = None) -> Resolved:
    """The URL with its password's `${NAME}` resolved; INVALID_ARGUMENT naming `config.url` when it is malformed,
    names an unknown driver, holds a password in clear, a placeholder anywhere but the password, a query parameter
    not in `QUERY`, no single host for a server, or uses a secret not bound to its host or that the runner lacks."""
    try:
        written = sa.make_url(raw)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise InvalidArgument(FIELD, f"not a database URL ({_without_password(raw)}): {type(exc).__name__}") from None
    backend = written.get_backend_name()
    if backend not in DRIVERS:
        raise InvalidArgument(FIELD, f"unsupported database {backend!r}; use one of {', '.join(sorted(DRIVERS))}")
    written = written.set(drivername=DRIVERS[backend])
    password = str(written.password) if written.password is not None else ""
    placeholder = PLACEHOLDER.fullmatch(password)
    if password and not placeholder:
        raise InvalidArgument(
            FIELD,
            "holds a password in clear; write it as ${NAME} and give the runner the secret "
            "as the environment variable LBI_SECRET_NAME or the file NAME in its secrets folder",
        )
    _check_parts(written, backend)
    if placeholder is None:
        return Resolved(_loaded(written), written.render_as_string(hide_password=True))
    if backend not in SERVERS:
        raise InvalidArgument(FIELD, f"a {backend} file takes no password")
    name = placeholder.group(1)
    host, port = _host(written), written.port or SERVERS[backend]
    if not _bound(name, host, port, secrets_dir, secret_hosts or {}):
        raise InvalidArgument(
            FIELD,
            f"the secret ${{{name}}} is not bound to {host}:{port}; the runner's operator binds each secret to the "
            f"hosts it is for (LBI_RUNNER_SECRET_HOSTS, or the file {name}.hosts beside the secret)",
        )
    secret = secret_value(name, secrets_dir, FIELD)
    url = _loaded(written.set(password=secret))
    return Resolved(url, written.render_as_string(hide_password=True), (secret,) if secret else ())


def _check_parts(url: sa.URL, backend: str) -> None:
    """Placeholders only in the password; query parameters from `QUERY`; a server URL names one host."""
    parts = [url.username, url.host, url.database, *url.query]
    parts += [v for values in url.query.values() for v in ((values,) if isinstance(values, str) else values)]
    if any(part and PLACEHOLDER.search(str(part)) for part in parts):
        raise InvalidArgument(FIELD, "a ${NAME} secret may stand only for the whole password")
    allowed = QUERY[backend]
    for key, values in url.query.items():
        if key not in allowed:
            names = ", ".join(sorted(allowed)) or "none"
            raise InvalidArgument(FIELD, f"the query parameter {key!r} is not allowed (allowed: {names})")
        choices = allowed[key]
        given = (values,) if isinstance(values, str) else values
        if choices is not None and not set(given) <= choices:
            raise InvalidArgument(FIELD, f"{key} may be {', '.join(sorted(choices))}")
    if backend in SERVERS:
        _host(url)


def _host(url: sa.URL) -> str:
    """The server's one host, lower-case: a name or an IP address (never a socket path or a list of hosts)."""
    host = (url.host or "").strip("[]").lower()
    if not host:
        raise InvalidArgument(FIELD, "names no host; a database server is reached by host name or address")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOSTNAME.fullmatch(host):
            raise InvalidArgument(FIELD, "the host must be one host name or IP address") from None
    return host


def _bound(name: str, host: str, port: int, secrets_dir: Path, secret_hosts: Mapping[str, Sequence[str]]) -> bool:
    """Whether the operator bound the secret `name` to `host:port` (settings, or the file `<name>.hosts`)."""
    patterns = list(secret_hosts.get(name, ()))
    beside = secrets_dir / f"{name}.hosts"
    if beside.is_file():
        patterns += [line.strip() for line in beside.read_text().splitlines() if line.strip()]
    return any(host_matches(pattern, host, port) for pattern in patterns)


def _loaded(url: sa.URL) -> sa.URL:
    """The URL, once its driver is known to be installed on this runner."""
    try:
        url.get_dialect()
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise InvalidArgument(FIELD, f"no database driver for {url.drivername!r} on this runner: {exc}") from None
    return url


def _without_password(raw: str) -> str:
    return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", raw)[:200]
