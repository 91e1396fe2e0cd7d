"""Observation normalisation: only a prefix is normalised, with the same result as normalising everything."""

import random

from lbi.normalize import MAX_CHARS, _normalise, normalize_observation


def test_the_prefix_gives_the_same_result_as_the_whole_text():
    rng = random.Random(3)
    pieces = [
        "[12] button 'Save'",
        "   \n\n   ",
        "2024-05-01T10:00:00Z",
        "0f3a9c1e2b4d",
        "1234567",
        "row | 42",
        "\t" * 50,
        "550e8400-e29b-41d4-a716-446655440000",
        "plain words here",
        " " * 300,
    ]
    for size in (10, 500, 3000, 20000, 200_000):
        text = "".join(rng.choice(pieces) for _ in range(size))
        assert normalize_observation(text) == _normalise(text)[:MAX_CHARS]
    sparse = "x" + " " * 100_000 + "y" * 10  # folds to almost nothing: the prefix grows until it has enough
    assert normalize_observation(sparse) == _normalise(sparse)[:MAX_CHARS] == "x " + "y" * 10
