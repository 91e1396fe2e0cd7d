"""Spreadsheet checks: OSWorld's `compare_table` (an xlsx workbook against a gold one, rule by rule) and
`compare_csv`.

`compare_table(result, expected=None, rules=[...])` passes (1.0) when every rule holds, in order, and stops at the
first that does not (0.0). A rule names its sheets as OSWorld does: an index into the result's sheets (`0`), or
`"RI0"` / `"RNSheet1"` (the result's first sheet / its sheet named Sheet1), `"EI0"` / `"ENSheet1"` (the expected
workbook's). Rule types:

- `sheet_name`: both workbooks have the same sheet names in the same order;
- `sheet_data` (`sheet_idx0`, `sheet_idx1`, `precision`=4): the two sheets' data (pandas, rounded) are equal;
- `sheet_print` (`sheet_idx0`, `sheet_idx1`, `ignore_case`): the sheets as printed are equal; they are read from CSV
  exports beside the workbook, `<workbook stem>-<sheet>.csv`, which OSWorld's harness makes with LibreOffice (so the
  getters must make them too); missing exports fail the rule;
- `sheet_fuzzy` (`sheet_idx0`, `sheet_idx1`, `rules`: `range`, `type` includes | included_by | fuzzy_match (with
  `threshold`, 85) | exact_match, `ignore_case`, `ignore_chars`, `trim_leadings`, `trim_trailings`,
  `normalization`): stored cell values compared range by range;
- `sparkline`, `chart` (`chart_props`), `pivot_table` (`pivot_props`), `filter`, `row_props` / `col_props`
  (`props`), `freeze`, `style` (`props`, conditional formats included): that part of the two sheets is equal;
- `zoom` (`sheet_idx`, `method`, `ref`), `data_validation` (`sheet_idx`, `dv_props`), `check_cell` (`sheet_idx`,
  `coordinate`, `props`: value or a cell style -> a value rule): one sheet against value rules (lbi.judging.rules).

The result must be an xlsx workbook (OSWorld reads it with openpyxl too); one that cannot be read scores 0.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import MultiCellRange
from rapidfuzz import fuzz

from lbi.judging import workbook_parts as parts
from lbi.judging.errors import JudgingError
from lbi.judging.files import ensure_small_package, read_lines
from lbi.judging.rules import check_rule, match_value_to_rule


@dataclass
class _Books:
    """The result and expected workbooks, opened once for all rules (openpyxl and pandas)."""

    result: str
    expected: str | None
    workbooks: dict[str, Any] = field(default_factory=dict)
    excel_files: dict[str, Any] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)
    values: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def open(self, side: str, path: str) -> None:
        ensure_small_package(path)
        with warnings.catch_warnings():  # openpyxl's notes on the extensions it drops (sparklines are read apart)
            warnings.simplefilter("ignore", UserWarning)
            self.workbooks[side] = openpyxl.load_workbook(path)
        self.excel_files[side] = pd.ExcelFile(path, engine="openpyxl")
        self.names[side] = list(self.workbooks[side].sheetnames)

    def locate(self, index: Any) -> tuple[str, str]:
        """(side, sheet name) of a sheet reference; an unknown sheet has the name ""."""
        side, key = sheet_reference(index)
        if side not in self.workbooks:
            raise JudgingError(f"rules: sheet {index!r} is in the expected workbook, and the evaluator gives none")
        if isinstance(key, str):
            return side, key
        names = self.names[side]
        return side, names[key] if 0 <= key < len(names) else ""

    def path(self, side: str) -> str:
        return self.result if side == "result" else str(self.expected)

    def sheet(self, index: Any) -> Any:
        side, name = self.locate(index)
        return self.workbooks[side][name] if name in self.names[side] else None

    def frame(self, index: Any) -> pd.DataFrame | None:
        side, name = self.locate(index)
        return pd.read_excel(self.excel_files[side], name) if name in self.names[side] else None

    def stored(self, index: Any) -> dict[str, Any]:
        side, name = self.locate(index)
        key = (side, name)
        if key not in self.values:
            self.values[key] = parts.stored_values(self.path(side), name)
        return self.values[key]


def sheet_reference(index: Any) -> tuple[str, int | str]:
    """(side, sheet index or name) of OSWorld's sheet reference: 0, "RI0", "RNSheet1", "EI0", "ENSheet1"."""
    if isinstance(index, int) and not isinstance(index, bool):
        return "result", index
    if isinstance(index, str) and index[:2] in ("RI", "RN", "EI", "EN"):
        side = "result" if index[0] == "R" else "expected"
        if index[1] == "N":
            return side, index[2:]
        if index[2:].isdigit():
            return side, int(index[2:])
    raise JudgingError(f"rules: {index!r} is not a sheet reference (0, RI0, RNSheet1, EI0, ENSheet1)")


