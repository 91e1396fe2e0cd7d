"""Secret references: a setting or URL says `${NAME}` instead of holding a secret in clear.

A reference is resolved by the process that uses it, from its own environment variable `LBI_SECRET_<NAME>`
(upper-cased, `-` and `.` as `_`) or else from the file `<NAME>` in its secrets folder (a mounted Kubernetes
secret). Only those two places are read: a request cannot name an arbitrary variable or file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from lbi.errors import InvalidArgument

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.-]{1,64})\}")


def secret_value(name: str, secrets_dir: Path, field: str) -> str:
    """The secret `name`; INVALID_ARGUMENT naming `field` (and where it looked) when it is not set."""
    variable = "LBI_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()
    if variable in os.environ:
        return os.environ[variable]
    path = secrets_dir / name
    if path.is_file():
        return path.read_text().rstrip("\r\n")
    raise InvalidArgument(
        field, f"the secret ${{{name}}} is not set: set its environment variable {variable} or mount a file {path}"
    )


def resolve_references(text: str, secrets_dir: Path, field: str) -> str:
    """`text` with every `${NAME}` replaced by its secret."""
    return PLACEHOLDER.sub(lambda m: secret_value(m.group(1), secrets_dir, field), text)
