"""Mail checks: `check_thunderbird_prefs`, Thunderbird's preferences (its profile's prefs.js) against value
rules."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from lbi.judging.files import text_or_none
from lbi.judging.rules import check_rule, match_value_to_rule

PREF = re.compile(r'^user_pref\("(?P<key>(?:[^"]|\\")+)", (?P<val>.+)\);$')


def check_thunderbird_prefs(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if, in Thunderbird's prefs.js, every `expect` preference is set and satisfies its value rule, and no
    `unexpect` preference that is set satisfies its rule."""
    expect, unexpect = rules.get("expect", {}), rules.get("unexpect", {})
    for where, table in (("expect", expect), ("unexpect", unexpect)):
        for key, rule in dict(table).items():
            check_rule(rule, f"rules.{where}.{key}")
    text = text_or_none(result)
    if text is None:
        return 0.0
    met = dict.fromkeys(expect, False)
    for line in text.splitlines():
        match = PREF.match(line.strip())
        if match is None:
            continue
        key = match.group("key")
        try:
            value = json.loads(match.group("val"))
        except ValueError:
            continue
        if key in expect:
            met[key] = match_value_to_rule(value, expect[key])
        elif key in unexpect and match_value_to_rule(value, unexpect[key]):
            return 0.0
    return float(all(met.values()))
