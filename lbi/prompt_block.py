"""The prompt block an agent puts in its context: retrieved examples as reference demonstrations.

Examples are added best first until the character budget (and the token budget, when one is given) is full;
an example is never cut in half (observations inside an example are shortened to a fixed size, so one example
cannot eat the budget).
The state an example was found by (its matched step) is marked on the line after that observation.
The service and the client SDK use this same function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from lbi.tokens import estimate

HEADER = "Additional information for reference: examples of tasks solved in this environment.\n"
OBSERVATION_CHARS = 600
MATCHED = "(this state is the one most like your current observation)"


class Demonstration(Protocol):
    """An example as the prompt block reads it (an Example record, or a client's own)."""

    @property
    def instruction(self) -> str: ...

    @property
    def steps(self) -> Sequence[Any]: ...  # items with .observation and .action

    @property
    def final_observation(self) -> str: ...


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= OBSERVATION_CHARS else text[:OBSERVATION_CHARS] + " …"


def format_example(number: int, example: Demonstration, matched_step: int = -1) -> str:
    lines = [f"### Example {number}", f"Instruction: {example.instruction}"]
    for i, step in enumerate(example.steps):
        lines.append(f"Observation {i}: {_short(step.observation)}")
        if i == matched_step:
            lines.append(MATCHED)
        lines.append(f"Action {i + 1}: {step.action}")
    lines.append(f"Observation {len(example.steps)}: {_short(example.final_observation)}")
    if matched_step == len(example.steps):
        lines.append(MATCHED)
    return "\n".join(lines) + "\n"


def format_prompt(
    examples: Sequence[Demonstration],
    budget_chars: int,
    matched_steps: Sequence[int] | None = None,
    budget_tokens: int = 0,
    count_tokens: Callable[[str], int] | None = None,
) -> str:
    """The block with as many whole examples (best first) as fit in budget_chars (0: no character limit) and, when
    `budget_tokens` > 0, in that many tokens as `count_tokens` counts them (the agent's own tokenizer; else
    lbi.tokens.estimate); '' if none fits. Without `matched_steps`, an example's own `matched_step` attribute (the
    SDK's) marks its matched state, if it has one."""
    if budget_chars <= 0 and budget_tokens <= 0:
        return ""
    count = count_tokens or estimate
    block = HEADER
    added = 0
    for index, example in enumerate(examples):
        matched = matched_steps[index] if matched_steps is not None else getattr(example, "matched_step", -1)
        text = format_example(added + 1, example, matched)
        if budget_chars > 0 and len(block) + len(text) + 1 > budget_chars:
            continue
        if budget_tokens > 0 and count(block + "\n" + text) > budget_tokens:  # the whole block: joins can merge tokens
            continue
        block += "\n" + text
        added += 1
    return block if added else ""
