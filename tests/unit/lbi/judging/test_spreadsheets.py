"""compare_table's rules and compare_csv, on workbooks and CSV files the tests write (openpyxl)."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import CellIsRule
from openpyxl.pivot.cache import CacheDefinition, CacheField, CacheSource, SharedItems, WorksheetSource
from openpyxl.pivot.record import RecordList
from openpyxl.pivot.table import DataField, FieldItem, Location, PivotField, RowColField, TableDefinition
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from lbi.judging.errors import JudgingError
from lbi.judging.spreadsheets import compare_csv, compare_table

ROWS: list[list[Any]] = [["Name", "Sales"], ["Ann", 10.0], ["Bob", 12.5]]


def book(
    path: Path,
    rows: list[list[Any]] = ROWS,
    edit: Callable[[Any], None] | None = None,
    sheets: tuple[str, ...] = ("Sheet1",),
) -> str:
    wb = openpyxl.Workbook()
    wb.active.title = sheets[0]
    for name in sheets[1:]:
        wb.create_sheet(name)
    for row in rows:
        wb.active.append(row)
    if edit:
        edit(wb.active)
    wb.save(path)
    return str(path)


def both(tmp_path: Path, rule: dict[str, Any], mine: dict[str, Any], gold: dict[str, Any] | None = None) -> float:
    result = book(tmp_path / "result.xlsx", **mine)
    expected = book(tmp_path / "gold.xlsx", **(gold or {}))
    return compare_table(result, expected, rules=[rule])


DATA = {"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"}


def test_sheet_data_equal_passes_and_a_changed_value_fails(tmp_path: Path) -> None:
    assert both(tmp_path, DATA, {}) == 1.0
    assert both(tmp_path, DATA, {"rows": [["Name", "Sales"], ["Ann", 10.0], ["Bob", 13]]}) == 0.0


def test_sheet_data_rounds_to_the_precision(tmp_path: Path) -> None:
    close = {"rows": [["Name", "Sales"], ["Ann", 10.00001], ["Bob", 12.5]]}
    assert both(tmp_path, DATA, close) == 1.0
    assert both(tmp_path, {**DATA, "precision": 6}, close) == 0.0


def test_sheet_names_compare_in_order(tmp_path: Path) -> None:
    rule = {"type": "sheet_name"}
    assert both(tmp_path, rule, {"sheets": ("A", "B")}, {"sheets": ("A", "B")}) == 1.0
    assert both(tmp_path, rule, {"sheets": ("B", "A")}, {"sheets": ("A", "B")}) == 0.0


def test_sheet_references_by_name_and_a_missing_sheet_fails(tmp_path: Path) -> None:
    assert both(tmp_path, {**DATA, "sheet_idx0": "RNSheet1", "sheet_idx1": "ENSheet1"}, {}) == 1.0
    assert both(tmp_path, {**DATA, "sheet_idx0": "RNNope"}, {}) == 0.0
    assert both(tmp_path, {**DATA, "sheet_idx0": "RI5"}, {}) == 0.0


def test_check_cell_value_and_style(tmp_path: Path) -> None:
    def bold(ws: Any) -> None:
        ws["B2"].font = Font(bold=True)

    rule = {
        "type": "check_cell",
        "sheet_idx": 0,
        "coordinate": "B2",
        "props": {"value": {"method": "eq", "ref": 10.0}, "font_bold": {"method": "eq", "ref": True}},
    }
    assert both(tmp_path, rule, {"edit": bold}) == 1.0
    assert both(tmp_path, rule, {}) == 0.0
    approx = {**rule, "props": {"value": {"method": "approx:0.1", "ref": 10.05}}}
    assert both(tmp_path, approx, {}) == 1.0


def test_style_rule_compares_the_props_of_every_cell(tmp_path: Path) -> None:
    def red(ws: Any) -> None:
        ws["A1"].font = Font(bold=True, color="FFFF0000")
        ws["A2"].fill = PatternFill("solid", fgColor="FFFFFF00")

    rule = {"type": "style", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["font_bold", "font_color", "bgcolor"]}
    assert both(tmp_path, rule, {"edit": red}, {"edit": red}) == 1.0
    assert both(tmp_path, rule, {}, {"edit": red}) == 0.0


def test_style_rule_applies_a_conditional_format(tmp_path: Path) -> None:
    def highlighted(ws: Any) -> None:
        ws.conditional_formatting.add("B2:B3", CellIsRule(operator="greaterThan", formula=["11"], font=Font(bold=True)))

    def bold_by_hand(ws: Any) -> None:
        ws["B3"].font = Font(bold=True)

    rule = {"type": "style", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["font_bold"]}
    assert both(tmp_path, rule, {"edit": highlighted}, {"edit": bold_by_hand}) == 1.0
    assert both(tmp_path, rule, {"edit": highlighted}, {}) == 0.0


def test_style_rule_fails_on_a_sheet_too_large_to_read_cell_by_cell(tmp_path: Path) -> None:
    def far(ws: Any) -> None:
        ws["XFD1048576"] = 1

    rule = {"type": "style", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["font_bold"]}
    assert both(tmp_path, rule, {"edit": far}) == 0.0


def test_freeze_compares_the_frozen_rows_and_columns(tmp_path: Path) -> None:
    def freeze(ws: Any) -> None:
        ws.freeze_panes = "B2"

    rule = {"type": "freeze", "sheet_idx0": 0, "sheet_idx1": "EI0"}
    assert both(tmp_path, rule, {"edit": freeze}, {"edit": freeze}) == 1.0
    assert both(tmp_path, rule, {}, {"edit": freeze}) == 0.0


def test_zoom_against_a_value_rule(tmp_path: Path) -> None:
    def zoom(ws: Any) -> None:
        ws.sheet_view.zoomScale = 150

    rule = {"type": "zoom", "sheet_idx": 0, "method": "ge", "ref": 140}
    assert both(tmp_path, rule, {"edit": zoom}) == 1.0
    assert both(tmp_path, rule, {}) == 0.0


def test_data_validation_matches_the_rules(tmp_path: Path) -> None:
    def listed(ws: Any) -> None:
        dv = DataValidation(type="list", formula1='"Low,High"')
        dv.add("C2:C3")
        ws.add_data_validation(dv)

    rule = {
        "type": "data_validation",
        "sheet_idx": 0,
        "dv_props": [
            {
                "type": {"method": "eq", "ref": "list"},
                "formula1": {"method": "str_set_eq", "ref": ["High", "Low"]},
                "sqref": {"method": "spreadsheet_range", "ref": ["C2:C3", "C1:C10"]},
            }
        ],
    }
    assert both(tmp_path, rule, {"edit": listed}) == 1.0
    assert both(tmp_path, rule, {}) == 0.0


def test_row_and_column_props(tmp_path: Path) -> None:
    def hide(ws: Any) -> None:
        ws.column_dimensions["B"].hidden = True
        ws.row_dimensions[3].hidden = True

    for kind in ("row_props", "col_props"):
        rule = {"type": kind, "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["hidden"]}
        assert both(tmp_path, rule, {"edit": hide}, {"edit": hide}) == 1.0
        assert both(tmp_path, rule, {}, {"edit": hide}) == 0.0


def test_filter_compares_the_auto_filter(tmp_path: Path) -> None:
    def filtered(ws: Any) -> None:
        ws.auto_filter.ref = "A1:B3"
        ws.auto_filter.add_filter_column(0, ["Ann"])

    rule = {"type": "filter", "sheet_idx0": 0, "sheet_idx1": "EI0"}
    assert both(tmp_path, rule, {"edit": filtered}, {"edit": filtered}) == 1.0
    assert both(tmp_path, rule, {}, {"edit": filtered}) == 0.0


def chart(kind: type, title: str) -> Callable[[Any], None]:
    def add(ws: Any) -> None:
        c = kind()
        c.title = title
        c.add_data(Reference(ws, min_col=2, min_row=1, max_row=3), titles_from_data=True)
        c.set_categories(Reference(ws, min_col=1, min_row=2, max_row=3))
        ws.add_chart(c, "D2")

    return add


def test_chart_compares_series_and_the_props_asked_for(tmp_path: Path) -> None:
    rule = {"type": "chart", "sheet_idx0": 0, "sheet_idx1": "EI0", "chart_props": ["type", "title"]}
    bar = {"edit": chart(BarChart, "Sales")}
    assert both(tmp_path, rule, bar, bar) == 1.0
    assert both(tmp_path, rule, {"edit": chart(LineChart, "Sales")}, bar) == 0.0
    assert both(tmp_path, rule, {"edit": chart(BarChart, "Other")}, bar) == 0.0
    assert both(tmp_path, rule, {}, bar) == 0.0


def pivot(subtotal: str) -> Callable[[Any], None]:
    """A pivot table of the sheet's data (names as rows, `subtotal` of sales) on the same sheet, at D1."""

    def add(ws: Any) -> None:
        source = CacheSource(type="worksheet", worksheetSource=WorksheetSource(ref="A1:B3", sheet=ws.title))
        fields = [
            CacheField(name="Name", sharedItems=SharedItems(count=2)),
            CacheField(name="Sales", sharedItems=SharedItems()),
        ]
        cache = CacheDefinition(cacheSource=source, cacheFields=fields)
        cache.records = RecordList()
        table = TableDefinition(
            name="Pivot",
            cacheId=1,
            dataCaption="Values",
            location=Location(ref="D1:E4", firstHeaderRow=1, firstDataRow=1, firstDataCol=1),
            pivotFields=[
                PivotField(axis="axisRow", items=[FieldItem(x=0), FieldItem(x=1), FieldItem(t="default")]),
                PivotField(dataField=True),
            ],
            rowFields=[RowColField(x=0)],
            dataFields=[DataField(name="Total", fld=1, subtotal=subtotal)],
        )
        table.cache = cache
        ws._pivots.append(table)

    return add


