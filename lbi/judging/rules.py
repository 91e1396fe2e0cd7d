"""OSWorld's value rules, `{"method": ..., "ref": ...}`, shared by the spreadsheet, JSON and preference checks.

Methods: `eq ne lt le gt ge` (Python comparison with `ref`), `re` or `re.FLAG.FLAG` (a regular-expression search
with flags such as `re.I`), `approx:T` (a number within T of `ref`), `range.XY` with X, Y in `t` (strict) or `e`
(inclusive) (`ref[0] <X value <Y ref[1]`), `str_list_eq` / `str_set_eq` (a comma-separated text equal to the list /
set `ref`) and `spreadsheet_range` (a cell range that contains `ref[0]` and lies within `ref[1]`).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from typing import Any

from openpyxl.worksheet.cell_range import MultiCellRange

from lbi.judging.errors import JudgingError

COMPARISONS = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
BOUNDS = {"t": operator.lt, "e": operator.le}


def check_rule(rule: Any, where: str = "rule") -> None:
    """Raise JudgingError if `rule` is not a value rule lbi can apply."""
    if not isinstance(rule, Mapping) or not isinstance(rule.get("method"), str):
        raise JudgingError(f"{where}: a rule is an object with a 'method' (and a 'ref'), not {rule!r}")
    method = rule["method"]
    ref = rule.get("ref")
    if method in COMPARISONS or method in ("str_list_eq", "str_set_eq"):
        return
    if method == "re" or method.startswith("re."):
        _regex_flags(method, where)
        if not isinstance(ref, str):
            raise JudgingError(f"{where}.ref: a regular expression (text) for method {method}")
        return
    if method.startswith("approx:"):
        try:
            float(method.split(":", 1)[1])
            float(ref)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise JudgingError(f"{where}: method approx:T needs a number T and a number ref") from None
        return
    if re.fullmatch(r"range\.[te][te]", method) or method == "spreadsheet_range":
        if not isinstance(ref, list | tuple) or len(ref) != 2:
            raise JudgingError(f"{where}.ref: method {method} needs a pair [low, high]")
        return
    raise JudgingError(f"{where}.method: {method!r} is not a method lbi knows")


def match_value_to_rule(value: Any, rule: Mapping[str, Any]) -> bool:
    """Whether `value` satisfies `rule` (see the module docstring); values of the wrong type do not."""
    check_rule(rule)
    method: str = rule["method"]
    ref: Any = rule.get("ref")
    try:
        if method in COMPARISONS:
            return bool(COMPARISONS[method](value, ref))
        if method == "re" or method.startswith("re."):
            return isinstance(value, str) and re.search(ref, value, _regex_flags(method, "rule")) is not None
        if method.startswith("approx:"):
            return abs(float(value) - float(ref)) <= float(method.split(":", 1)[1])
        if method.startswith("range."):
            return bool(BOUNDS[method[6]](ref[0], value) and BOUNDS[method[7]](value, ref[1]))
        if method in ("str_list_eq", "str_set_eq"):
            kind = list if method == "str_list_eq" else set
            return isinstance(value, str) and kind(value.strip("\"'").split(",")) == kind(ref)
        return _range_between(value, MultiCellRange(ref[0]), MultiCellRange(ref[1]))
    except (TypeError, ValueError):
        return False


def _regex_flags(method: str, where: str) -> re.RegexFlag:
    flags = re.RegexFlag(0)
    for name in method.split(".")[1:]:
        flag = getattr(re, name, None)
        if not isinstance(flag, re.RegexFlag):
            raise JudgingError(f"{where}.method: {name!r} in {method!r} is not a regular-expression flag")
        flags |= flag
    return flags


def _range_between(value: Any, inner: MultiCellRange, outer: MultiCellRange) -> bool:
    ranges = value if isinstance(value, MultiCellRange) else MultiCellRange(str(value))
    return all(r in ranges for r in inner) and all(r in outer for r in ranges)
