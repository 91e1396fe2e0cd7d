"""The desktop environment's checks (as OSWorld's evaluators judge), computed on the live session after the episode.

- `file`: a file of the session, by kind: text (`equals`, `contains`, `regex`), spreadsheet `cells`
  (`{"Sheet1!B2": 42}`, or `{"B2": 42}` for the first sheet; any format gnumeric's `ssconvert` reads: ods, xlsx,
  xls, gnumeric, csv) and CSV `rows` (the file's rows, or its first sheet's, compared cell by cell). Numbers
  compare as numbers (1e-6), other cells as trimmed text.
- `a11y`: an element with a role, name, text or states exists (or, with `present: false`, does not) in the
  running applications' accessibility trees.
- `shell`: a command's output in the session (`equals`, `contains`, `excludes` or `regex`), and/or its exit code.
- `answer_match`: the agent's answer (shared with the web environment, env_runners/answers.py).
- `osworld`: an OSWorld evaluator as published (functions of lbi/judging/registry.py joined with `conj`, getters of
  lbi/judging/getters.py, or `infeasible`) after its `postconfig` (getters.py judges it).
"""

from __future__ import annotations

import csv
import io
import re
import shlex
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from env_runners.base import Check, Verdict
from lbi.judging import registry
from lbi.judging.errors import JudgingError
from lbi.judging.getters import check_getters

CELL = re.compile(r"^(?:(?P<sheet>[^!]+)!)?\$?(?P<col>[A-Za-z]{1,3})\$?(?P<row>[0-9]{1,7})$")
FILE_CAP = 2_000_000


class FileCheck(Check):
    kind: Literal["file"] = "file"
    path: str = Field(min_length=1, description="The file, absolute or relative to the agent's home.")
    exists: bool = Field(True, description="Whether the file must exist (false: it must not).")
    equals: str | None = Field(None, description="The whole text (trailing whitespace ignored).")
    contains: list[str] = Field(default_factory=list, description="Phrases the text must contain.")
    regex: str | None = Field(None, description="A regular expression the text must match (search).")
    cells: dict[str, Any] = Field(default_factory=dict, description='Spreadsheet cells: {"Sheet1!B2": 42}.')
    rows: list[list[Any]] | None = Field(None, description="The table's rows (a CSV file or the first sheet).")

    @model_validator(mode="after")
    def _valid(self) -> FileCheck:
        for ref in self.cells:
            if not CELL.match(ref.strip()):
                raise ValueError(f"not a cell reference: {ref!r} (e.g. B2 or Sheet1!B2)")
        _compiles(self.regex)
        return self


class A11yCheck(Check):
    kind: Literal["a11y"] = "a11y"
    role: str | None = Field(None, description="The element's role (e.g. 'check menu item', 'table cell').")
    name: str | None = Field(None, description="Its name (contains, case and spaces ignored; exact with exact).")
    text: str | None = Field(None, description="Its text (contains; exact with exact).")
    states: list[str] = Field(default_factory=list, description="States it must have (e.g. checked, selected).")
    app: str | None = Field(None, description="Only in this application (its name or program).")
    exact: bool = Field(False, description="Compare name and text whole instead of contains.")
    present: bool = Field(True, description="false: no such element may exist.")

    @model_validator(mode="after")
    def _something(self) -> A11yCheck:
        if not (self.role or self.name or self.text is not None or self.states):
            raise ValueError("give role, name, text or states")
        return self


class ShellOutputCheck(Check):
    kind: Literal["shell"] = "shell"
    command: str = Field(min_length=1, description="Bash run in the session after the episode.")
    equals: str | None = Field(None, description="Its whole output (trailing whitespace ignored).")
    contains: list[str] = Field(default_factory=list, description="Phrases its output must contain.")
    regex: str | None = Field(None, description="A regular expression its output must match.")
    excludes: list[str] = Field(default_factory=list, description="Phrases its output must not contain.")
    exit_code: int | None = Field(None, description="The exit code it must end with.")

    @model_validator(mode="after")
    def _something(self) -> ShellOutputCheck:
        given = self.equals is not None or self.contains or self.regex is not None or self.excludes
        if not given and self.exit_code is None:
            raise ValueError("give equals, contains, excludes, regex or exit_code")
        _compiles(self.regex)
        return self


class OSWorldCheck(Check):
    kind: Literal["osworld"] = "osworld"
    evaluator: dict[str, Any] = Field(description="OSWorld's evaluator: func, conj, result, expected, options.")
    postconfig: str = Field("", description="Bash run in the session before judging (OSWorld's postconfig).")

    @field_validator("evaluator")
    @classmethod
    def _judgeable(cls, evaluator: dict[str, Any]) -> dict[str, Any]:
        evaluator = _whole_numbers(evaluator)
        try:
            registry.check_evaluator(evaluator)
            check_getters(evaluator)
        except JudgingError as exc:
            raise ValueError(str(exc)) from None
        return evaluator