def test_pivot_table_compares_source_and_the_props_asked_for(tmp_path: Path) -> None:
    rule = {
        "type": "pivot_table",
        "sheet_idx0": 0,
        "sheet_idx1": "EI0",
        "pivot_props": ["row_fields", "data_fields", "location", "selection"],
    }
    summed = {"edit": pivot("sum")}
    assert both(tmp_path, rule, summed, summed) == 1.0
    assert both(tmp_path, rule, {"edit": pivot("count")}, summed) == 0.0
    assert both(tmp_path, rule, {}, summed) == 0.0


def with_sparkline(path: str, cells: str, data: str) -> None:
    """Adds a sparkline (which openpyxl cannot write) to the first sheet's XML."""
    ext = (
        '<extLst><ext uri="{05C60535-1F16-4fd2-B633-F4F36F0B64E0}" '
        'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        '<x14:sparklineGroups xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><x14:sparklineGroup>'
        f"<x14:sparklines><x14:sparkline><xm:f>{data}</xm:f><xm:sqref>{cells}</xm:sqref></x14:sparkline>"
        "</x14:sparklines></x14:sparklineGroup></x14:sparklineGroups></ext></extLst>"
    )
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"</worksheet>", ext.encode() + b"</worksheet>")
    with zipfile.ZipFile(path, "w") as target:
        for name, data_bytes in parts.items():
            target.writestr(name, data_bytes)