def compare_table(result: str | None, expected: str | None = None, *, rules: list[dict[str, Any]]) -> float:
    """1.0 if every rule holds for the result workbook (and the expected one), else 0.0."""
    check_rules(rules)
    if not result or not os.path.exists(result):
        return 0.0
    books = _Books(result, expected)
    try:
        books.open("result", result)
    except Exception:  # any file openpyxl or pandas cannot read is a failed result, whatever it raises
        return 0.0
    if expected is not None:
        try:
            books.open("expected", expected)
        except Exception as e:
            raise JudgingError(f"expected: {expected} is not an xlsx workbook ({e})") from None
    return float(all(RULES[rule["type"]](books, rule) for rule in rules))


REQUIRED = {
    "sheet_data": ("sheet_idx0", "sheet_idx1"),
    "sheet_print": ("sheet_idx0", "sheet_idx1"),
    "sheet_fuzzy": ("sheet_idx0", "sheet_idx1", "rules"),
    "sparkline": ("sheet_idx0", "sheet_idx1"),
    "chart": ("sheet_idx0", "sheet_idx1"),
    "pivot_table": ("sheet_idx0", "sheet_idx1"),
    "filter": ("sheet_idx0", "sheet_idx1"),
    "row_props": ("sheet_idx0", "sheet_idx1"),
    "col_props": ("sheet_idx0", "sheet_idx1"),
    "freeze": ("sheet_idx0", "sheet_idx1"),
    "style": ("sheet_idx0", "sheet_idx1"),
    "zoom": ("sheet_idx", "method", "ref"),
    "data_validation": ("sheet_idx", "dv_props"),
    "check_cell": ("sheet_idx", "coordinate", "props"),
}


def check_rules(rules: Any) -> None:
    """Raise JudgingError naming the first rule of `rules` that compare_table cannot apply."""
    if not isinstance(rules, list) or not rules:
        raise JudgingError("rules: compare_table needs a list of rules")
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping) or rule.get("type") not in RULES:
            kind = rule.get("type") if isinstance(rule, Mapping) else rule
            raise JudgingError(f"rules[{i}].type: {kind!r} is not a compare_table rule ({', '.join(sorted(RULES))})")
        missing = [key for key in REQUIRED.get(rule["type"], ()) if key not in rule]
        if missing:
            raise JudgingError(f"rules[{i}]: a {rule['type']} rule needs {', '.join(missing)}")
        for key in ("sheet_idx", "sheet_idx0", "sheet_idx1"):
            if key in rule:
                sheet_reference(rule[key])
        for value_rule in _value_rules(rule, i):
            check_rule(value_rule, f"rules[{i}]")
        _check_props(rule, i)
        if rule["type"] == "sheet_fuzzy":
            _check_fuzzy(rule["rules"], i)


def _value_rules(rule: Mapping[str, Any], i: int) -> list[Any]:
    if rule["type"] == "zoom":
        return [rule]
    if rule["type"] == "check_cell":
        if not isinstance(rule["props"], Mapping):
            raise JudgingError(f"rules[{i}].props: an object of cell properties and their value rules")
        return list(rule["props"].values())
    if rule["type"] == "data_validation":
        if not isinstance(rule["dv_props"], list) or not all(isinstance(p, Mapping) for p in rule["dv_props"]):
            raise JudgingError(f"rules[{i}].dv_props: a list of objects of validation properties and value rules")
        return [r for props in rule["dv_props"] for r in props.values()]
    return []


