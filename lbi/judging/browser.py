"""Browser checks over what the getters read from Chromium: `is_expected_url_pattern_match`, `is_expected_tabs`,
`is_expected_active_tab`, `is_expected_bookmarks`.

URLs compare as OSWorld compares them: scheme added when missing, host lowercased and reduced to its subdomain and
registered name (a lone `www` and the public suffix dropped, so airbnb.com and www.airbnb.com.sg are one site), a
path of `/` as none, then the rest of the URL exactly. The public suffix list is tldextract's bundled copy (no
network).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse, urlunparse

import tldextract

from lbi.judging.errors import JudgingError

_DOMAINS = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def normalise_url(url: str, full: bool = True) -> str:
    parsed = urlparse(url if re.match(r"^[a-zA-Z][a-zA-Z0-9+\-.]*://", url) else f"http://{url}")
    parts = _DOMAINS(parsed.netloc.lower())
    subdomain = "" if parts.subdomain == "www" else parts.subdomain
    host = f"{subdomain}.{parts.domain}" if subdomain else parts.domain
    path = "" if parsed.path == "/" else parsed.path
    extra = (parsed.params, parsed.query, parsed.fragment) if full else ("", "", "")
    return urlunparse((parsed.scheme.lower(), host, path, *extra))


def same_url(one: str | None, two: str | None) -> bool:
    if one is None or two is None:
        return one == two
    return normalise_url(one) == normalise_url(two)


def _url_of(value: Any) -> str | None:
    if isinstance(value, Mapping):
        url = value.get("url")
        return url if isinstance(url, str) else None
    return value if isinstance(value, str) else None


def is_expected_url_pattern_match(result: Any, rules: Mapping[str, Any]) -> float:
    """1.0 if the URL (of the active tab) matches every regular expression of `rules["expected"]`."""
    patterns = rules.get("expected")
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise JudgingError("expected.rules.expected: a list of regular expressions")
    url = _url_of(result)
    return float(bool(url) and all(re.search(p, url or "") for p in patterns))


def _match_type(rules: Mapping[str, Any], known: tuple[str, ...]) -> str:
    kind = rules.get("type")
    if kind not in known:
        raise JudgingError(f"expected.rules.type: {kind!r} is not {' or '.join(known)}")
    return str(kind)


def is_expected_tabs(result: Any, rules: Mapping[str, Any]) -> float:
    """1.0 if the open tabs' URLs are the expected `urls` (same count, each expected one open)."""
    _match_type(rules, ("url",))
    expected = list(rules.get("urls", []))
    actual = [_url_of(tab) for tab in result or []]
    return float(len(actual) == len(expected) and all(any(same_url(e, a) for a in actual) for e in expected))


def is_expected_active_tab(result: Any, rules: Mapping[str, Any]) -> float:
    """1.0 if the active tab's URL is the expected `url`."""
    _match_type(rules, ("url",))
    url = _url_of(result)
    return float(bool(url) and same_url(rules.get("url"), url))


def is_expected_bookmarks(result: Any, rules: Mapping[str, Any]) -> float:
    """Chromium's bookmarks (its Bookmarks file's `roots`) against a rule: the bookmark bar's folder `names` or
    site `urls` (as sets), or the URLs of its "Liked Authors" folder (each expected entry a URL or a list of
    acceptable ones)."""
    kind = _match_type(
        rules, ("bookmark_bar_folders_names", "bookmark_bar_websites_urls", "liked_authors_websites_urls")
    )
    if not isinstance(result, Mapping):
        return 0.0
    children = result.get("bookmark_bar", {}).get("children", [])
    if kind == "bookmark_bar_folders_names":
        return float({c.get("name") for c in children if c.get("type") == "folder"} == set(rules.get("names", [])))
    if kind == "bookmark_bar_websites_urls":
        return float({c.get("url") for c in children if c.get("type") == "url"} == set(rules.get("urls", [])))
    folder = next((c for c in children if c.get("type") == "folder" and c.get("name") == "Liked Authors"), None)
    if folder is None:
        return 0.0
    liked = {c.get("url") for c in folder.get("children", []) if c.get("type") == "url"}
    choices = [[u] if isinstance(u, str) else list(u) for u in rules.get("urls", [])]
    return float(any(set(combination) == liked for combination in itertools.product(*choices)))
