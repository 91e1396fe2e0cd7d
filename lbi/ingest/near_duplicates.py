"""Near-duplicate texts found with MinHash and LSH (datasketch): the same section in two pages of a manual,
a page saved twice, a README copied into the docs folder."""

from __future__ import annotations

import re

from datasketch import MinHash, MinHashLSH

THRESHOLD = 0.85  # estimated Jaccard similarity of word 3-shingles from which a text is a near-duplicate
NUM_PERM = 64
_WORD = re.compile(r"\w+")


def _signature(text: str) -> MinHash:
    words = _WORD.findall(text.lower())
    shingles = {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}
    signature = MinHash(num_perm=NUM_PERM, seed=1)
    signature.update_batch([s.encode("utf-8") for s in shingles])
    return signature


def first_of_each(texts: list[str], threshold: float = THRESHOLD) -> list[int]:
    """Indices of the texts kept: each text unless an earlier kept one is a near-duplicate of it."""
    index = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    kept = []
    for i, text in enumerate(texts):
        signature = _signature(text)
        if index.query(signature):
            continue
        index.insert(str(i), signature)
        kept.append(i)
    return kept
