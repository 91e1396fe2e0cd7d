"""Observation normalisation on the retrieval hot path: the prefix-only pass against normalising the whole text.

A synthetic accessibility tree (element ids, timestamps, hashes, indentation) of 8 kB, 100 kB and 1 MB; both
give the same text. Prints one JSON object: per size, milliseconds of each (median of 5) and the ratio.

    .venv/bin/python -m bench.normalize
"""

from __future__ import annotations

import json
import statistics
import time

from lbi.normalize import MAX_CHARS, _normalise, normalize_observation


def tree(chars: int) -> str:
    lines: list[str] = []
    i = 0
    while sum(map(len, lines)) < chars:
        lines.append(
            f"{'  ' * (i % 6)}[{i}] link 'Ticket #{i} updated 2025-05-{1 + i % 28:02d}T10:{i % 60:02d}:00Z' "
            f"rev {i * 7919:x}{'a' * 4}\n"
        )
        i += 1
    return "".join(lines)[:chars]


def median_ms(fn, text: str) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        fn(text)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


def main() -> None:
    figures = {}
    for size in (8_000, 100_000, 1_000_000):
        text = tree(size)
        assert normalize_observation(text) == _normalise(text)[:MAX_CHARS]
        prefix, whole = median_ms(normalize_observation, text), median_ms(lambda t: _normalise(t)[:MAX_CHARS], text)
        figures[size] = {"prefix_ms": prefix, "whole_text_ms": whole, "speedup": round(whole / prefix, 1)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
