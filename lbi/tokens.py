"""Token counting for prompt budgets: a named tokenizer through litellm, else an estimate.

`counter("gpt-4o")` counts with that model's tokenizer as litellm knows it (tiktoken encodings and the
tokenizers litellm ships; an unknown name falls back to litellm's default encoding). `counter("")` estimates
one token per four characters, rounded up: close to BPE tokenizers on English and code, and free.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from lbi.llm.litellm_setup import get_litellm

MAX_TOKENIZER_NAME = 200


def estimate(text: str) -> int:
    return (len(text) + 3) // 4


@functools.lru_cache(maxsize=64)
def counter(tokenizer: str) -> Callable[[str], int]:
    """A function counting the tokens of a text with `tokenizer` (a litellm model name), or the estimate."""
    if not tokenizer:
        return estimate
    litellm = get_litellm()

    def count(text: str) -> int:
        return int(litellm.token_counter(model=tokenizer, text=text))

    return count
