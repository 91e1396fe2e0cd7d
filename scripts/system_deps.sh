#!/usr/bin/env bash
# Checks (and, as root, installs with apt-get) the system packages lbi needs: Python 3.11+ with venv and
# sqlite3, and (as root) bubblewrap, debootstrap and man for the shell environment's sandbox and documentation, and
# Debian's chromium for the web environment (never a browser download), and PostgreSQL and MariaDB servers for the sql
# environment's tests (they start private instances of them; elsewhere point them at servers by URL, see below).
set -euo pipefail
PY=${PY:-python3}
missing=()
optional=()
command -v "$PY" >/dev/null || missing+=(python3)
if command -v "$PY" >/dev/null; then
  "$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null || { echo "lbi needs Python 3.11 or newer ($PY is $("$PY" -V 2>&1))" >&2; exit 1; }
  "$PY" -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  "$PY" -c 'import sqlite3' 2>/dev/null || missing+=(libsqlite3-0)
fi
# The shell environment's sandbox (root only; elsewhere it falls back to a workspace folder and says so).
if [ "$(id -u)" = 0 ]; then
  command -v bwrap >/dev/null || missing+=(bubblewrap)
  command -v debootstrap >/dev/null || missing+=(debootstrap)  # builds the sessions' own root file system
  command -v man >/dev/null || missing+=(man-db)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # The sql engine tests' servers: wanted, not required (without them those tests are skipped with the reason).
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || optional+=(postgresql)
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || optional+=(mariadb-server)
else
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && { command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ]; } ||
    echo "note: PostgreSQL or MariaDB is not installed and this is not root, so it cannot be installed; the sql engine tests" \
         "that need it are skipped unless LBI_TEST_POSTGRES_URL / LBI_TEST_MARIADB_URL name existing servers" \
         "(an administrator URL, e.g. postgresql://postgres:PW@127.0.0.1:5432/postgres)" >&2
fi
if [ ${#optional[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${optional[@]}"; } ||
    echo "warning: could not install ${optional[*]}; the sql engine tests that need them will be skipped (or set" \
         "LBI_TEST_POSTGRES_URL / LBI_TEST_MARIADB_URL to existing servers)" >&2
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "missing system packages: ${missing[*]} (install them with: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