def test_sparklines_compare_cells_and_data(tmp_path: Path) -> None:
    rule = {"type": "sparkline", "sheet_idx0": 0, "sheet_idx1": "EI0"}
    result, expected = book(tmp_path / "result.xlsx"), book(tmp_path / "gold.xlsx")
    with_sparkline(expected, "C2", "Sheet1!B2:B3")
    assert compare_table(result, expected, rules=[rule]) == 0.0
    with_sparkline(result, "C2", "Sheet1!B2:B3")
    assert compare_table(result, expected, rules=[rule]) == 1.0
    other = book(tmp_path / "other.xlsx")
    with_sparkline(other, "C2", "Sheet1!A2:A3")
    assert compare_table(other, expected, rules=[rule]) == 0.0


def test_sheet_fuzzy_compares_ranges_with_normalisation(tmp_path: Path) -> None:
    rule = {
        "type": "sheet_fuzzy",
        "sheet_idx0": 0,
        "sheet_idx1": "EI0",
        "rules": [{"range": ["A2:A3"], "type": "exact_match", "ignore_case": True, "trim_trailings": " "}],
    }
    assert both(tmp_path, rule, {"rows": [["x"], ["ANN  "], ["bob"]]}, {"rows": [["x"], ["Ann"], ["Bob"]]}) == 1.0
    assert both(tmp_path, rule, {"rows": [["x"], ["Anne"], ["Bob"]]}, {"rows": [["x"], ["Ann"], ["Bob"]]}) == 0.0
    fuzzy = {**rule, "rules": [{"range": ["A2"], "type": "fuzzy_match", "threshold": 80}]}
    assert both(tmp_path, fuzzy, {"rows": [["x"], ["Annie"]]}, {"rows": [["x"], ["Anni"]]}) == 1.0


