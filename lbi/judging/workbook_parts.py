"""What `compare_table`'s rules read from an xlsx workbook, each as a plain value to compare with `==`.

Stored cell values are read from the sheet's XML (the values LibreOffice or Excel saved, formulas' cached results;
numbers as floats), as OSWorld reads them; everything else through openpyxl: cell styles (and conditional formats
that apply), charts, pivot tables, auto-filters, row and column dimensions, freeze panes; sparklines (which openpyxl
drops) from the sheet's XML.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterable
from typing import Any
from xml.etree import ElementTree

from openpyxl.cell.cell import MergedCell
from openpyxl.utils import coordinate_to_tuple
from openpyxl.worksheet.worksheet import Worksheet

from lbi.judging.errors import JudgingError

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
X14 = "{http://schemas.microsoft.com/office/spreadsheetml/2009/9/main}"
XM = "{http://schemas.microsoft.com/office/excel/2006/main}"

CELL_STYLES = (
    "number_format",
    "font_name",
    "font_family",
    "font_color",
    "font_bold",
    "font_italic",
    "font_underline",
    "font_size",
    "fill_type",
    "bgcolor",
    "fgcolor",
    "hyperlink",
    "merge",
)
CHART_PROPS = ("title", "anchor", "legend", "width", "height", "type", "direction", "xtitle", "ytitle", "ztitle")
ROW_PROPS = ("hidden", "collapsed", "height", "outlineLevel", "outline_level")
COLUMN_PROPS = ("width", "auto_size", "hidden", "collapsed", "min", "max", "outlineLevel", "outline_level")
STYLED_CELLS_CAP = 2_000_000
PIVOT_PROPS = (
    "name",
    "show_total",
    "show_empty_row",
    "show_empty_col",
    "show_headers",
    "location",
    "selection",
    "filter",
    "ordered",
    "col_fields",
    "row_fields",
    "data_fields",
    "data_fields_name",
    "ignore_special_fields",
)


def _sheet_xml(path: str, sheet: str) -> ElementTree.Element | None:
    """The XML of the sheet named `sheet` (through the workbook's relationships), or None."""
    with zipfile.ZipFile(path) as book:
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{PKG_REL}Relationship")}
        for entry in workbook.iter(f"{MAIN}sheet"):
            if entry.get("name") == sheet:
                target = targets.get(entry.get(f"{REL}id"), "")
                part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
                return ElementTree.fromstring(book.read(part))
    return None


def _shared_strings(path: str) -> list[str]:
    with zipfile.ZipFile(path) as book:
        if "xl/sharedStrings.xml" not in book.namelist():
            return []
        root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in si.iter(f"{MAIN}t")) for si in root.iter(f"{MAIN}si")]


def stored_values(path: str, sheet: str) -> dict[str, Any]:
    """Every stored cell value of a sheet by coordinate ({} when the file or sheet cannot be read).

    As OSWorld reads them: numbers as floats, shared and inline strings and formula texts as text, errors as their
    code; booleans and cells without a value as None."""
    try:
        root = _sheet_xml(path, sheet)
        strings = _shared_strings(path) if root is not None else []
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return {}
    if root is None:
        return {}
    values: dict[str, Any] = {}
    for cell in root.iter(f"{MAIN}c"):
        values[cell.get("r", "")] = _stored_value(cell, strings)
    return values


def _stored_value(cell: ElementTree.Element, strings: list[str]) -> Any:
    kind = cell.get("t", "n")
    v = cell.find(f"{MAIN}v")
    text = v.text if v is not None else None
    try:
        if kind == "n":
            return float(text) if text is not None else None
        if kind == "s":
            return strings[int(text or "")]
        if kind in ("str", "e"):
            return text
        if kind == "inlineStr":
            return "".join(t.text or "" for t in cell.iter(f"{MAIN}t"))
    except (ValueError, IndexError):
        return None
    return None


def sparklines(path: str, sheet: str) -> dict[str, str]:
    """A sheet's sparklines: the cells they are drawn in -> the data they show."""
    try:
        root = _sheet_xml(path, sheet)
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return {}
    if root is None:
        return {}
    return {line.findtext(f"{XM}sqref", ""): line.findtext(f"{XM}f", "") for line in root.iter(f"{X14}sparkline")}


