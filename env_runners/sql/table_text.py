"""Query results as the compact text table an agent reads."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

CELL_CHARS = 400


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float) and not math.isfinite(value):
        text = str(value)  # inf, -inf, nan (DuckDB's 1/0)
    elif isinstance(value, float):
        text = f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) or abs(value) >= 1e15 else f"{value:.1f}"
    elif isinstance(value, (bytes, bytearray, memoryview)):
        text = f"<{len(bytes(value))} bytes>"
    else:
        text = " ".join(str(value).split())
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], total: int, total_is_exact: bool) -> str:
    """Header, separator, rows, and a count line saying how many rows exist and how many are shown."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)).rstrip() for r in cells]
    total_text = f"{total}" if total_is_exact else f"more than {total - 1}"
    if len(rows) < total or not total_is_exact:
        lines.append(f"(showing {len(rows)} of {total_text} rows)")
    else:
        lines.append(f"({total} row{'s' if total != 1 else ''})")
    return "\n".join(lines)
