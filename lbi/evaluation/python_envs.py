"""The Python environments benchmark scripts activate (Spider2-V's `conda activate jupyter|dbt`), as pip requirements.

One list for both sides: the Spider2-V importer asks an env's requirements as a session's `config.pip`, and
`lbi runner build-rootfs --desktop --apps jupyter,dbt` installs the very same strings ahead of time, so a session
finds that layer (requirements are compared as written).
"""

from __future__ import annotations

PIP_APPS: dict[str, list[str]] = {
    "jupyter": ["jupyterlab", "ipykernel", "pandas", "numpy", "matplotlib", "seaborn", "scikit-learn"],
    # dbt 1.7 on DuckDB 0.9, as Spider2-V ran: DuckDB 0.10 on finds a schema named as its database file ambiguous
    "dbt": ["dbt-core>=1.7,<1.8", "dbt-duckdb>=1.7,<1.8", "duckdb<0.10"],
}