def test_sheet_print_reads_the_csv_exports_beside_the_workbooks(tmp_path: Path) -> None:
    rule = {"type": "sheet_print", "sheet_idx0": 0, "sheet_idx1": "EI0"}
    (tmp_path / "result-Sheet1.csv").write_text("Name,Sales\nAnn,10\n\n")
    (tmp_path / "gold-Sheet1.csv").write_text("Name,Sales\nAnn,10\n")
    assert both(tmp_path, rule, {}) == 1.0
    (tmp_path / "result-Sheet1.csv").write_text("Name,Sales\nAnn,11\n")
    assert both(tmp_path, rule, {}) == 0.0
    (tmp_path / "result-Sheet1.csv").unlink()
    assert both(tmp_path, rule, {}) == 0.0


def test_rules_must_all_hold(tmp_path: Path) -> None:
    result, expected = book(tmp_path / "r.xlsx"), book(tmp_path / "e.xlsx", sheets=("Other",))
    assert compare_table(result, expected, rules=[DATA]) == 1.0
    assert compare_table(result, expected, rules=[DATA, {"type": "sheet_name"}]) == 0.0


def test_a_missing_or_broken_result_scores_zero(tmp_path: Path) -> None:
    expected = book(tmp_path / "e.xlsx")
    broken = tmp_path / "broken.xlsx"
    broken.write_text("not a workbook")
    assert compare_table(str(broken), expected, rules=[DATA]) == 0.0
    assert compare_table(str(tmp_path / "none.xlsx"), expected, rules=[DATA]) == 0.0
    assert compare_table(None, expected, rules=[DATA]) == 0.0


@pytest.mark.parametrize(
    ("rules", "named"),
    [
        ([{"type": "colour"}], "rules[0].type"),
        ([{"type": "sheet_data", "sheet_idx0": 0}], "sheet_idx1"),
        ([{"type": "zoom", "sheet_idx": 0, "method": "about", "ref": 1}], "method"),
        ([{"type": "style", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["glow"]}], "rules[0].props"),
        ([{"type": "sheet_data", "sheet_idx0": "XX0", "sheet_idx1": 0}], "sheet reference"),
        ([], "rules"),
        ([{"type": "sheet_data", "sheet_idx0": "RIx", "sheet_idx1": 0}], "sheet reference"),
        (
            [{"type": "sheet_fuzzy", "sheet_idx0": 0, "sheet_idx1": "EI0", "rules": [{"range": ["A1"]}]}],
            "rules[0].rules[0]",
        ),
    ],
)
def test_malformed_rules_are_errors_naming_them(tmp_path: Path, rules: list[dict[str, Any]], named: str) -> None:
    result = book(tmp_path / "r.xlsx")
    with pytest.raises(JudgingError, match=re.escape(named)):
        compare_table(result, book(tmp_path / "e.xlsx"), rules=rules)


def test_an_expected_file_that_is_no_workbook_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "gold.xlsx").write_text("nope")
    with pytest.raises(JudgingError, match="expected"):
        compare_table(book(tmp_path / "r.xlsx"), str(tmp_path / "gold.xlsx"), rules=[DATA])


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_compare_csv(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.csv", "a,b\n1,2\n")
    assert compare_csv(write(tmp_path / "same.csv", "a,b\n1,2\n"), gold) == 1.0
    assert compare_csv(write(tmp_path / "other.csv", "a,b\n1,3\n"), gold) == 0.0
    spaced = write(tmp_path / "spaced.csv", "a,b \nA,2\n")
    assert compare_csv(spaced, write(tmp_path / "g2.csv", "a,b\na,2\n")) == 0.0
    assert compare_csv(spaced, str(tmp_path / "g2.csv"), strict=False, ignore_case=True) == 1.0
    assert (
        compare_csv(str(tmp_path / "same.csv"), [str(tmp_path / "missing.csv"), str(tmp_path / "other.csv"), gold])
        == 1.0
    )
    assert compare_csv(str(tmp_path / "missing.csv"), gold) == 0.0
    assert compare_csv(None, gold) == 0.0


def test_compare_csv_ignores_the_order_of_lines_when_asked(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.csv", "a,b\n1,2\n3,4\n")
    swapped = write(tmp_path / "swapped.csv", "3,4\na,b\n1,2\n")
    assert compare_csv(swapped, gold) == 0.0
    assert compare_csv(swapped, gold, ignore_order=True) == 1.0
    assert compare_csv(write(tmp_path / "fewer.csv", "3,4\na,b\n"), gold, ignore_order=True) == 0.0
