"""Observation normalisation, applied identically when indexing and when querying.

Long observations (accessibility trees, result tables, shell output) carry volatile parts that differ
between two visits of the same state: element ids, UUIDs and hashes, timestamps, long numbers. They are
replaced by stable tokens, whitespace is folded, and the text is capped, so that lexical matching
compares states, not noise.
"""

from __future__ import annotations

import re

MAX_CHARS = 4000

_RULES = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), " uuid "),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I), " hexid "),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b"), " datetime "),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}\b"), " time "),
    (re.compile(r"\[\d+\]"), " "),  # element ids of accessibility trees: [12]
    (re.compile(r"\b\d{6,}\b"), " longnum "),
]
_SPACE = re.compile(r"\s+")


def normalize_observation(text: str, max_chars: int = MAX_CHARS) -> str:
    """The stable, capped form of an observation used for lexical and dense matching."""
    for pattern, token in _RULES:
        text = pattern.sub(token, text)
    return _SPACE.sub(" ", text).strip()[:max_chars]