def cell_style(name: str, cell: Any, diff_style: Any = None) -> Any:
    """One style property of a cell (or of the differential style a conditional format gives it)."""
    source = diff_style or cell
    has_value = cell.value is not None
    if name == "number_format":
        if not has_value or cell.data_type != "n":
            return None
        return diff_style.numFmt.formatCode if diff_style is not None and diff_style.numFmt else cell.number_format
    if name.startswith("font_"):
        if not has_value or source.font is None:
            return None
        if name == "font_color":
            return source.font.color.rgb if source.font.color is not None else None
        return getattr(
            source.font,
            {
                "font_name": "name",
                "font_family": "family",
                "font_bold": "b",
                "font_italic": "i",
                "font_underline": "u",
                "font_size": "sz",
            }[name],
        )
    if name == "fill_type":
        return source.fill.tagname if source.fill is not None else None
    if name in ("bgcolor", "fgcolor"):
        if diff_style is not None:
            return diff_style.fill.bgColor.rgb if diff_style.fill is not None else None
        return cell.fill.fgColor.rgb
    if name == "hyperlink":
        return (cell.hyperlink or "") if has_value else None
    if name == "merge":
        return isinstance(cell, MergedCell)
    raise JudgingError(f"props: {name!r} is not a cell style lbi reads (one of {', '.join(CELL_STYLES)})")


def cell_styles(sheet: Worksheet, values: dict[str, Any], props: list[str]) -> dict[str, list[Any]] | None:
    """Every cell's `props` (None for a sheet whose used area is over 2 million cells); where a conditional format
    applies (to a cell with a stored value), its style's props instead. Only cells with values are tested against a
    conditional format, so one over whole columns costs what the data costs."""
    if sheet.max_row * sheet.max_column > STYLED_CELLS_CAP:
        return None
    styles = {c.coordinate: [cell_style(p, c) for p in props] for column in sheet.iter_cols() for c in column}
    filled = [(coordinate, value) for coordinate, value in values.items() if value is not None]
    for formatting in sheet.conditional_formatting:
        for rule in formatting.rules:
            applies = _condition(rule)
            for coordinate, value in filled:
                if coordinate in formatting.sqref and applies(value):
                    styles[coordinate] = [cell_style(p, sheet[coordinate], rule.dxf) for p in props]
    return styles


def _condition(rule: Any) -> Any:
    """Whether a conditional-format rule applies to a value: `cellIs` with constant operands and the text rules;
    formulas lbi does not evaluate are refused."""
    if rule.type == "cellIs":
        refs = [_constant(f) for f in rule.formula]
        return lambda v: _cell_is(rule.operator, v, refs)
    text = (rule.text or "").lower()
    tests = {
        "containsText": lambda v: text in str(v).lower(),
        "notContainsText": lambda v: text not in str(v).lower(),
        "beginsWith": lambda v: str(v).lower().startswith(text),
        "endsWith": lambda v: str(v).lower().endswith(text),
    }
    if rule.type in tests and rule.text is not None:
        return tests[rule.type]
    raise JudgingError(f"rules.style: a conditional format of type {rule.type!r} (a formula lbi does not evaluate)")


def _constant(formula: str) -> Any:
    text = formula.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    try:
        return float(text)
    except ValueError:
        raise JudgingError(f"rules.style: conditional format operand {formula!r} is not a constant") from None


def _cell_is(op: str, value: Any, refs: list[Any]) -> bool:
    try:
        low, high = (min(refs), max(refs)) if len(refs) > 1 else (refs[0], refs[0])
        tests = {
            "lessThan": value < refs[0],
            "lessThanOrEqual": value <= refs[0],
            "equal": value == refs[0],
            "notEqual": value != refs[0],
            "greaterThan": value > refs[0],
            "greaterThanOrEqual": value >= refs[0],
            "between": low <= value <= high,
            "notBetween": value < low or value > high,
        }
    except (TypeError, IndexError):
        return False
    return bool(tests.get(op, False))


def charts(sheet: Worksheet, props: Iterable[str]) -> dict[str, dict[str, Any]]:
    """A sheet's charts by their data series ("values,categories;..."), each with the properties asked for."""
    wanted = set(props)
    found: dict[str, dict[str, Any]] = {}
    for chart in sheet._charts:
        series = ";".join(f"{_ref(s.val)},{_ref(s.cat)}" for s in chart.series)
        info: dict[str, Any] = {}
        if "title" in wanted:
            info["title"] = _rich_text(chart.title)
        if "legend" in wanted:
            info["legend"] = chart.legend.position if chart.legend is not None else None
        if "anchor" in wanted:
            anchor = chart.anchor
            info["anchor"] = [anchor.editAs, anchor._from.col, anchor._from.row, anchor.to.col, anchor.to.row]
        for prop, attribute in (("width", "width"), ("height", "height"), ("type", "tagname"), ("direction", "barDir")):
            if prop in wanted:
                info[prop] = getattr(chart, attribute, None)
        for axis in ("x", "y", "z"):
            if f"{axis}title" in wanted:
                info[f"{axis}title"] = _rich_text(getattr(getattr(chart, f"{axis}_axis", None), "title", None))
        found[series] = info
    return found


def _ref(data: Any) -> str:
    for kind in ("numRef", "strRef"):
        ref = getattr(data, kind, None)
        if ref is not None and getattr(ref, "f", None):
            return str(ref.f)
    return ""


def _rich_text(title: Any) -> str | None:
    try:
        return str(title.tx.rich.p[0].r[0].t)
    except (AttributeError, IndexError, TypeError):
        return None


