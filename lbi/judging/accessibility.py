"""`check_accessibility_tree`: elements of a desktop's accessibility tree (OSWorld's XML form) found by CSS
selectors or XPath, optionally with an expected text (exact, or the best fuzzy ratio among the elements found).
The score is the product of the rules' scores; a rule that finds nothing scores 0."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lxml import etree
from lxml.cssselect import CSSSelector, SelectorError
from rapidfuzz import fuzz

from lbi.judging.errors import JudgingError

_ATTRIBUTES = (
    ("st", "state"),
    ("attr", "attributes"),
    ("cp", "component"),
    ("doc", "document"),
    ("docattr", "document/attributes"),
    ("txt", "text"),
    ("val", "value"),
    ("act", "action"),
)
NAMESPACES = {
    osname: {prefix: f"https://accessibility.{osname}.example.org/ns/{path}" for prefix, path in _ATTRIBUTES}
    for osname in ("ubuntu", "windows", "macos")
}
NAMESPACES["windows"]["class"] = "https://accessibility.windows.example.org/ns/class"
NAMESPACES["macos"]["role"] = "https://accessibility.macos.example.org/ns/role"
del NAMESPACES["macos"]["docattr"]


def _elements(tree: Any, rule: Mapping[str, Any], namespaces: dict[str, str], where: str) -> list[Any]:
    try:
        if "xpath" in rule:
            found = tree.xpath(rule["xpath"], namespaces=namespaces)
            return list(found) if isinstance(found, list) else []
        if "selectors" in rule:
            return list(CSSSelector(", ".join(rule["selectors"]), namespaces=namespaces)(tree))
    except (etree.XPathError, SelectorError, TypeError) as e:
        raise JudgingError(f"{where}: not a selector lbi can apply ({e})") from None
    raise JudgingError(f"{where}: a rule needs `xpath` or `selectors`")


def check_accessibility_tree(
    result: str | None, rules: Sequence[Mapping[str, Any]], *, osname: str = "ubuntu"
) -> float:
    """The product over `rules` of: 0 when no element matches; with `text`, 1/0 for an exact match by some element
    (`exact`, default) or the best fuzzy ratio (0..1); else 1."""
    if osname not in NAMESPACES:
        raise JudgingError(f"options.osname: {osname!r} is not ubuntu, windows or macos")
    if not isinstance(rules, list):
        raise JudgingError("expected.rules: a list of rules")
    if not result:
        return 0.0
    try:
        tree = etree.fromstring(result.encode() if isinstance(result, str) else result)
    except etree.XMLSyntaxError:
        return 0.0
    score = 1.0
    for i, rule in enumerate(rules):
        elements = _elements(tree, rule, NAMESPACES[osname], f"expected.rules[{i}]")
        if not elements:
            return 0.0
        if "text" in rule:
            texts = [getattr(e, "text", None) or "" for e in elements]
            if rule.get("exact", True):
                score *= float(any(t == rule["text"] for t in texts))
            else:
                score *= max(fuzz.ratio(rule["text"], t) / 100.0 for t in texts)
    return score