def _check_fuzzy(subrules: Any, i: int) -> None:
    kinds = ("includes", "included_by", "fuzzy_match", "exact_match")
    if not isinstance(subrules, list):
        raise JudgingError(f"rules[{i}].rules: a list of range rules")
    for j, sub in enumerate(subrules):
        if not isinstance(sub, Mapping) or "range" not in sub or sub.get("type") not in kinds:
            raise JudgingError(f"rules[{i}].rules[{j}]: a range and a type ({', '.join(kinds)})")


PROPS = {
    "chart": ("chart_props", parts.CHART_PROPS),
    "pivot_table": ("pivot_props", parts.PIVOT_PROPS),
    "style": ("props", parts.CELL_STYLES),
    "row_props": ("props", parts.ROW_PROPS),
    "col_props": ("props", parts.COLUMN_PROPS),
}


def _check_props(rule: Mapping[str, Any], i: int) -> None:
    key, known = PROPS.get(rule["type"], ("", ()))
    names = list(rule.get(key, [])) if key else []
    if rule["type"] == "check_cell":
        key, known, names = "props", ("value", *parts.CELL_STYLES), list(rule["props"])
    unknown = [n for n in names if n not in known]
    if unknown:
        raise JudgingError(f"rules[{i}].{key}: {unknown[0]!r} is not one of {', '.join(known)}")


def _pair(books: _Books, rule: Mapping[str, Any], read: Callable[[Any], Any]) -> bool:
    first = read(rule["sheet_idx0"])
    return first is not None and first == read(rule["sheet_idx1"])


def _sheet_name(books: _Books, rule: Mapping[str, Any]) -> bool:
    return books.names.get("result") == books.names.get("expected")


def _sheet_data(books: _Books, rule: Mapping[str, Any]) -> bool:
    precision = rule.get("precision", 4)
    first, second = books.frame(rule["sheet_idx0"]), books.frame(rule["sheet_idx1"])
    if first is None or second is None:
        return False
    return bool(first.round(precision).equals(second.round(precision)))


def _printed(books: _Books, index: Any) -> list[str] | None:
    side, name = books.locate(index)
    export = f"{os.path.splitext(books.path(side))[0]}-{name}.csv"
    try:
        lines = read_lines(export)
    except OSError:
        return None
    return list(reversed(list(itertools.dropwhile(lambda line: not line, (ln.strip() for ln in reversed(lines))))))


def _sheet_print(books: _Books, rule: Mapping[str, Any]) -> bool:
    first, second = _printed(books, rule["sheet_idx0"]), _printed(books, rule["sheet_idx1"])
    if first is None or second is None:
        return False
    if rule.get("ignore_case", False):
        first, second = [ln.lower() for ln in first], [ln.lower() for ln in second]
    return first == second


def _sheet_fuzzy(books: _Books, rule: Mapping[str, Any]) -> bool:
    first, second = books.stored(rule["sheet_idx0"]), books.stored(rule["sheet_idx1"])
    for sub in rule["rules"]:
        for cell_range in MultiCellRange(sub["range"]):
            for row, col in cell_range.cells:
                coordinate = f"{get_column_letter(col)}{row}"
                one, two = (_normalised(str(v.get(coordinate)), sub) for v in (first, second))
                if not _fuzzy_holds(sub, one, two):
                    return False
    return True


def _normalised(value: str, sub: Mapping[str, Any]) -> str:
    for old, new in sub.get("normalization", []):
        value = value.replace(old, new)
    if "trim_leadings" in sub:
        value = value.lstrip(sub["trim_leadings"])
    if "trim_trailings" in sub:
        value = value.rstrip(sub["trim_trailings"])
    if "ignore_chars" in sub:
        value = "".join(ch for ch in value if ch not in set(sub["ignore_chars"]))
    return value.lower() if sub.get("ignore_case", False) else value


def _fuzzy_holds(sub: Mapping[str, Any], one: str, two: str) -> bool:
    kind = sub.get("type")
    if kind == "includes":
        return two in one
    if kind == "included_by":
        return one in two
    if kind == "fuzzy_match":
        return bool(fuzz.ratio(one, two) >= sub.get("threshold", 85.0))
    return one == two


def _style(books: _Books, rule: Mapping[str, Any]) -> bool:
    def read(index: Any) -> Any:
        sheet = books.sheet(index)
        return None if sheet is None else parts.cell_styles(sheet, books.stored(index), list(rule.get("props", [])))

    return _pair(books, rule, read)