def _whole_numbers(value: Any) -> Any:
    """`value` with whole floats as ints: a check that came through gRPC's Struct has only floats, and OSWorld's
    options take ints (a sheet's index, a cell's row)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def _compiles(regex: str | None) -> None:
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None


def text_verdict(
    what: str,
    text: str,
    equals: str | None,
    contains: list[str],
    regex: str | None,
    excludes: tuple[str, ...] | list[str] = (),
) -> Verdict:
    if equals is not None and text.rstrip() != equals.rstrip():
        return Verdict(False, f"{what} is {_short(text)}, expected {_short(equals)}")
    missing = [phrase for phrase in contains if phrase not in text]
    if missing:
        return Verdict(False, f"{what} does not contain {missing[0]!r}")
    present = [phrase for phrase in excludes if phrase in text]
    if present:
        return Verdict(False, f"{what} contains {present[0]!r}")
    if regex is not None and not re.search(regex, text, re.M):
        return Verdict(False, f"{what} does not match /{regex}/")
    return Verdict(True, f"{what} matches")


def _short(text: str) -> str:
    text = text.rstrip()
    return repr(text if len(text) <= 120 else text[:117] + "...")


def same_cell(got: str, want: Any) -> bool:
    got = (got or "").strip()
    if isinstance(want, bool):
        return got.upper() == str(want).upper()
    try:
        return abs(float(got) - float(want)) <= 1e-6 * max(1.0, abs(float(want)))
    except (TypeError, ValueError):
        return got == str("" if want is None else want).strip()


def column_index(letters: str) -> int:
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index - 1


def cells_verdict(sheets: dict[str, list[list[str]]], order: list[str], cells: dict[str, Any]) -> Verdict:
    """`sheets` by name (`order`: their order in the file), each a list of rows."""
    for ref, want in cells.items():
        match = CELL.match(ref.strip())
        assert match is not None
        sheet = match.group("sheet") or (order[0] if order else "")
        sheet = sheet.strip("'")
        if sheet not in sheets:
            return Verdict(False, f"the file has no sheet {sheet!r} (it has {', '.join(order) or 'none'})")
        rows = sheets[sheet]
        r, c = int(match.group("row")) - 1, column_index(match.group("col"))
        got = rows[r][c] if r < len(rows) and c < len(rows[r]) else ""
        if not same_cell(got, want):
            return Verdict(False, f"cell {ref} is {got!r}, expected {want!r}")
    return Verdict(True, f"{len(cells)} cell(s) match")


def rows_verdict(rows: list[list[str]], want: list[list[Any]]) -> Verdict:
    trimmed = [row for row in rows if any(cell.strip() for cell in row)]
    if len(trimmed) != len(want):
        return Verdict(False, f"the table has {len(trimmed)} non-empty rows, expected {len(want)}")
    for i, (got_row, want_row) in enumerate(zip(trimmed, want, strict=True)):
        padded = got_row + [""] * (len(want_row) - len(got_row))
        extra = [c for c in got_row[len(want_row) :] if c.strip()]
        if extra or not all(same_cell(g, w) for g, w in zip(padded, want_row, strict=False)):
            return Verdict(False, f"row {i + 1} is {got_row[:8]}, expected {want_row[:8]}")
    return Verdict(True, f"{len(want)} row(s) match")


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


SHEETS_MARK = "__lbi_sheet__"


def sheets_command(path: str) -> str:
    """Bash that prints every sheet of a spreadsheet as CSV, each after a marker line naming it (ssconvert)."""
    quoted = shlex.quote(path)
    return (
        f'(cd ~ && d=$(mktemp -d) && ssconvert -S --export-type=Gnumeric_stf:stf_csv {quoted} "$d/%n.%s.csv" '
        '>/dev/null 2>"$d/err"; rc=$?; (cd "$d" && printf "%s\\n" *.csv | sort -n | while IFS= read -r b; do '
        f'[ -f "$b" ] || continue; n=${{b#*.}}; printf "\\n{SHEETS_MARK} %s\\n" "${{n%.csv}}"; cat "$b"; done); '
        '[ $rc -ne 0 ] && tail -c 300 "$d/err"; rm -rf "$d"; exit $rc)'
    )


def parse_sheets(output: str) -> tuple[dict[str, list[list[str]]], list[str]]:
    sheets: dict[str, list[list[str]]] = {}
    order: list[str] = []
    for chunk in output.split(f"\n{SHEETS_MARK} ")[1:]:
        name, _, body = chunk.partition("\n")
        sheets[name] = parse_csv(body)
        order.append(name)
    return sheets, order
