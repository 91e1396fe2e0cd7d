"""Summary statistics shared by the evaluation harness and the benchmarks."""

from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile by nearest rank (0.0 for no values)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0