def pivot_tables(sheet: Worksheet, props: Iterable[str]) -> dict[str, dict[str, Any]]:
    """A sheet's pivot tables by their source ("type;(row, col):(row, col);sheet"), each with the properties asked
    for; field indices count from the first field that has items, as OSWorld counts them."""
    wanted = set(props)
    found: dict[str, dict[str, Any]] = {}
    for pivot in sheet._pivots:
        selections = [[(item.h, item.x) for item in field.items if item.x is not None] for field in pivot.pivotFields]
        left = next((i for i, s in enumerate(selections) if s), len(selections))
        right = next((i for i, s in enumerate(reversed(selections)) if s), 0)
        selection = selections[left : len(selections) - right]
        source = pivot.cache.cacheSource
        first, last = source.worksheetSource.ref.split(":")
        (r1, c1), (r2, c2) = coordinate_to_tuple(first), coordinate_to_tuple(last)
        key = f"{source.type};{(r1, c1 + left)}:{(r2, c2 - right)};{source.worksheetSource.sheet}"
        found[key] = _pivot_info(pivot, wanted, selection, left)
    return found


def _pivot_info(pivot: Any, wanted: set[str], selection: list[list[Any]], left: int) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for prop, attribute in (
        ("name", "name"),
        ("show_total", "visualTotals"),
        ("show_empty_row", "showEmptyRow"),
        ("show_empty_col", "showEmptyCol"),
        ("show_headers", "showHeaders"),
    ):
        if prop in wanted:
            info[prop] = getattr(pivot, attribute)
    if "location" in wanted:
        where = pivot.location
        info["location"] = (where.ref, where.firstHeaderRow, where.firstDataRow, where.firstDataCol)
    if "filter" in wanted or "selection" in wanted:
        info["selection"] = selection if "ordered" in wanted else [set(s) for s in selection]
    if "filter" in wanted:
        info["filter_fields"] = {f.fld for f in pivot.pageFields}
    for prop, fields in (("col_fields", pivot.colFields), ("row_fields", pivot.rowFields)):
        if prop in wanted:
            indices = [f.x - left for f in fields]
            info[prop] = [i for i in indices if i >= 0] if "ignore_special_fields" in wanted else indices
    if "data_fields" in wanted:
        named = "data_fields_name" in wanted
        info["data_fields"] = [
            f"{f.fld - left};{f.name if named else ''};{f.subtotal};{f.showDataAs}" for f in pivot.dataFields
        ]
    return info


def dimensions(sheet: Worksheet, obj: str, props: Iterable[str]) -> dict[Any, dict[str, Any]]:
    """Row (`obj="row"`) or column dimensions that the sheet records, each with the properties asked for
    (rows: hidden, collapsed, height; columns: width, auto_size, hidden, collapsed, min, max)."""
    holder = sheet.row_dimensions if obj == "row" else sheet.column_dimensions
    names = list(props)
    return {key: {p: getattr(dim, p) for p in names} for key, dim in holder.items()}


def auto_filter(sheet: Worksheet) -> dict[str, Any]:
    """The sheet's auto-filter: its range, its filter columns and its sort state."""
    flt = sheet.auto_filter
    columns = []
    for column in flt.filterColumn:
        entry: dict[str, Any] = {
            "col_id": column.colId,
            "hidden_button": column.hiddenButton,
            "show_button": column.showButton,
        }
        if column.filters is not None:
            entry["filters_blank"] = column.filters.blank
            entry["filters"] = set(column.filters.filter)
        if column.customFilters is not None:
            entry["custom_filters_op"] = column.customFilters._and
            entry["custom_filters"] = {(f.operator, f.val) for f in column.customFilters.customFilter}
        columns.append(entry)
    found: dict[str, Any] = {"ref": flt.ref, "filter_column": sorted(columns, key=lambda c: c["col_id"])}
    state = flt.sortState
    if state is not None:
        found["sort_state"] = {
            "sort": state.columnSort,
            "case": state.caseSensitive,
            "method": state.sortMethod,
            "ref": state.ref,
            "condition": [
                {
                    "descending": c.descending,
                    "key": c.sortBy,
                    "ref": c.ref,
                    "custom_list": c.customList,
                    "dxf_id": c.dxfId,
                    "icon": c.iconSet,
                    "iconid": c.iconId,
                }
                for c in state.sortCondition
            ],
        }
    return found


def freeze_key(sheet: Worksheet) -> tuple[Any, ...]:
    """Where the sheet is frozen (columns and rows), independent of where the view is scrolled."""
    pane = sheet.sheet_view.pane
    if pane is None:
        return ("none",)
    columns, rows = int(pane.xSplit or 0), int(pane.ySplit or 0)
    if (pane.state or "").lower() in ("frozen", "frozensplit"):
        return ("frozen", columns, rows)
    return ("other", columns, rows, pane.topLeftCell)
