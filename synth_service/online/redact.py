"""Redaction of reported episodes: configured patterns are replaced before anything is stored.

A pattern is a built-in name or a regular expression (Python `re` syntax). Built-ins:
- `email`: e-mail addresses;
- `card`: payment card numbers (13 to 19 digits, spaces or dashes between them, that pass the Luhn check);
- `secret`: API keys and tokens of well-known shapes (OpenAI/Anthropic `sk-...`, AWS access key ids, GitHub,
  Slack and Google keys, JWTs, PEM private keys, `Bearer ...`) and the value of any `password=`, `api_key: `,
  `token=`, `secret=` style assignment (the name is kept, the value replaced).
Each match becomes `[REDACTED:<name>]` (`[REDACTED]` for a custom expression). The default, when a policy names
none, is all three built-ins.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

BUILTINS = ("email", "card", "secret")

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_SECRET_SHAPES = re.compile(
    "|".join(
        [
            r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}",
            r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
            r"\bgh[pousr]_[A-Za-z0-9]{30,}\b",
            r"\bgithub_pat_[A-Za-z0-9_]{30,}\b",
            r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
            r"\bAIza[0-9A-Za-z_-]{35}\b",
            r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
            r"\b[Bb][Ee][Aa][Rr][Ee][Rr]\s+[A-Za-z0-9._~+/-]{16,}=*",
        ]
    )
)
_ASSIGNMENT = re.compile(
    r"(?i)(\b(?:password|passwd|pwd|secret|client_secret|api[_-]?key|apikey|access[_-]?key|access[_-]?token|auth[_-]?token|token)"
    r"\b[\"']?\s*[:=]\s*[\"']?)([^\s\"',;]{4,})"
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@dataclass(frozen=True)
class Redactor:
    """Applies the configured patterns to texts, counting what it replaced by pattern name."""

    patterns: tuple[str, ...] = BUILTINS

    def __post_init__(self) -> None:
        for pattern in self.patterns:
            if pattern not in BUILTINS:
                try:
                    re.compile(pattern)  # a bad expression fails when the policy is loaded, not on an episode
                except re.error as exc:
                    raise ValueError(f"bad redaction pattern {pattern!r}: {exc}") from None

    def text(self, value: str, counts: Counter | None = None) -> str:
        counts = counts if counts is not None else Counter()
        for pattern in self.patterns:
            value = _APPLY.get(pattern, _custom(pattern))(value, counts)
        return value

    def texts(self, values: Sequence[str], counts: Counter) -> list[str]:
        return [self.text(v, counts) for v in values]


def _sub(regex: re.Pattern, name: str):
    def apply(value: str, counts: Counter) -> str:
        value, n = regex.subn(f"[REDACTED:{name}]", value)
        counts[name] += n
        return value

    return apply


def _cards(value: str, counts: Counter) -> str:
    def replace(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            counts["card"] += 1
            return "[REDACTED:card]"
        return match.group(0)

    return _CARD.sub(replace, value)


def _secrets(value: str, counts: Counter) -> str:
    value = _sub(_SECRET_SHAPES, "secret")(value, counts)

    def replace(match: re.Match) -> str:
        if match.group(2).startswith("[REDACTED"):
            return match.group(0)
        counts["secret"] += 1
        return match.group(1) + "[REDACTED:secret]"

    return _ASSIGNMENT.sub(replace, value)


def _custom(pattern: str):
    regex = re.compile(pattern)

    def apply(value: str, counts: Counter) -> str:
        value, n = regex.subn("[REDACTED]", value)
        counts["custom"] += n
        return value

    return apply


_APPLY = {"email": _sub(_EMAIL, "email"), "card": _cards, "secret": _secrets}
