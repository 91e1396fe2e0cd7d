"""The prompt block an agent puts in its context: retrieved examples as reference demonstrations.

Examples are added best first until the character budget is full; an example is never cut in half
(observations inside an example are shortened to a fixed size, so one example cannot eat the budget).
The service and the client SDK use this same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

HEADER = "Additional information for reference: examples of tasks solved in this environment.\n"
OBSERVATION_CHARS = 600


class Demonstration(Protocol):
    instruction: str
    steps: Sequence  # items with .observation and .action
    final_observation: str


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= OBSERVATION_CHARS else text[:OBSERVATION_CHARS] + " …"


def format_example(number: int, example: Demonstration) -> str:
    lines = [f"### Example {number}", f"Instruction: {example.instruction}"]
    for i, step in enumerate(example.steps):
        lines.append(f"Observation {i}: {_short(step.observation)}")
        lines.append(f"Action {i + 1}: {step.action}")
    lines.append(f"Observation {len(example.steps)}: {_short(example.final_observation)}")
    return "\n".join(lines) + "\n"


def format_prompt(examples: Sequence[Demonstration], budget_chars: int) -> str:
    """The block with as many whole examples (best first) as fit in budget_chars; '' if none fits."""
    block = HEADER
    added = 0
    for example in examples:
        text = format_example(added + 1, example)
        if len(block) + len(text) + 1 > budget_chars:
            continue
        block += "\n" + text
        added += 1
    return block if added else ""
