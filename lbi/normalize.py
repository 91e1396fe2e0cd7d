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


_MARGIN = 64  # longer than any token a rule writes or reads at a cut


def _normalise(text: str) -> str:
    for pattern, token in _RULES:
        text = pattern.sub(token, text)
    return _SPACE.sub(" ", text).strip()


def normalize_observation(text: str, max_chars: int = MAX_CHARS) -> str:
    """The stable, capped form of an observation used for lexical and dense matching.

    Only a prefix of the raw text is normalised (twice the cap, growing while it normalises to too little), so
    a 1 MB observation costs what a 8 kB one does; the result equals normalising the whole text and capping it."""
    limit = 2 * max_chars
    while True:
        out = _normalise(text[:limit])
        if limit >= len(text):
            return out[:max_chars]
        if len(out) >= max_chars + _MARGIN:
            return out[:max_chars]
        limit *= 4
