"""Checks of plain files (text, JSON, configuration, prefs.js), of values, and OSWorld's value rules."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from lbi.judging import files, mail, values
from lbi.judging.documents import compare_docx_files
from lbi.judging.errors import JudgingError
from lbi.judging.rules import match_value_to_rule


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("value", "rule", "holds"),
    [
        (3, {"method": "eq", "ref": 3}, True),
        (3, {"method": "gt", "ref": 3}, False),
        (None, {"method": "lt", "ref": 3}, False),
        ("Dark theme", {"method": "re", "ref": "dark"}, False),
        ("Dark theme", {"method": "re.I", "ref": "dark"}, True),
        ("10.04", {"method": "approx:0.05", "ref": 10}, True),
        ("x", {"method": "approx:0.05", "ref": 10}, False),
        (2, {"method": "range.te", "ref": [0, 2]}, True),
        (0, {"method": "range.te", "ref": [0, 2]}, False),
        ('"a,b"', {"method": "str_list_eq", "ref": ["a", "b"]}, True),
        ("b,a", {"method": "str_set_eq", "ref": ["a", "b"]}, True),
        ("A1:A5", {"method": "spreadsheet_range", "ref": ["A2:A3", "A1:A9"]}, True),
        ("A1:A20", {"method": "spreadsheet_range", "ref": ["A2:A3", "A1:A9"]}, False),
    ],
)
def test_value_rules(value: Any, rule: dict[str, Any], holds: bool) -> None:
    assert match_value_to_rule(value, rule) is holds


@pytest.mark.parametrize("rule", [{"method": "about", "ref": 1}, {"ref": 1}, {"method": "re.NOPE", "ref": "x"}])
def test_an_unknown_rule_method_is_an_error(rule: dict[str, Any]) -> None:
    with pytest.raises(JudgingError, match="method"):
        match_value_to_rule(1, rule)


def test_compare_text_file(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.txt", "Hello  world\n")
    assert files.compare_text_file(write(tmp_path / "a.txt", "Hello  world\n"), gold) == 1.0
    spaced = write(tmp_path / "b.txt", "hello\tworld")
    assert files.compare_text_file(spaced, gold) == 0.0
    assert files.compare_text_file(spaced, gold, ignore_blanks=True, ignore_case=True) == 1.0
    assert files.compare_text_file(str(tmp_path / "missing.txt"), gold) == 0.0
    (tmp_path / "crlf.txt").write_bytes(b"Hello  world\r\n")
    assert files.compare_text_file(str(tmp_path / "crlf.txt"), gold) == 1.0
    with pytest.raises(JudgingError, match="expected"):
        files.compare_text_file(spaced, str(tmp_path / "no-gold.txt"))


def test_compare_config_is_the_whole_text(tmp_path: Path) -> None:
    path = write(tmp_path / "settings.conf", "a=1\n")
    assert files.compare_config(path, {"expected": "a=1\n"}) == 1.0
    assert files.compare_config(path, {"expected": "a=2\n"}) == 0.0
    assert files.compare_config(None, {"expected": "a=1\n"}) == 0.0


def test_check_list_with_expected_and_unexpected_patterns(tmp_path: Path) -> None:
    path = write(tmp_path / "list.txt", "alpha 1\nbeta 2\n")
    assert files.check_list(path, {"expect": [r"alpha \d", "beta"], "unexpect": ["gamma"]}) == 1.0
    assert files.check_list(path, {"expect": ["gamma"]}) == 0.0
    assert files.check_list(path, {"unexpect": ["^beta"]}) == 0.0
    with pytest.raises(JudgingError):
        files.check_list(path, {"expect": ["("]})


def test_check_json_and_yaml(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", json.dumps({"editor": {"fontSize": 14, "theme": "Dark+"}}))
    rules = {
        "expect": [{"key": ["editor", "fontSize"], "method": "eq", "ref": 14}],
        "unexpect": [{"key": ["editor", "wordWrap"], "method": "eq", "ref": "on"}],
    }
    assert files.check_json(path, rules) == 1.0
    assert files.check_json(path, {"expect": [{"key": ["editor", "size"], "method": "eq", "ref": 14}]}) == 0.0
    assert files.check_json(path, {"unexpect": [{"key": ["editor", "theme"], "method": "re", "ref": "Dark"}]}) == 0.0
    yml = write(tmp_path / "c.yaml", "server:\n  port: 8080\n")
    assert (
        files.check_json(yml, {"expect": [{"key": ["server", "port"], "method": "eq", "ref": 8080}]}, is_yaml=True)
        == 1.0
    )
    assert files.check_json(write(tmp_path / "bad.json", "{"), rules) == 0.0
    with pytest.raises(JudgingError, match="key"):
        files.check_json(path, {"expect": [{"key": "editor", "method": "eq", "ref": 1}]})


def test_check_json_settings(tmp_path: Path) -> None:
    path = write(tmp_path / "settings.json", '{"files.autoSave": "afterDelay", "x": 1}')
    assert files.check_json_settings(path, {"expected": {"files.autoSave": "afterDelay"}}) == 1.0
    assert files.check_json_settings(path, {"expected": {"files.autoSave": "off"}}) == 0.0
    assert files.check_json_settings(write(tmp_path / "bad.json", "no"), {"expected": {"x": 1}}) == 0.0


def test_check_config_status_reads_gimp_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "gimprc", '# GIMP\n(theme "Dark")\n(default-view (show-menubar no))\n')
    assert files.check_config_status(path, {"key": "theme", "value": '"Dark"'}) == 1.0
    assert files.check_config_status(path, {"key": ["default-view", "(show-menubar"], "value": "no"}) == 1.0
    assert files.check_config_status(path, {"key": "theme", "value": '"Light"'}) == 0.0


def test_check_thunderbird_prefs(tmp_path: Path) -> None:
    prefs = write(
        tmp_path / "prefs.js",
        'user_pref("mail.a", true);\nuser_pref("extensions.activeThemeID", '
        '"thunderbird-compact-dark@mozilla.org");\nuser_pref("mail.b", 3);\n',
    )
    assert (
        mail.check_thunderbird_prefs(
            prefs,
            {
                "expect": {
                    "mail.a": {"method": "eq", "ref": True},
                    "extensions.activeThemeID": {"method": "re", "ref": "dark"},
                },
                "unexpect": {"mail.b": {"method": "eq", "ref": 4}},
            },
        )
        == 1.0
    )
    assert mail.check_thunderbird_prefs(prefs, {"expect": {"mail.missing": {"method": "eq", "ref": True}}}) == 0.0
    assert mail.check_thunderbird_prefs(prefs, {"unexpect": {"mail.b": {"method": "eq", "ref": 3}}}) == 0.0
    assert mail.check_thunderbird_prefs(None, {}) == 0.0


def test_exact_and_list_matches() -> None:
    assert values.exact_match("true", {"expected": "true"}) == 1.0
    assert values.exact_match("false", {"expected": "true"}) == 0.0
    assert values.match_in_list("b", {"expected": ["a", "b"]}) == 1.0
    assert values.match_in_list("c", {"expected": ["a", "b"]}) == 0.0
    assert values.is_in_list(["a", "b"], {"expected": "b"}) == 1.0
    assert values.is_in_list(None, {"expected": "b"}) == 0.0
    assert values.literal_match(["A", 1], ["a", "1"], type="list", ignore_case=True) == 1.0
    assert values.literal_match("A", "a") == 0.0
    assert values.fuzzy_match("colour", {"expected": "color"}) == pytest.approx(0.909, abs=0.01)
    with pytest.raises(JudgingError, match="expected"):
        values.exact_match("x", {})


def test_check_include_exclude() -> None:
    rules = {"include": ["43 132"], "exclude": ["error"]}
    assert values.check_include_exclude("rows 43 132\n", rules) == 1.0
    assert values.check_include_exclude("43 132 error", rules) == 0.0
    assert values.check_include_exclude("40 100", rules) == 0.0
    assert values.check_include_exclude(None, rules) == 0.0
    assert values.check_include_exclude(["43 132", "ok"], rules) == 1.0
    assert values.check_include_exclude(["43 1320"], rules) == 0.0


def test_check_direct_json_object() -> None:
    rules = {"expected": {"name": "Ann", "tags": ["b", "a"]}}
    assert values.check_direct_json_object({"name": "Ann", "tags": ["b", "a"], "x": 1}, rules) == 1.0
    assert values.check_direct_json_object("{'name': 'Ann', 'tags': ['b', 'a']}", rules) == 1.0
    assert values.check_direct_json_object({"name": "Ann", "tags": ["a", "b"]}, rules) == 0.0
    unordered = {"expected": {"tags": ["b", "a"], "ignore_list_order": True}}
    assert values.check_direct_json_object({"tags": ["a", "b"]}, unordered) == 1.0
    contained = {"expected": {"title": "Ann", "city": ["Paris", "Lyon"]}, "expect_in_result": True}
    assert values.check_direct_json_object({"title": "Dr Ann", "city": "Lyon"}, contained) == 1.0
    assert values.check_direct_json_object({"title": "Dr Bob", "city": "Lyon"}, contained) == 0.0
    assert values.check_direct_json_object("not json", rules) == 0.0
    assert values.check_direct_json_object({"name": "x"}, {"expected": {"name": "__EVALUATION_FAILED__"}}) == 0.0


def test_is_extension_installed() -> None:
    listing = "ms-python.python\nundefined_publisher.test\n"
    assert values.is_extension_installed(listing, {"type": "contain", "expected": "undefined_publisher.test"}) == 1.0
    assert values.is_extension_installed(listing, {"type": "not_contain", "expected": "ms-python.python"}) == 0.0
    with pytest.raises(JudgingError, match="type"):
        values.is_extension_installed(listing, {"type": "has", "expected": "x"})


def test_a_document_that_would_unpack_too_large_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"0" * 3_000_000)
    monkeypatch.setattr(files, "PACKAGE_CAP", 2_000_000)
    with pytest.raises(ValueError, match="unpacks"):
        files.ensure_small_package(str(bomb))
    gold = tmp_path / "gold.docx"
    Document().save(str(gold))
    assert compare_docx_files(str(bomb), str(gold)) == 0.0
    with pytest.raises(JudgingError, match="expected"):
        compare_docx_files(str(gold), str(bomb))
