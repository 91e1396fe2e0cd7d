"""Checks of plain files: text (`compare_text_file`, `compare_config`, `check_list`), JSON and YAML (`check_json`,
`check_json_settings`) and GIMP's configuration lines (`check_config_status`). A missing or unreadable result
file scores 0."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Mapping
from typing import Any

import yaml

from lbi.judging.errors import JudgingError
from lbi.judging.rules import check_rule, match_value_to_rule

ENCODINGS = ("utf-8-sig", "latin-1")
PACKAGE_CAP = 256 * 1024 * 1024


def ensure_small_package(path: str) -> str:
    """The path of a zip-based document (xlsx, docx, pptx, odt); ValueError when it would unpack to more than
    256 MiB (a planted zip bomb must not take the judge's memory)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as package:
            if sum(info.file_size for info in package.infolist()) > PACKAGE_CAP:
                raise ValueError(f"{path} unpacks to more than {PACKAGE_CAP} bytes")
    return path


def read_text(path: str) -> str:
    """A text file's content as Python's text mode reads it (line ends as "\n"): UTF-8 (a byte-order mark
    dropped), or Latin-1 when it is not UTF-8."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode(ENCODINGS[0])
    except UnicodeDecodeError:
        text = data.decode(ENCODINGS[1])
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_lines(path: str) -> list[str]:
    return read_text(path).splitlines()


def text_or_none(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return read_text(path)
    except OSError:
        return None


def compare_text_file(
    result: str | None, expected: str, *, ignore_blanks: bool = False, ignore_case: bool = False
) -> float:
    """1.0 if the two files' texts are equal (`ignore_blanks`: runs of white space count as one space)."""
    actual = text_or_none(result)
    if actual is None:
        return 0.0
    gold = _gold_text(expected)
    if ignore_blanks:
        actual, gold = (re.sub(r"\s+", " ", re.sub(r"[\t\n]", " ", t).strip()) for t in (actual, gold))
    if ignore_case:
        actual, gold = actual.lower(), gold.lower()
    return float(actual == gold)


def _gold_text(expected: str) -> str:
    try:
        return read_text(expected)
    except OSError as e:
        raise JudgingError(f"expected: cannot read {expected} ({e.strerror})") from None


def compare_config(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if the file's whole text is `rules["expected"]`."""
    if not isinstance(rules.get("expected"), str):
        raise JudgingError("expected.rules.expected: the configuration text to compare with")
    return float(text_or_none(result) == rules["expected"])


def check_list(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if every `expect` regular expression matches some line of the file and no `unexpect` one matches any."""
    try:
        expect = [re.compile(p) for p in rules.get("expect", [])]
        unexpect = [re.compile(p) for p in rules.get("unexpect", [])]
    except (re.error, TypeError) as e:
        raise JudgingError(f"expected.rules: not a regular expression ({e})") from None
    text = text_or_none(result)
    if text is None:
        return 0.0
    lines = text.splitlines(keepends=True)
    found = all(any(p.search(line) for line in lines) for p in expect)
    return float(found and not any(p.search(line) for p in unexpect for line in lines))


def check_json(result: str | None, rules: Mapping[str, Any], *, is_yaml: bool = False) -> float:
    """1.0 if, in the JSON (or YAML) file, the value at each `expect` rule's `key` path satisfies the rule and the
    value at each `unexpect` rule's path (None when absent) does not."""
    for where in ("expect", "unexpect"):
        for i, rule in enumerate(rules.get(where, [])):
            check_rule(rule, f"rules.{where}[{i}]")
            if not isinstance(rule.get("key"), list):
                raise JudgingError(f"rules.{where}[{i}].key: a list of keys (the path to the value)")
    text = text_or_none(result)
    if text is None:
        return 0.0
    try:
        data = yaml.safe_load(text) if is_yaml else json.loads(text)
    except (ValueError, yaml.YAMLError):
        return 0.0
    missing = object()
    for rule in rules.get("expect", []):
        value = _at(data, rule["key"], missing)
        if value is missing or not match_value_to_rule(value, rule):
            return 0.0
    for rule in rules.get("unexpect", []):
        value = _at(data, rule["key"], None)
        if match_value_to_rule(value, rule):
            return 0.0
    return 1.0


def _at(data: Any, path: list[Any], default: Any) -> Any:
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return default
    return data


def check_json_settings(result: str | None, expected: Mapping[str, Any]) -> float:
    """1.0 if the JSON settings file has every key of `expected["expected"]` with the same value."""
    wanted = expected.get("expected")
    if not isinstance(wanted, Mapping):
        raise JudgingError("expected.rules.expected: an object of settings")
    text = text_or_none(result)
    try:
        data = json.loads(text) if text is not None else None
    except ValueError:
        return 0.0
    return float(isinstance(data, dict) and all(k in data and data[k] == v for k, v in wanted.items()))


def check_config_status(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if a line of a GIMP configuration file, `(key [subkey] ... value)`, has the `key` (or the pair of keys)
    and ends with `value`."""
    key, value = rules.get("key"), rules.get("value")
    if not (isinstance(key, str) or (isinstance(key, list) and len(key) == 2)):
        raise JudgingError("expected.rules.key: a key, or a pair of keys")
    text = text_or_none(result)
    if text is None:
        return 0.0
    keys = [key] if isinstance(key, str) else key
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        items = line.strip().lstrip("(").rstrip(")").split()
        if len(items) > len(keys) and items[: len(keys)] == keys and items[-1] == value:
            return 1.0
    return 0.0
