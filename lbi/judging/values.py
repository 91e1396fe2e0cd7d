"""Checks of values a getter read (a command's output, an application's setting, a JSON object) against rules:
`exact_match`, `match_in_list`, `is_in_list`, `literal_match`, `fuzzy_match`, `check_include_exclude`,
`check_direct_json_object` and `is_extension_installed`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rapidfuzz import fuzz

from lbi.judging.errors import JudgingError

EVALUATION_FAILED = "__EVALUATION_FAILED__"


def rule_value(rules: Mapping[str, Any], key: str) -> Any:
    if not isinstance(rules, Mapping) or key not in rules:
        raise JudgingError(f"expected.rules.{key}: missing")
    return rules[key]


def exact_match(result: Any, rules: Mapping[str, Any]) -> float:
    """1.0 if the value equals `rules["expected"]`."""
    return float(result == rule_value(rules, "expected"))


def match_in_list(result: Any, rules: Mapping[str, Any]) -> float:
    """1.0 if the value is one of `rules["expected"]`."""
    expected = rule_value(rules, "expected")
    try:
        return float(result in expected)
    except TypeError:
        return 0.0


def is_in_list(result: Any, rules: Mapping[str, Any]) -> float:
    """1.0 if the value (a list or a text) contains `rules["expected"]`."""
    expected = rule_value(rules, "expected")
    try:
        return float(result is not None and expected in result)
    except TypeError:
        return 0.0


def literal_match(result: Any, expected: Any, *, type: str = "str", ignore_case: bool = False) -> float:
    """1.0 if the value's text equals the expected one (`type="list"`: item by item)."""

    def text(value: Any) -> str:
        return str(value).lower() if ignore_case else str(value)

    if type == "str":
        return float(text(result) == text(expected))
    if type == "list":
        if not isinstance(result, list | tuple) or not isinstance(expected, list | tuple):
            return 0.0
        return float([text(v) for v in result] == [text(v) for v in expected])
    raise JudgingError(f"options.type: {type!r} is not str or list")


def fuzzy_match(result: Any, rules: Mapping[str, Any]) -> float:
    """The similarity (0..1) of the value's text and `rules["expected"]`."""
    expected = rule_value(rules, "expected")
    return fuzz.ratio(str(result), str(expected)) / 100.0 if result is not None else 0.0


def check_include_exclude(result: Any, rules: Mapping[str, Any]) -> float:
    """1.0 if the text (or list) contains every `include` phrase (item) and none of the `exclude` ones."""
    include, exclude = rules.get("include", []), rules.get("exclude", [])
    if not all(isinstance(p, str) for p in [*include, *exclude]):
        raise JudgingError("expected.rules.include/exclude: lists of phrases")
    if result is None:
        return 0.0
    found = result if isinstance(result, str | list | tuple) else str(result)
    return float(all(p in found for p in include) and not any(p in found for p in exclude))


def check_direct_json_object(result: Any, rules: Mapping[str, Any]) -> float:
    """1.0 if the JSON object (or its text, single quotes allowed) has every key of `rules["expected"]` with the same
    value (`ignore_list_order` among the expected keys: lists compared sorted). With `expect_in_result`: an expected
    text must be contained in the result's, and an expected list must hold the result's value (or one of its
    items)."""
    expected = rule_value(rules, "expected")
    if not isinstance(expected, Mapping):
        raise JudgingError("expected.rules.expected: an object")
    if isinstance(result, str):
        try:
            result = json.loads(result.strip().replace("'", '"'))
        except ValueError:
            return 0.0
    if not isinstance(result, Mapping) or EVALUATION_FAILED in expected.values():
        return 0.0
    if rules.get("expect_in_result", False):
        return float(all(_contains(result.get(k), v) for k, v in expected.items()))
    ignore_order = bool(expected.get("ignore_list_order"))
    keys = [k for k in expected if k != "ignore_list_order"]
    return float(all(_same(result.get(k), expected[k], ignore_order) for k in keys))


def _same(actual: Any, expected: Any, ignore_order: bool) -> bool:
    if not ignore_order:
        return bool(actual == expected)
    try:
        return sorted(actual) == sorted(expected)
    except TypeError:
        return False


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(expected, list):
        return any(
            (isinstance(actual, list) and e in actual) or (isinstance(actual, str) and e == actual) for e in expected
        )
    if isinstance(expected, str):
        return isinstance(actual, str) and expected in actual
    return False


def is_extension_installed(result: str | None, rules: Mapping[str, Any]) -> float:
    """`type` contain: 1.0 if the output contains `expected`; not_contain: 1.0 if it does not."""
    kind, expected = rules.get("type"), rule_value(rules, "expected")
    if kind not in ("contain", "not_contain"):
        raise JudgingError(f"expected.rules.type: {kind!r} is not contain or not_contain")
    found = result is not None and expected in result
    return float(found if kind == "contain" else not found)