def _on_sheet(reader: Callable[[Any, Mapping[str, Any]], Any]) -> Callable[[_Books, Mapping[str, Any]], bool]:
    """A rule comparing what `reader(sheet, rule)` reads from the two sheets."""

    def compare(books: _Books, rule: Mapping[str, Any]) -> bool:
        def read(index: Any) -> Any:
            sheet = books.sheet(index)
            return None if sheet is None else reader(sheet, rule)

        return _pair(books, rule, read)

    return compare


def _sparkline(books: _Books, rule: Mapping[str, Any]) -> bool:
    def read(index: Any) -> Any:
        side, name = books.locate(index)
        return parts.sparklines(books.path(side), name)

    return _pair(books, rule, read)


def _zoom(books: _Books, rule: Mapping[str, Any]) -> bool:
    sheet = books.sheet(rule["sheet_idx"])
    return sheet is not None and match_value_to_rule(sheet.sheet_view.zoomScale or 100.0, rule)


def _data_validation(books: _Books, rule: Mapping[str, Any]) -> bool:
    sheet = books.sheet(rule["sheet_idx"])
    if sheet is None:
        return False
    wanted = rule["dv_props"]
    validations = sheet.data_validations.dataValidation
    if len(validations) < len(wanted):
        return False
    return all(
        any(all(match_value_to_rule(getattr(dv, attribute), r) for attribute, r in props.items()) for props in wanted)
        for dv in validations
    )


def _check_cell(books: _Books, rule: Mapping[str, Any]) -> bool:
    sheet = books.sheet(rule["sheet_idx"])
    if sheet is None:
        return False
    coordinate = rule["coordinate"]
    cell = sheet[coordinate]
    for prop, value_rule in rule["props"].items():
        value = books.stored(rule["sheet_idx"]).get(coordinate) if prop == "value" else parts.cell_style(prop, cell)
        if not match_value_to_rule(value, value_rule):
            return False
    return True


RULES: dict[str, Callable[[_Books, Mapping[str, Any]], bool]] = {
    "sheet_name": _sheet_name,
    "sheet_data": _sheet_data,
    "sheet_print": _sheet_print,
    "sheet_fuzzy": _sheet_fuzzy,
    "sparkline": _sparkline,
    "chart": _on_sheet(lambda sheet, rule: parts.charts(sheet, rule.get("chart_props", []))),
    "pivot_table": _on_sheet(lambda sheet, rule: parts.pivot_tables(sheet, rule.get("pivot_props", []))),
    "filter": _on_sheet(lambda sheet, rule: parts.auto_filter(sheet)),
    "row_props": _on_sheet(lambda sheet, rule: parts.dimensions(sheet, "row", rule.get("props", []))),
    "col_props": _on_sheet(lambda sheet, rule: parts.dimensions(sheet, "column", rule.get("props", []))),
    "freeze": _on_sheet(lambda sheet, rule: parts.freeze_key(sheet)),
    "style": _style,
    "zoom": _zoom,
    "data_validation": _data_validation,
    "check_cell": _check_cell,
}


def compare_csv(
    result: str | None,
    expected: str | list[str],
    *,
    strict: bool = True,
    ignore_case: bool = False,
    ignore_order: bool = False,
) -> float:
    """1.0 if the result CSV's lines equal the expected file's (or any of the expected files'), else 0.0; not
    `strict`: lines compared stripped; `ignore_case`: lowercased; `ignore_order` (Spider2-V's): compared sorted."""
    if not result:
        return 0.0
    try:
        lines = read_lines(result)
    except OSError:
        return 0.0
    for candidate in [expected] if isinstance(expected, str) else expected:
        try:
            gold = read_lines(candidate)
        except OSError:
            continue
        if _csv_lines(lines, strict, ignore_case, ignore_order) == _csv_lines(gold, strict, ignore_case, ignore_order):
            return 1.0
    return 0.0


def _csv_lines(lines: list[str], strict: bool, ignore_case: bool, ignore_order: bool) -> list[str]:
    lines = lines if strict else [ln.strip() for ln in lines]
    lines = [ln.lower() for ln in lines] if ignore_case else lines
    return sorted(lines) if ignore_order else lines
